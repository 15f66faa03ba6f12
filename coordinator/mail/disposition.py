"""Headers for handing an attachment back over HTTP without trusting the sender.

The filename and type came from a stranger's mail: a name such as
``../../etc/passwd`` or one holding CR/LF must not become a path on the agent's
side or a second header, and a ``text/html`` part must not render on the API's
origin. So the file is always ``attachment``, its name is reduced to a plain base
name (an ASCII ``filename=`` plus the exact name as RFC 5987 ``filename*``), and
the type is kept only when it is a well-formed ``type/subtype`` token.
"""

from __future__ import annotations

import re
from urllib.parse import quote

#: Longest filename put in the header (the parser keeps up to 255).
MAX_NAME = 150
FALLBACK_NAME = "attachment"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ ()+,=@-]")
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]{1,64}"
_MEDIA_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}$")


def safe_filename(name: str | None) -> str:
    """A base name with no control characters, separators or leading dots."""
    text = _CONTROL.sub("", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = text.replace('"', "").strip().lstrip(".").strip()
    return text[:MAX_NAME] or FALLBACK_NAME


def content_disposition(name: str | None) -> str:
    """``attachment; filename="…"`` (ASCII only) and ``filename*`` when the name is not."""
    clean = safe_filename(name)
    ascii_name = _UNSAFE_ASCII.sub("_", clean).strip() or FALLBACK_NAME
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != clean:
        header += f"; filename*=UTF-8''{quote(clean, safe='')}"
    return header


def safe_content_type(value: str | None) -> str:
    """The attachment's media type if well formed, else ``application/octet-stream``."""
    text = (value or "").strip().lower()
    return text if _MEDIA_TYPE.match(text) else "application/octet-stream"
