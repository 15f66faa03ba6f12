"""Proposal deadlines that fire without anyone calling the API, and survive restarts.

Every pending proposal has an entry in one sorted set per namespace
(``<user_id> <proposal_id>`` → when to visit, in ms on the Redis clock). The set
lives in Redis (with the AOF), so a restarted coordinator finds every deadline it
missed and visits those at once. A visit is ``proposal_tick.lua``, which lapses the
proposal if its time passed (or settles a resolution whose resolver died) in one
atomic step, so any number of timer threads, in any number of processes, can visit
the same entry: the second visit finds nothing to do.

A timer thread blocks on a wake-up list until the earliest deadline (a new
proposal pushes to it), so it fires on time without polling. One thread runs per
Redis client and namespace in a process, started by the first proposal created, by
``Coordinator.embedded`` when deadlines are waiting, by ``coordinator serve``, or by
``coordinator proposals timer`` for a deployment that wants it on its own.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import StoreUnavailable
from ..store.errors import store_errors
from ..store.handle import Store

#: The visit of one deadline: ``(user_id, proposal_id) -> reply`` with ``status`` and,
#: when the proposal needs another visit, ``next_ms``.
Tick = Callable[[str, str], dict[str, Any]]

log = logging.getLogger("coordinator.proposals")
#: Longest the timer sleeps with no deadline due: bounds how late a deadline added by
#: another process (whose wake-up push this thread did not get) can be noticed. Well
#: under the store's :data:`~coordinator.store.connect.MAX_BLOCK_SECONDS`, the longest
#: any blocking command may wait.
MAX_IDLE_SECONDS = 1.0

_running: dict[tuple[int, str], ProposalTimers] = {}
_running_lock = threading.Lock()


def _member(user_id: str, proposal_id: str) -> str:
    return f"{user_id} {proposal_id}"


class ProposalTimers:
    """The deadline set of one coordinator, and the thread that keeps it."""

    def __init__(self, store: Store, tick: Tick) -> None:
        self.store = store
        self._tick = tick
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._token = secrets.token_hex(6)
        #: Entries retired because their proposal was terminal (expired by this visit or
        #: ended before it), for operators.
        self.fired = 0

    # -- the set -----------------------------------------------------------------------

    def schedule(
        self, user_id: str, proposal_id: str, due_ms: int | None, *, exact: bool = False
    ) -> None:
        """Make sure a visit is due no later than ``due_ms`` (``exact``: at ``due_ms``;
        ``None`` with ``exact``: no visit needed any more).

        Without a deadline (``due_ms=None``, not exact) the entry is written for one
        default TTL from now, as a crash guard until the exact time is known.
        """
        k = self.store.keys
        member = _member(user_id, proposal_id)
        with store_errors("proposal timer"):
            if exact and due_ms is None:
                self.store.redis.zrem(k.proposal_timers(), member)
                return
            if due_ms is None:
                due_ms = int(time.time() * 1000 + self.store.settings.proposal_ttl_seconds * 1000)
            # One round trip: the three keys share the {proposal-timers} slot.
            pipe = self.store.redis.pipeline(transaction=False)
            # LT adds a new entry, or moves an existing one only earlier.
            pipe.zadd(k.proposal_timers(), {member: due_ms}, lt=not exact)
            pipe.lpush(k.proposal_timers_wake(), "1")
            pipe.ltrim(k.proposal_timers_wake(), 0, 0)
            pipe.execute()
        self.ensure_running()

    def pending(self) -> int:
        with store_errors("proposal timer"):
            return int(self.store.redis.zcard(self.store.keys.proposal_timers()))

    def _now_ms(self) -> int:
        secs, micros = (
            self.store.redis.time()
            if not hasattr(self.store.redis, "get_node_from_key")
            else self._cluster_time()
        )
        return int(secs) * 1000 + int(micros) // 1000

    def _cluster_time(self) -> Any:
        r = self.store.redis
        node = r.get_node_from_key(self.store.keys.proposal_timers())
        return r.time(target_nodes=node)

    def run_due(self) -> int:
        """Visit every entry that is due now; return how many it retired as terminal."""
        k = self.store.keys
        changed = 0
        with store_errors("proposal timer"):
            now = self._now_ms()
            due = self.store.redis.zrangebyscore(k.proposal_timers(), "-inf", now, start=0, num=100)
        for member in due:
            user_id, _, pid = str(member).partition(" ")
            reply = self._tick(user_id, pid)
            if reply.get("next_ms") is not None:
                with store_errors("proposal timer"):
                    self.store.redis.zadd(k.proposal_timers(), {member: int(reply["next_ms"])})
                continue
            with store_errors("proposal timer"):
                self.store.redis.zrem(k.proposal_timers(), member)
            if reply.get("status") in ("expired", "confirmed", "cancelled"):
                changed += 1
        self.fired += changed
        return changed

    def next_due_ms(self) -> int | None:
        with store_errors("proposal timer"):
            first = self.store.redis.zrange(
                self.store.keys.proposal_timers(), 0, 0, withscores=True
            )
        return int(first[0][1]) if first else None

    # -- the thread --------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start this process's timer thread for this Redis and namespace, once."""
        if not self.store.settings.run_proposal_timer:
            return
        key = (id(self.store.redis), self.store.settings.namespace)
        with _running_lock:
            current = _running.get(key)
            if current is not None and current._thread is not None and current._thread.is_alive():
                return
            _running[key] = self
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="proposal-timer", daemon=True)
            self._thread.start()

    def start_if_pending(self) -> None:
        """Start the thread when deadlines are waiting (a restarted coordinator)."""
        try:
            if self.pending():
                self.ensure_running()
        except StoreUnavailable:
            log.warning("proposal timer not started: the store is unreachable")

    def stop(self) -> None:
        """Stop this coordinator's timer thread (if it runs one) and wait for it."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        try:
            self.store.redis.lpush(self.store.keys.proposal_timers_stop(self._token), "1")
        except Exception:  # stopping must not fail on a dead store
            pass
        thread.join(timeout=5)
        self._thread = None
        with _running_lock:
            for key, timers in list(_running.items()):
                if timers is self:
                    del _running[key]

    @staticmethod
    def stop_for(redis_client: Any) -> None:
        """Stop every timer thread running on ``redis_client`` (it is about to close)."""
        with _running_lock:
            running = [t for (rid, _), t in _running.items() if rid == id(redis_client)]
        for timers in running:
            timers.stop()

    def _loop(self) -> None:
        k = self.store.keys
        stop_key = k.proposal_timers_stop(self._token)
        failing = False
        while not self._stop.is_set():
            try:
                self.run_due()
                if failing:
                    log.warning("proposal timer: the store is back")
                    failing = False
                nxt = self.next_due_ms()
                block = MAX_IDLE_SECONDS
                if nxt is not None:
                    block = min(block, max(0.005, (nxt - self._now_ms()) / 1000 + 0.002))
                self.store.redis.blpop([stop_key, k.proposal_timers_wake()], block)
            except Exception as exc:  # a timer must outlive store hiccups
                if self._stop.is_set():
                    break
                if not failing:  # once per outage, not once a second
                    log.warning("proposal timer: %s; retrying every second", exc)
                    failing = True
                self._stop.wait(1.0)
        try:
            self.store.redis.delete(stop_key)
        except Exception:
            pass
