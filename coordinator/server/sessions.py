"""Owner sign-in: email → owner, magic links (dev mode), CLI login tokens, sessions.

Agents authenticate with their ``avs_live_`` key; owners (the people whose
calendars these are) use a session cookie instead. A local install in dev
mode hands out magic-link tokens in the response body; outside dev mode the
only way in is a login token minted on the server's command line, so a
coordinator reachable on a network is never an open door. Tokens are stored
as SHA-256 hashes, never in plain text.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from ..coordinator import Coordinator
from ..errors import AuthError, NotFound
from ..store.errors import store_errors

MAGIC_TTL_SECONDS = 15 * 60
SESSION_TTL_SECONDS = 7 * 24 * 3600
COOKIE = "agentdraft_session"


def _h(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OwnerSession:
    user_id: str
    email: str


class Sessions:
    def __init__(self, coord: Coordinator) -> None:
        self.coord = coord
        self.r = coord.redis
        self.ns = coord.settings.namespace

    def _key(self, kind: str, value: str) -> str:
        return f"{self.ns}:{kind}:{value}"

    def owner_for_email(self, email: str, *, create: bool) -> str:
        """The owner id registered for an email, creating the owner if asked."""
        email = email.strip().lower()
        with store_errors("owner lookup"):
            uid = self.r.get(self._key("email", email))
        if uid:
            return str(uid)
        if not create:
            raise NotFound(f"no owner registered for {email}", error="owner_not_found")
        owner = self.coord.owners.create()
        with store_errors("owner create"):
            # SET NX: two sign-ups racing for one email end with one owner id.
            if not self.r.set(self._key("email", email), owner.user_id, nx=True):
                return str(self.r.get(self._key("email", email)))
        return owner.user_id

    def magic_link(self, email: str) -> str:
        """A one-time dev-mode token for ``email`` (the owner is created if new)."""
        self.owner_for_email(email, create=True)
        token = "mlt_" + secrets.token_urlsafe(24)
        with store_errors("magic link"):
            self.r.set(self._key("magic", _h(token)), email.strip().lower(), ex=MAGIC_TTL_SECONDS)
        return token

    def login_token(self, email: str) -> str:
        """A reusable login token for an owner, minted from the CLI outside dev mode."""
        self.owner_for_email(email, create=True)
        token = "olt_" + secrets.token_urlsafe(32)
        with store_errors("login token"):
            self.r.set(self._key("login", _h(token)), email.strip().lower())
        return token

    def verify(self, token: str) -> tuple[str, OwnerSession]:
        """Exchange a magic-link or login token for a session id."""
        with store_errors("verify"):
            email = self.r.getdel(self._key("magic", _h(token)))
            if email is None:
                email = self.r.get(self._key("login", _h(token)))
        if email is None:
            raise AuthError("token is unknown, used or expired", error="invalid_token")
        session = OwnerSession(self.owner_for_email(email, create=False), email)
        sid = "ses_" + secrets.token_urlsafe(32)
        with store_errors("session"):
            self.r.set(
                self._key("session", _h(sid)),
                json.dumps({"user_id": session.user_id, "email": session.email}),
                ex=SESSION_TTL_SECONDS,
            )
        return sid, session

    def get(self, sid: str | None) -> OwnerSession:
        if not sid:
            raise AuthError("sign in first: POST /v1/auth/verify sets the session cookie")
        with store_errors("session"):
            raw = self.r.get(self._key("session", _h(sid)))
        if raw is None:
            raise AuthError("session expired or unknown; sign in again")
        data = json.loads(raw)
        return OwnerSession(data["user_id"], data["email"])

    def end(self, sid: str) -> None:
        with store_errors("logout"):
            self.r.delete(self._key("session", _h(sid)))
