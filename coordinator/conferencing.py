"""Conferencing links for commits made ``with_conferencing=True``: the provider interface and Jitsi.

The link is made *before* the claim and written in the same atomic step as the
booking (a field of its record), so the booking, every webhook event about it and
the event a connector pushes all carry the same link from the first moment; a write
that loses never shows its link to anyone. The official SDK's ``Booking`` reads it as
``conferencing_url``, ``conferencing_provider`` and ``conferencing_status``.

Jitsi Meet needs no account: a room exists once someone opens its URL, so an
unguessable name (128 random bits) on the configured base URL (the public
``https://meet.jit.si`` by default, or a self-hosted instance) is the whole link.
Other providers plug in with :func:`register`.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from .errors import ValidationError
from .settings import Settings

log = logging.getLogger(__name__)

#: ``conferencing_status`` values (the SDK's): ``attached`` means ``url`` is set.
ATTACHED = "attached"
NO_PROVIDER = "no_provider"
API_ERROR = "api_error"
NO_LINK = "no_link_returned"


class Provider(Protocol):
    """Makes one meeting link. Called before the claim, once per commit asked for one."""

    name: str

    def create_link(self, *, title: str | None) -> str | None:
        """The meeting URL, or None when the service returned no link."""


class Jitsi:
    """Jitsi Meet rooms with unguessable names: no account, no API call."""

    name = "jitsi"

    def __init__(self, base_url: str = "https://meet.jit.si") -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValidationError("conferencing_base_url", "must be an http(s) URL")
        self.base_url = base_url.rstrip("/")

    def create_link(self, *, title: str | None) -> str | None:
        del title  # never in the URL: a room name must not leak what the meeting is
        return f"{self.base_url}/AgentDraft-{secrets.token_urlsafe(16)}"


#: Provider name -> factory taking the coordinator's settings.
_PROVIDERS: dict[str, Callable[[Settings], Provider]] = {
    "jitsi": lambda s: Jitsi(
        s.conferencing_base_url or os.environ.get(BASE_URL_ENV) or "https://meet.jit.si"
    ),
}
PROVIDER_ENV = "AGENTDRAFT_CONFERENCING_PROVIDER"
BASE_URL_ENV = "AGENTDRAFT_CONFERENCING_BASE_URL"


def register(name: str, factory: Callable[[Settings], Provider]) -> None:
    """Make ``Settings(conferencing_provider=name)`` use ``factory(settings)``."""
    _PROVIDERS[name] = factory


def link_for(settings: Settings, *, title: str | None) -> dict[str, Any]:
    """The booking's ``conferencing`` object: ``{provider, url, status}``.

    A provider that fails or returns nothing still lets the booking go ahead; the
    status says why there is no link (``no_provider``, ``api_error``,
    ``no_link_returned``).
    """
    name = settings.conferencing_provider or os.environ.get(PROVIDER_ENV) or "jitsi"
    factory = _PROVIDERS.get(name or "")
    if factory is None:
        return {"provider": None, "url": None, "status": NO_PROVIDER}
    try:
        url = factory(settings).create_link(title=title)
    except Exception:  # a provider's outage must not cost the agent its slot
        log.exception("conferencing provider %s failed", name)
        return {"provider": name, "url": None, "status": API_ERROR}
    if not url:
        return {"provider": name, "url": None, "status": NO_LINK}
    return {"provider": name, "url": url, "status": ATTACHED}
