"""``coord.connectors``: add, list, get, remove, sync and status of calendar connectors.

A connector is validated by a first pull before anything is stored, so a bad password,
a missing calendar, a TLS failure or a malformed feed is a typed error at ``add`` time
and the store is unchanged. Its secret (password or bearer token) is encrypted with a key
kept outside Redis (:mod:`.crypto`); no read returns it.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import anyio

from ..bookings import Bookings
from ..buckets import from_ms
from ..errors import CalendarUnsynced, NotFound, ValidationError
from ..store.errors import store_errors
from .adapters.base import CalendarAdapter, PullResult
from .clients import DEFAULT_DEADLINE_SECONDS
from .crypto import SecretBox
from .errors import ConnectorError
from .models import (
    KINDS,
    MODES,
    POLICIES,
    STALE_POLICIES,
    Connector,
    ConnectorStatus,
    ExternalBlock,
    Freshness,
    SyncReport,
)
from .pull import plan, pull_once, server_now_ms
from .urls import check_connector_url

if TYPE_CHECKING:
    from ..store.aio import AsyncCalls

_ID = re.compile(r"^cxn_[0-9a-f]{16}$")
_LEASE_MS = 120_000
#: Lets a sync lease go only if ``ARGV[1]`` still holds it, in one step: a GET then a
#: DEL could delete a lease another pull took in between (after this one expired).
_UNLEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
#: How long an owner's "sync now" (HTTP, dashboard, CLI) waits for a running pull,
#: unless ``AGENTDRAFT_CONNECTOR_SYNC_WAIT`` says otherwise (see sync_wait_seconds).
SYNC_WAIT_SECONDS = 15.0
#: The longest wait that setting may ask for: a pull's lease lasts 120 s.
MAX_SYNC_WAIT_SECONDS = 120.0
_REFUSING_TTL_SECONDS = 2.0


def sync_wait_seconds() -> float:
    """Seconds an owner's "sync now" waits for a pull already running, from
    ``AGENTDRAFT_CONNECTOR_SYNC_WAIT`` (default 15). Why a setting: the request is held
    that long, which an operator may want shorter behind a proxy with a short timeout
    (and a test, to see the busy answer without waiting 15 s)."""
    raw = os.environ.get("AGENTDRAFT_CONNECTOR_SYNC_WAIT", "").strip()
    if not raw:
        return SYNC_WAIT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_SYNC_WAIT_SECONDS:  # also refuses nan
        raise ValidationError(
            "AGENTDRAFT_CONNECTOR_SYNC_WAIT",
            f"must be a number of seconds from 0 to {MAX_SYNC_WAIT_SECONDS:g}",
        )
    return value


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(field, f"must be one of {', '.join(allowed)}")
    return str(value)


def _whole(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(field, f"must be a whole number from {lo} to {hi}")
    return value


def _text(value: Any, field: str, *, required: bool = False, limit: int = 2000) -> str | None:
    if value is None or value == "":
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise ValidationError(field, f"must be printable text of at most {limit} characters")
    return value


def _connectors(raw: list[Any]) -> list[Connector]:
    """An owner's connector records (an HVALS reply), oldest first."""
    found = [Connector.from_record(json.loads(v)) for v in raw]
    return sorted(found, key=lambda c: (c.created_at, c.connector_id))


class _UnsyncedGuard:
    """The registry's commit guard (:class:`~coordinator.bookings.CommitGuard`)."""

    def __init__(self, connectors: Connectors) -> None:
        self.connectors = connectors

    def __call__(self, user_id: str) -> None:
        self.connectors.refuse_if_unsynced(user_id)

    async def check_async(self, calls: AsyncCalls, user_id: str) -> None:
        await self.connectors.refuse_if_unsynced_async(calls, user_id)

    def passes(self, user_id: str) -> bool:
        return self.connectors.none_refusing(user_id)


