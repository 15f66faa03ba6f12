"""Human approvals: an agent asks, a person decides, the answer is final.

Two kinds share one record and one state machine (``pending`` → ``approved`` |
``denied`` | ``expired``, see ``lua/_approvals.lua``):

* **generic**, as in the official SDK: ``client.approvals.request(action_type,
  summary, evidence=…)`` for any action (a refund, a deploy), then ``get`` or
  ``wait``;
* **booking**: the owner's ``require_approval`` rule turned a commit into a parked
  hold and raised :class:`~coordinator.ConsentRequired`. Approving it commits the
  slot through the normal claim (it can still lose to a better booking, and the
  approval records that outcome); denying it, or letting it lapse, releases the hold.

Every step is one script and one audit entry. Lapsing happens on the first read
after the deadline (nothing runs in the background), so every reader sees the same
terminal state.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from .access import CallerContext
from .bookings import Bookings
from .buckets import from_ms
from .errors import (
    ApprovalTimeout,
    AuthError,
    Conflict,
    Gone,
    InvalidState,
    NotFound,
    ValidationError,
)
from .ids import keyed_id
from .inputs import is_id, json_object, readable, required_text, text
from .names import agent_names
from .receipts import Receipts
from .replies import About, refusal
from .store.connect import MAX_BLOCK_SECONDS
from .store.errors import store_errors
from .store.handle import Store
from .store.records import expand_booking

TERMINAL = frozenset({"approved", "denied", "expired"})
MAX_ACTION_TYPE = 100
MAX_SUMMARY = 2000
MAX_EVIDENCE_BYTES = 16 * 1024
MAX_TTL_SECONDS = 30 * 24 * 3600.0
MAX_NOTE = 2000


def _iso(ms: Any) -> str | None:
    return from_ms(int(ms)).isoformat() if ms else None


def public(a: dict[str, Any], user_id: str) -> dict[str, Any]:
    """The approval as the SDK's ``approvals.get`` returns it (a plain dict).

    Text passes through :func:`~coordinator.inputs.readable`, so a record stored
    before input checks existed (evidence with a lone surrogate) still reads.
    """
    evidence = a.get("evidence_json")
    return readable(
        {
            "approval_id": a["id"],
            "status": a["status"],
            "kind": a["kind"],
            "action_type": a.get("action_type"),
            "summary": a.get("summary"),
            "evidence": json.loads(evidence) if evidence else None,
            "agent_id": a["agent_id"],
            "user_id": user_id,
            "created_at": _iso(a.get("created_ms")),
            "expires_at": _iso(a.get("expires_ms")),
            "decided_at": _iso(a.get("decided_ms")),
            "note": a.get("note"),
            "hold_id": a.get("hold_id"),
            "booking_id": a.get("booking_id"),
            "outcome": a.get("outcome"),
            "winning_booking_id": a.get("winning_booking_id"),
            "audit_event_id": a.get("audit_event_id"),
            #: The signed decision (README "Signed receipts"); None while pending.
            "receipt": a.get("receipt"),
        }
    )


def with_winner(store: Store, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
    """An approved commit that lost its slot names who took it: agent, name, priority.

    The record keeps only the winning booking's id; the winner is read from that booking
    (one lookup, and only for a lost approval), so a person or a model reads "sales
    (priority 1)" instead of a booking id.
    """
    winning = view.get("winning_booking_id")
    if view.get("outcome") != "conflict" or not winning:
        return view
    with store_errors("approvals.get"):
        raw = store.redis.hget(store.keys.bookings(user_id), winning)
    if not raw:
        return view
    rec = expand_booking(winning, raw)
    agent_id, priority = rec.get("agent_id"), rec.get("priority")
    return {
        **view,
        "winning_agent_id": agent_id,
        "winning_agent_name": agent_names(store, user_id, [agent_id]).get(agent_id or ""),
        "winning_agent_priority": int(priority) if priority is not None else None,
    }


def _check_id(approval_id: object) -> None:
    if not is_id(approval_id, prefix="apr_"):
        raise ValidationError("approval_id", "must be an approval id such as apr_…")


def _read(
    store: Store, user_id: str, approval_id: str, *, agent_id: str = "", key_hash: str = ""
) -> tuple[dict[str, Any], int]:
    """The stored record (lapsed first if due) and the server clock, in one script."""
    _check_id(approval_id)
    with store_errors("approvals.get"):
        reply = store.calls.approval_read(
            user_id=user_id,
            approval_id=approval_id,
            agent_id=agent_id,
            key_hash=key_hash,
            limits=store.limits,
        )
    if reply["r"] != "ok":
        raise refusal("approval", reply, About(user_id, approval_id, agent_id))
    return Receipts(store).attach(user_id, reply["approval"]), int(reply["now"])


class Approvals:
    """``coord.approvals``: the owner's side (decide, look up, list)."""

    def __init__(self, store: Store, bookings: Bookings) -> None:
        self._store = store
        #: Approving a parked commit commits it through the normal claim.
        self._bookings = bookings

    def _owner(self, approval_id: str) -> str:
        _check_id(approval_id)
        with store_errors("approvals"):
            user_id = self._store.redis.get(self._store.keys.approval_index(approval_id))
        if user_id is None:
            raise NotFound(f"no approval {approval_id}", error="approval_not_found")
        return str(user_id)

    def get(self, approval_id: str) -> dict[str, Any]:
        user_id = self._owner(approval_id)
        view = public(_read(self._store, user_id, approval_id)[0], user_id)
        return with_winner(self._store, user_id, view)

    def list(self, user_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """The owner's approval requests, oldest first (``status`` filters)."""
        with store_errors("approvals.list"):
            ids = self._store.redis.hkeys(self._store.keys.approvals(user_id))
        out = [public(_read(self._store, user_id, i)[0], user_id) for i in ids]
        out.sort(key=lambda a: a["created_at"] or "")
        return [a for a in out if status is None or a["status"] == status]

    def approve(self, approval_id: str, *, note: str | None = None) -> dict[str, Any]:
        """Approve. A parked commit is committed now, through the normal claim.

        Returns the decided approval: for a booking, ``outcome`` is ``committed``
        (``booking_id`` is the new commit) or ``conflict`` (a better booking took the
        slot meanwhile; ``winning_booking_id`` names it). A rule the commit now breaks
        (the lead time has passed, say) raises :class:`RuleViolation` and leaves the
        request pending. ``note`` is kept on generic approvals and on denials.
        """
        user_id = self._owner(approval_id)
        a, _ = _read(self._store, user_id, approval_id)
        _check_pending(a, approval_id)
        if a["kind"] != "booking":
            return self._resolve(user_id, approval_id, "approved", note)
        eng = self._bookings
        hold, _ = eng.record(user_id, a["hold_id"])
        req = json.loads(a.get("request_json") or "{}")
        try:
            eng.write(
                user_id=user_id,
                agent_id=a["agent_id"],
                key_hash="",
                mode="commit",
                start=from_ms(hold["start_ms"]),
                end=from_ms(hold["end_ms"]),
                buffer_before_min=hold.get("buffer_before_min"),
                buffer_after_min=hold.get("buffer_after_min"),
                bump_window_seconds=req.get("bump_window_seconds"),
                title=hold.get("title") or None,
                invitee=hold.get("invitee") or None,
                metadata=hold.get("metadata") or None,
                approval_id=approval_id,
                conferencing=hold.get("conferencing") or None,
            )
        except Conflict:
            pass  # the approval records the outcome and the winner
        return self.get(approval_id)

    def deny(self, approval_id: str, *, note: str | None = None) -> dict[str, Any]:
        """Deny. A parked commit's hold is released in the same step."""
        user_id = self._owner(approval_id)
        return self._resolve(user_id, approval_id, "denied", note)

    def _resolve(
        self,
        user_id: str,
        approval_id: str,
        decision: Literal["approved", "denied"],
        note: str | None,
    ) -> dict[str, Any]:
        text(note, "note", max_len=MAX_NOTE, multiline=True)
        with store_errors(f"approvals.{decision}"):
            reply = self._store.calls.approval_resolve(
                user_id=user_id, approval_id=approval_id, decision=decision, note=note or ""
            )
        if reply["r"] != "ok":
            raise refusal("approval", reply, About(user_id, approval_id, "", decision))
        return public(Receipts(self._store).attach(user_id, reply["approval"]), user_id)


def _check_pending(a: dict[str, Any], approval_id: str) -> None:
    if a["status"] == "expired":
        raise Gone(f"approval {approval_id} expired", error="approval_expired")
    if a["status"] != "pending":
        raise InvalidState(
            f"approval {approval_id} is already {a['status']}", approval_status=a["status"]
        )


class ClientApprovals:
    """``client.approvals``: the official SDK's ``request``, ``get`` and ``wait``.

    Needs the ``approvals:request`` scope. An agent sees only its own requests.
    """

    def __init__(self, ctx: CallerContext) -> None:
        self._c = ctx
        self._store = ctx.store

    def request(
        self,
        action_type: str,
        summary: str,
        *,
        evidence: dict[str, Any] | None = None,
        ttl_seconds: float | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Open a request and return at once with ``{approval_id, status, expires_at, …}``."""
        required_text(action_type, "action_type", max_len=MAX_ACTION_TYPE)
        required_text(summary, "summary", max_len=MAX_SUMMARY, multiline=True)
        evidence_json = ""
        if evidence is not None:
            evidence_json = json_object(evidence, "evidence", max_bytes=MAX_EVIDENCE_BYTES)
        eng = self._store
        ttl = eng.settings.approval_ttl_seconds if ttl_seconds is None else ttl_seconds
        if (
            isinstance(ttl, bool)
            or not isinstance(ttl, int | float)
            or not 0.05 <= ttl <= MAX_TTL_SECONDS
        ):
            raise ValidationError("ttl_seconds", f"must be 0.05..{MAX_TTL_SECONDS:g} seconds")
        c = self._c
        approval_id = keyed_id("apr", c.agent_id, idempotency_key)
        k = eng.keys
        with store_errors("approvals.request"):
            reply = eng.calls.approval_request(
                user_id=c.user_id,
                agent_id=c.agent_id,
                key_hash=c.key_hash,
                limits=eng.limits,
                approval_id=approval_id,
                action_type=action_type,
                summary=summary,
                evidence_json=evidence_json,
                ttl_ms=int(ttl * 1000),
            )
        if reply["r"] != "ok":
            raise refusal("approval", reply, About(c.user_id, approval_id, c.agent_id))
        if reply["approval"]["agent_id"] != c.agent_id:
            raise AuthError("that idempotency key names another agent's request", error="forbidden")
        # The global index is outside the calendar's slot, so it is written only once the
        # script has stored the request (a refused request leaves nothing behind); a
        # keyed retry writes it again.
        with store_errors("approvals.request"):
            eng.redis.set(k.approval_index(approval_id), c.user_id)
        return public(reply["approval"], c.user_id)

    def get(self, approval_id: str) -> dict[str, Any]:
        """The request as it stands; a lapsed one reads ``expired``."""
        view = public(self._get(approval_id)[0], self._c.user_id)
        return with_winner(self._store, self._c.user_id, view)

    def _get(self, approval_id: str) -> tuple[dict[str, Any], int]:
        c = self._c
        return _read(self._store, c.user_id, approval_id, agent_id=c.agent_id, key_hash=c.key_hash)

    def wait(
        self, approval_id: str, *, timeout: float | None = None, poll_interval: float = 5.0
    ) -> dict[str, Any]:
        """Block until a person decides or the request lapses; return it then.

        Returns on any terminal status (``approved``, ``denied``, ``expired``), so check
        ``status``. It wakes the moment a decision is recorded (a blocking pop on the
        request's wake-up list), not on a polling tick; ``poll_interval`` is accepted
        for SDK compatibility and bounds each blocking wait. ``timeout`` raises
        :class:`ApprovalTimeout` with the request still pending.
        """
        started = time.monotonic()
        wake = self._store.keys.approval_wake(self._c.user_id, approval_id)
        while True:
            a, now = self._get(approval_id)
            if a["status"] in TERMINAL:
                return with_winner(self._store, self._c.user_id, public(a, self._c.user_id))
            block = max(0.01, (int(a["expires_ms"]) - now) / 1000 + 0.005)
            block = min(block, MAX_BLOCK_SECONDS, max(0.01, poll_interval))
            if timeout is not None:
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    raise ApprovalTimeout(
                        f"approval {approval_id} still pending after {timeout:g}s",
                        approval_id=approval_id,
                        waited_seconds=time.monotonic() - started,
                    )
                block = min(block, left)
            with store_errors("approvals.wait"):
                self._store.redis.blpop([wake], block)
