"""Agent mail addresses: ``<agent_id>@<domain>``, and ``<agent_id>+<booking_id>@<domain>``.

The local part is the agent's id, so the receiver finds the calendar through the
agent index without a table of its own; a ``+bkg_…`` tag threads a message to a
booking when its headers do not. Addresses are compared in lower case.
"""

from __future__ import annotations

import os
import re
from email.utils import getaddresses

from ..errors import ValidationError

DOMAIN_ENV = "AGENTDRAFT_MAIL_DOMAIN"
DEFAULT_DOMAIN = "localhost"
MAX_ADDRESS = 254
_ADDRESS = re.compile(
    r"^[^@\s<>(),;:\"\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
)
_AGENT = re.compile(r"^agt_[0-9a-f]{1,32}$")


def mail_domain(configured: str | None = None) -> str:
    """The agents' domain: the setting, else ``$AGENTDRAFT_MAIL_DOMAIN``, else localhost."""
    return (configured or os.environ.get(DOMAIN_ENV) or DEFAULT_DOMAIN).strip().lower()


def agent_address(agent_id: str, domain: str, booking_id: str | None = None) -> str:
    """The agent's address (with a booking tag when ``booking_id`` is given)."""
    tag = f"+{booking_id}" if booking_id else ""
    return f"{agent_id}{tag}@{domain}"


def normalize(address: object, field: str) -> str:
    """A bare address in lower case, from ``a@b`` or ``Name <a@b>``; else a 422 on ``field``."""
    if not isinstance(address, str) or not 3 <= len(address) <= MAX_ADDRESS:
        raise ValidationError(field, f"must be an address of {MAX_ADDRESS} characters at most")
    if "\n" in address or "\r" in address:
        raise ValidationError(field, "must be one email address on one line")
    found = getaddresses([address])
    bare = found[0][1] if len(found) == 1 else ""
    if not _ADDRESS.match(bare):
        raise ValidationError(field, "must be an email address such as ada@example.com")
    return bare.lower()


def recipient_agent(address: str, domain: str) -> tuple[str, str | None] | None:
    """``(agent_id, booking_id or None)`` when ``address`` is an agent address on ``domain``."""
    local, _, dom = address.strip().strip("<>").lower().rpartition("@")
    if dom != domain or not local:
        return None
    agent, _, tag = local.partition("+")
    if not _AGENT.match(agent):
        return None
    booking = tag if re.match(r"^(bkg|hld)_[0-9a-f]{1,32}$", tag) else None
    return agent, booking
