"""URLs that reach inside a deployment: what the webhook and the connector guards refuse.

Every URL issue 12 lists, plus other spellings of the same places (numeric hosts,
IPv4-mapped IPv6, link-local, multicast, NUL bytes, userinfo).
"""

from __future__ import annotations

#: Refused by every guard, whatever the port rules.
INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://127.0.0.1/hook",
    "http://[::1]/",
    "http://169.254.169.254/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://0.0.0.0:22",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://localhost:6379",
    "http://localhost/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://[::]/",
    "http://exa\x00mple.com/",
    "http://example.com\x00.evil/",
    "http://user:pass@example.com/",
    "http://user@example.com/",
]

#: A public host on a port other than the scheme's: refused for webhooks only (a
#: calendar server may listen on any port).
PORT_URLS = [
    "http://example.com:6379/",
    "https://example.com:22/",
]