class Connectors:
    """The connector registry of one coordinator (see the module docstring)."""

    def __init__(
        self,
        engine: Bookings,
        box: SecretBox,
        *,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        self.bookings = engine
        #: The longest one adapter call (a pull, a push write) may take in all.
        self.deadline_seconds = deadline_seconds
        self.r = engine.redis
        self.keys = engine.keys
        self.box = box
        #: In-process OAuth bearer-token providers by connector id (never stored).
        self.token_providers: dict[str, Callable[[], str]] = {}
        #: user id -> (monotonic expiry, its connectors with ``stale="refuse"``).
        self._refusing: dict[str, tuple[float, builtins.list[Connector]]] = {}
        engine.commit_guards.append(_UnsyncedGuard(self))
        #: connector id -> (record it was built from, adapter) for pulls; see sync().
        self._adapters: dict[str, tuple[str, CalendarAdapter]] = {}
        self._adapters_lock = threading.Lock()
        self._unlease_script = self.r.register_script(_UNLEASE_LUA)

    # -- add ----------------------------------------------------------------------------

    def add(
        self,
        user_id: str,
        kind: str = "caldav",
        *,
        url: str,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        token_provider: Callable[[], str] | None = None,
        calendar: str | None = None,
        mode: str = "two_way",
        policy: str = "evict",
        horizon_days: int = 60,
        max_staleness_seconds: int = 300,
        stale: str = "allow",
        show_summary: bool = False,
        owner_email: str | None = None,
        verify_tls: bool = True,
    ) -> Connector:
        """Connect ``user_id``'s real calendar; validated by a first pull before it is stored.

        ``kind="caldav"`` (basic auth, a ``bearer_token``, or an in-process
        ``token_provider`` for OAuth such as Google's CalDAV endpoint) or ``kind="ics"``
        (a read-only feed URL). ``mode``: ``two_way`` (pull busy time, push bookings),
        ``read_only`` or ``write_only``. ``policy``: what a pulled event does to a live
        booking it overlaps (``evict``, the default, or ``keep``).
        """
        kind = _choice(kind, "kind", KINDS)
        url_ = _text(url, "url", required=True)
        assert url_ is not None
        parts = urlsplit(url_)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in url_:
            raise ValidationError("url", "must be an http:// or https:// URL with a host")
        check_connector_url(url_)  # no internal host (the SSRF guard, connectors/urls.py)
        if kind == "ics":
            if mode == "two_way":
                mode = "read_only"  # a feed cannot be written; two_way is the default
            if mode != "read_only":
                raise ValidationError("mode", "an ICS feed is read-only")
        if not isinstance(show_summary, bool):
            raise ValidationError("show_summary", "must be True or False")
        if not isinstance(verify_tls, bool):
            raise ValidationError("verify_tls", "must be True or False")
        if token_provider is not None and not callable(token_provider):
            raise ValidationError("token_provider", "must be a callable returning a token")
        rec: dict[str, Any] = {
            "connector_id": f"cxn_{secrets.token_hex(8)}",
            "user_id": _text(user_id, "user_id", required=True, limit=128),
            "kind": kind,
            "url": url_,
            "username": _text(username, "username", limit=320),
            "calendar": _text(calendar, "calendar", limit=500),
            "mode": _choice(mode, "mode", MODES),
            "policy": _choice(policy, "policy", POLICIES),
            "horizon_days": _whole(horizon_days, "horizon_days", 1, 366),
            "max_staleness_seconds": _whole(
                max_staleness_seconds, "max_staleness_seconds", 1, 30 * 86400
            ),
            "stale": _choice(stale, "stale", STALE_POLICIES),
            "show_summary": show_summary,
            "owner_email": _text(owner_email, "owner_email", limit=320)
            or (username if username and "@" in username else None),
            "verify_tls": verify_tls,
        }
        secret = {
            "password": _text(password, "password", limit=4096),
            "bearer_token": _text(bearer_token, "bearer_token", limit=8192),
        }
        with store_errors("owner"):
            if not self.r.exists(self.keys.owner(user_id)):
                raise NotFound(f"no owner {user_id}", error="owner_not_found")
        connector = Connector.from_record({**rec, "created_ms": 0})
        cid = connector.connector_id
        if token_provider is not None:
            self.token_providers[cid] = token_provider
        adapter = self._adapter(connector, secret)
        try:
            adapter.check()
            fetched = None
            if connector.pulls:
                # Validate the whole path (fetch, parse, expand) before storing anything.
                fetched = adapter.pull(None, {})
                now = server_now_ms(self.bookings, connector.user_id)
                plan(connector, fetched, {}, now, ZoneInfo("UTC"))  # parse and expand too
            stored = self._store(rec, secret, connector, adapter, fetched)
        except BaseException:
            self.token_providers.pop(cid, None)
            raise
        finally:
            adapter.close()
        return stored

    def _store(
        self,
        rec: dict[str, Any],
        secret: dict[str, Any],
        connector: Connector,
        adapter: CalendarAdapter,
        fetched: PullResult | None,
    ) -> Connector:
        """Store a validated connector and apply its first pull, under its sync lease so a
        worker that sees the new connector at once waits for this first pull."""
        lease, token = self._lease(connector)
        try:
            return self._store_leased(rec, secret, connector, adapter, fetched, token)
        finally:
            self._unlease(lease, token)

    def _store_leased(
        self,
        rec: dict[str, Any],
        secret: dict[str, Any],
        connector: Connector,
        adapter: CalendarAdapter,
        fetched: PullResult | None,
        lease_token: str,
    ) -> Connector:
        user_id, cid = connector.user_id, connector.connector_id
        rec["created_ms"] = server_now_ms(self.bookings, user_id)
        rec["secret"] = self.box.seal({k: v for k, v in secret.items() if v})
        k = self.keys
        with store_errors("connector add"):
            pipe = self.r.pipeline(transaction=False) if self._cluster else self.r.pipeline()
            pipe.hset(k.connectors(user_id), cid, json.dumps(rec))
            if connector.pushes:
                pipe.hset(k.push_targets(user_id), cid, "1")
            pipe.set(k.connector_index(cid), user_id)
            pipe.sadd(k.connector_owners(), user_id)
            pipe.execute()
        connector = Connector.from_record(rec)
        if fetched is not None:
            pull_once(self.bookings, connector, adapter, fetched, lease_token=lease_token)
        return connector

    @property
    def _cluster(self) -> bool:
        return hasattr(self.r, "get_node_from_key")

    # -- reads --------------------------------------------------------------------------

    def _record(self, connector_id: str) -> dict[str, Any]:
        if not isinstance(connector_id, str) or not _ID.match(connector_id):
            raise ValidationError("connector_id", "must be a connector id such as cxn_…")
        with store_errors("connector read"):
            user_id = self.r.get(self.keys.connector_index(connector_id))
            raw = self.r.hget(self.keys.connectors(user_id), connector_id) if user_id else None
        if not raw:
            raise NotFound(f"no connector {connector_id}", error="connector_not_found")
        return dict(json.loads(raw))

    def get(self, connector_id: str) -> Connector:
        return Connector.from_record(self._record(connector_id))

    def list(self, user_id: str) -> builtins.list[Connector]:
        with store_errors("connector list"):
            return _connectors(self.r.hvals(self.keys.connectors(user_id)))

    def blocks(self, connector_id: str) -> builtins.list[ExternalBlock]:
        """The external busy blocks ``connector_id`` holds now, earliest first."""
        c = self.get(connector_id)
        with store_errors("connector blocks"):
            raw = [
                v
                for _, v in self.r.hscan_iter(
                    self.keys.external_blocks(c.user_id), match=f"{connector_id}:*", count=500
                )
            ]
        out = [json.loads(v) for v in raw]
        return sorted(
            (
                ExternalBlock(
                    connector_id=b["c"],
                    event_uid=b["u"],
                    start=from_ms(b["s"]),
                    end=from_ms(b["e"]),
                    summary=b.get("t"),
                )
                for b in out
            ),
            key=lambda b: (b.start, b.event_uid),
        )

    def owners(self) -> builtins.list[str]:
        with store_errors("connector owners"):
            return sorted(self.r.smembers(self.keys.connector_owners()))

    # -- remove -------------------------------------------------------------------------

    def remove(self, connector_id: str, *, wait_seconds: float | None = None) -> None:
        """Disconnect: its busy blocks leave the calendar at once; pushed events stay.

        Under the connector's sync lease, so a pull running meanwhile cannot put back
        blocks that no later pull would ever take away: a running pull is waited for up
        to ``wait_seconds`` (default: ``AGENTDRAFT_CONNECTOR_SYNC_WAIT``), then 409
        ``connector_busy``."""
        c = self.get(connector_id)
        wait = sync_wait_seconds() if wait_seconds is None else wait_seconds
        lease, token = self._lease(c, wait)
        try:
            self._remove_leased(c, token)
        finally:
            self._unlease(lease, token)

    def _remove_leased(self, c: Connector, lease_token: str) -> None:
        from .pull import apply

        k, uid, connector_id = self.keys, c.user_id, c.connector_id
        with store_errors("connector remove"):
            seen = self.r.hgetall(k.connector_hrefs(uid, connector_id))
        blocks = sorted({b for v in seen.values() for b in json.loads(v).get("blocks") or []})
        steps = {"remove": blocks, "add": [], "drop_hrefs": sorted(seen)}
        apply(self.bookings, c, steps, lease_token)
        with store_errors("connector remove"):
            pipe = self.r.pipeline(transaction=False) if self._cluster else self.r.pipeline()
            pipe.hdel(k.connectors(uid), connector_id)
            pipe.hdel(k.push_targets(uid), connector_id)
            pipe.delete(
                k.connector_state(uid, connector_id),
                k.connector_hrefs(uid, connector_id),
                k.connector_pushed(uid, connector_id),
            )
            pipe.delete(k.connector_index(connector_id))
            pipe.execute()
            if not self.r.exists(k.connectors(uid)):
                self.r.srem(k.connector_owners(), uid)
        self.token_providers.pop(connector_id, None)
        self._drop_adapter(connector_id)

    # -- sync and status ----------------------------------------------------------------

    def adapter(self, connector: Connector) -> CalendarAdapter:
        """A live adapter for ``connector`` with its decrypted secret (close it after use)."""
        return self._adapter(
            connector, self.box.open(self._record(connector.connector_id)["secret"])
        )

    def _adapter(self, c: Connector, secret: dict[str, Any]) -> CalendarAdapter:
        if c.kind == "ics":
            from .adapters.ics import ICSFeedAdapter

            return ICSFeedAdapter(
                c.url,
                username=c.username,
                password=secret.get("password"),
                verify_tls=c.verify_tls,
                deadline_seconds=self.deadline_seconds,
            )
        from .adapters.caldav import CalDAVAdapter

        provider = self.token_providers.get(c.connector_id)
        token = secret.get("bearer_token")
        if provider is None and token:
            provider = lambda: token  # noqa: E731 - a constant bearer token
        return CalDAVAdapter(
            c.url,
            username=c.username,
            password=secret.get("password"),
            token_provider=provider,
            calendar=c.calendar,
            verify_tls=c.verify_tls,
            deadline_seconds=self.deadline_seconds,
        )

    def sync(self, connector_id: str, *, wait_seconds: float = 0.0) -> SyncReport:
        """Pull now. A failure is recorded in ``status`` and raised as a typed error.

        A pull already running (the background worker's) may have fetched the calendar
        before the change the caller wants to see: with ``wait_seconds`` this waits up to
        that long for it to end and then pulls again, rather than answering 409
        ``connector_busy`` at once. The worker itself does not wait (it pulls later)."""
        c = self.get(connector_id)
        if not c.pulls:
            raise ValidationError("connector_id", "a write_only connector does not pull")
        lease, token = self._lease(c, wait_seconds)
        try:
            return pull_once(self.bookings, c, self._pulling_adapter(c), lease_token=token)
        except ConnectorError as exc:
            self._drop_adapter(connector_id)
            self.record_error(c, exc)
            raise
        finally:
            self._unlease(lease, token)

    def _pulling_adapter(self, c: Connector) -> CalendarAdapter:
        """The adapter pulls of ``c`` reuse (its connection and found calendar), rebuilt
        when the record changes. Only the holder of ``c``'s sync lease uses it."""
        raw = json.dumps(self._record(c.connector_id), sort_keys=True)
        with self._adapters_lock:
            cached = self._adapters.get(c.connector_id)
            if cached is not None and cached[0] == raw:
                return cached[1]
        adapter = self.adapter(c)
        with self._adapters_lock:
            old = self._adapters.pop(c.connector_id, None)
            self._adapters[c.connector_id] = (raw, adapter)
        if old is not None:
            old[1].close()
        return adapter

    def _drop_adapter(self, connector_id: str) -> None:
        with self._adapters_lock:
            old = self._adapters.pop(connector_id, None)
        if old is not None:
            old[1].close()

    def _lease(self, c: Connector, wait_seconds: float = 0.0) -> tuple[str, str]:
        """Take ``c``'s sync lease (one pull at a time per connector), waiting up to
        ``wait_seconds`` for the holder to let it go, or raise busy."""
        lease = self.keys.connector_lease(c.user_id, c.connector_id)
        token = secrets.token_hex(8)
        deadline = time.monotonic() + wait_seconds
        pause = 0.02
        with store_errors("connector lease"):
            while not self.r.set(lease, token, nx=True, px=_LEASE_MS):
                if time.monotonic() + pause > deadline:
                    raise ConnectorError(
                        f"connector {c.connector_id} is being synced by another worker",
                        error="connector_busy",
                        status=409,
                    )
                time.sleep(pause)  # a pull takes a round trip or a few to the remote
                pause = min(pause * 2, 0.25)
        return lease, token

    def _unlease(self, lease: str, token: str) -> None:
        """Let the lease go if ``token`` still holds it (see ``_UNLEASE_LUA``)."""
        with store_errors("connector lease"):
            self._unlease_script(keys=[lease], args=[token])

    def record_error(self, c: Connector, exc: ConnectorError) -> None:
        with store_errors("connector state"):
            self.r.hset(
                self.keys.connector_state(c.user_id, c.connector_id),
                mapping={
                    "last_error": exc.detail,
                    "last_error_code": exc.error,
                    "last_error_ms": str(server_now_ms(self.bookings, c.user_id)),
                },
            )

    def status(self, connector_id: str) -> ConnectorStatus:
        c = self.get(connector_id)
        k, uid = self.keys, c.user_id
        with store_errors("connector status"):
            st = self.r.hgetall(k.connector_state(uid, connector_id))
            seen = self.r.hvals(k.connector_hrefs(uid, connector_id))
            backlog = self.r.xlen(k.push_outbox(uid)) if c.pushes else 0
            dead = self.r.xlen(k.push_outbox(uid) + ":dead") if c.pushes else 0
        now = server_now_ms(self.bookings, uid)

        def at(field: str) -> Any:
            return from_ms(int(st[field])) if st.get(field) else None

        return ConnectorStatus(
            connector_id=connector_id,
            last_pull_at=at("last_pull_ms"),
            last_push_at=at("last_push_ms"),
            last_error=st.get("last_error") or None,
            last_error_code=st.get("last_error_code") or None,
            last_error_at=at("last_error_ms") if st.get("last_error") else None,
            backlog=backlog,
            dead_letters=dead,
            blocks=sum(len(json.loads(v).get("blocks") or []) for v in seen),
            conflicts=int(st.get("conflicts") or 0),
            last_conflict=json.loads(st["last_conflict"]) if st.get("last_conflict") else None,
            stale=self._stale(c, st, now),
        )

    @staticmethod
    def _stale(c: Connector, st: dict[str, str], now: int) -> bool:
        if not c.pulls:
            return False
        last = int(st.get("last_pull_ms") or 0)
        return now - last > c.max_staleness_seconds * 1000

    def refuse_if_unsynced(self, user_id: str) -> None:
        """Raise :class:`CalendarUnsynced` (503) when a connector whose owner chose
        ``stale="refuse"`` has not pulled within its ``max_staleness_seconds``.

        The owner's connector list is cached for a second or two per process, so a
        calendar without connectors pays one HVALS per few seconds, not per commit.
        """
        if self._refusing_now(user_id) is None:
            self._remember_refusing(user_id, self.list(user_id))
        self._refuse_if_stale(user_id)

    async def refuse_if_unsynced_async(self, calls: AsyncCalls, user_id: str) -> None:
        """:meth:`refuse_if_unsynced` on the server's event loop: the list is read on
        ``calls``, pipelined with the scripts. Only a calendar with a connector that
        refuses when stale (rare) has its freshness read, in a thread."""
        if self._refusing_now(user_id) is None:
            with store_errors("connector list"):
                raw = await calls.command("HVALS", self.keys.connectors(user_id))
            self._remember_refusing(user_id, _connectors(raw))
        if self._refusing_now(user_id):
            await anyio.to_thread.run_sync(self._refuse_if_stale, user_id)

    def none_refusing(self, user_id: str) -> bool:
        """Whether the cached connector list of ``user_id`` says no connector refuses
        when stale, so :meth:`refuse_if_unsynced` has nothing to read or refuse (False
        when the list is not cached or has expired)."""
        return self._refusing_now(user_id) == []

    def _refusing_now(self, user_id: str) -> builtins.list[Connector] | None:
        """The cached connectors of ``user_id`` that refuse when stale; None: not cached."""
        cached = self._refusing.get(user_id)
        return None if cached is None or cached[0] < time.monotonic() else cached[1]

    def _remember_refusing(self, user_id: str, conns: builtins.list[Connector]) -> None:
        refusing = [c for c in conns if c.pulls and c.stale == "refuse"]
        self._refusing[user_id] = (time.monotonic() + _REFUSING_TTL_SECONDS, refusing)

    def _refuse_if_stale(self, user_id: str) -> None:
        cached = self._refusing.get(user_id)
        if cached is None or not cached[1]:
            return
        for f in self.freshness(user_id):
            if f.stale and any(c.connector_id == f.connector_id for c in cached[1]):
                last = f.last_pull_at.isoformat() if f.last_pull_at else "never"
                raise CalendarUnsynced(
                    f"the owner's calendar (connector {f.connector_id}) was last pulled "
                    f"{last}: unproven, not free; retry once it syncs",
                    connector_id=f.connector_id,
                    last_pull_at=last,
                )

    def freshness(self, user_id: str) -> builtins.list[Freshness]:
        """How fresh each pulling connector's view of ``user_id``'s calendar is."""
        out: builtins.list[Freshness] = []
        conns = [c for c in self.list(user_id) if c.pulls]
        if not conns:
            return out
        now = server_now_ms(self.bookings, user_id)
        for c in conns:
            with store_errors("connector state"):
                st = self.r.hgetall(self.keys.connector_state(user_id, c.connector_id))
            last = st.get("last_pull_ms")
            out.append(
                Freshness(
                    connector_id=c.connector_id,
                    last_pull_at=from_ms(int(last)) if last else None,
                    stale=self._stale(c, st, now),
                )
            )
        return out
