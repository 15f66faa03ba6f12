"""Owner sign-in: email → owner, magic links (dev mode), CLI login tokens, sessions.

Agents authenticate with their ``avs_live_`` key; owners (the people whose
calendars these are) use a session cookie instead. A local install in dev
mode hands out magic-link tokens in the response body; outside dev mode the
only way in is a login token minted on the server's command line, so a
coordinator reachable on a network is never an open door. Tokens are stored
as SHA-256 hashes, never in plain text; every token is single-use and expires
(``AGENTDRAFT_LOGIN_TOKEN_TTL``, default 15 minutes). An owner is created when
a token is verified, not when a magic link is asked for, and magic links are
rate limited per client address (``AGENTDRAFT_MAGIC_LINKS_PER_MINUTE``).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass

from ..coordinator import Coordinator
from ..errors import AuthError, NotFound, RateLimited, ValidationError
from ..store.errors import store_errors

MAGIC_TTL_SECONDS = 15 * 60
#: Login tokens minted by ``coordinator owners token`` expire after this long unless
#: ``AGENTDRAFT_LOGIN_TOKEN_TTL`` (seconds) says otherwise.
LOGIN_TOKEN_TTL_SECONDS = 15 * 60
#: Magic links one client address may ask for per minute (dev mode).
MAGIC_LINKS_PER_MINUTE = 10
SESSION_TTL_SECONDS = 7 * 24 * 3600
COOKIE = "agentdraft_session"


def _h(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValidationError(name, "must be a whole number") from exc
    if value < 1:
        raise ValidationError(name, "must be at least 1")
    return value


def check_email(email: object) -> str:
    """The normalized address, or ``ValidationError``: NUL and control characters are refused."""
    if not isinstance(email, str):
        raise ValidationError("email", "must be an email address")
    email = email.strip().lower()
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in email):
        raise ValidationError("email", "must not contain control characters")
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or " " in email or len(email) > 254:
        raise ValidationError("email", "must be an email address")
    return email


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
        email = check_email(email)
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

    def magic_link(self, email: str, client: str = "") -> str:
        """A one-time dev-mode token for ``email``; the owner is created when it is verified."""
        email = check_email(email)
        self._charge_magic_link(client)
        token = "mlt_" + secrets.token_urlsafe(24)
        with store_errors("magic link"):
            self.r.set(self._key("magic", _h(token)), email, ex=MAGIC_TTL_SECONDS)
        return token

    def _charge_magic_link(self, client: str) -> None:
        """A fixed one-minute window per client address, shared by every server process."""
        limit = _env_int("AGENTDRAFT_MAGIC_LINKS_PER_MINUTE", MAGIC_LINKS_PER_MINUTE)
        key = self._key("magic_rate", client or "unknown")
        with store_errors("magic link"):
            pipe = self.r.pipeline(transaction=False)
            pipe.set(key, 0, ex=60, nx=True)  # opens the window (EXPIRE NX needs Redis 7)
            pipe.incr(key)
            pipe.pttl(key)
            _, count, ttl_ms = pipe.execute()
        if int(count) > limit:
            raise RateLimited(
                f"at most {limit} magic links a minute from one address",
                retry_after_ms=max(1, int(ttl_ms)),
            )

    def login_token(self, email: str) -> str:
        """A single-use login token for an owner, minted from the CLI outside dev mode.

        It expires after ``AGENTDRAFT_LOGIN_TOKEN_TTL`` seconds (default 15 minutes).
        """
        email = check_email(email)
        self.owner_for_email(email, create=True)
        token = "olt_" + secrets.token_urlsafe(32)
        ttl = _env_int("AGENTDRAFT_LOGIN_TOKEN_TTL", LOGIN_TOKEN_TTL_SECONDS)
        with store_errors("login token"):
            self.r.set(self._key("login", _h(token)), email, ex=ttl)
        return token

    def verify(self, token: str) -> tuple[str, OwnerSession]:
        """Exchange a magic-link or login token (each usable once) for a session id."""
        with store_errors("verify"):
            email = self.r.getdel(self._key("magic", _h(token)))
            if email is None:
                email = self.r.getdel(self._key("login", _h(token)))
        if email is None:
            raise AuthError("token is unknown, used or expired", error="invalid_token")
        session = OwnerSession(self.owner_for_email(email, create=True), email)
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
