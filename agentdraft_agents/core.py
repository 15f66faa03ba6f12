"""Framework-free booking logic shared by every integration.

:class:`BookingService` wraps any client with the official SDK's surface (the
embedded ``coord.client(key)``, this project's HTTP server through the SDK, or
the hosted service through ``agentdraft.Client``) and turns each call into a
typed result from :mod:`agentdraft_agents.results`. Framework adapters only
translate arguments in and results out, so the behaviour after a lost race is
written once, here.

The agent's identity lives in the client, bound when the service is built; no
method takes an agent id, so a model can never act as a sibling.

Time input
    Models write times as text. ISO 8601 with ``Z`` or an offset is accepted.
    A time without an offset (``2026-06-01T14:00:00``) is *refused*, never read in
    some assumed zone: agents of one calendar may run in different zones, and a
    guessed hour books the wrong slot silently while a refusal costs one more
    call. The refusal names the owner's timezone and spells the corrected value,
    so the model can fix it in that call.

Errors
    Input the model can fix comes back as :class:`~agentdraft_agents.results.Failed`;
    infrastructure errors (store down, key unknown or revoked, rate limited,
    network) propagate to the code running the agent, which can retry or stop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import math
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coordinator.buckets import is_naive, read_time

from . import http_bookings
from .results import (
    ApprovalStatus,
    Availability,
    Booked,
    BookingList,
    BookingState,
    Cancelled,
    Failed,
    Identity,
    Lost,
    Released,
    Result,
    Slot,
    local,
)

#: Owner rules whose refusal is worth a counter-proposal, like a lost race.
RULE_ERRORS = frozenset(
    {"outside_working_hours", "focus_block", "lead_time_not_met", "daily_cap_reached"}
)
#: HTTP statuses a model can act on; everything else (401, 402, 429, 5xx) propagates.
_MODEL_ACTIONABLE = frozenset({400, 403, 404, 409, 410, 422})
#: How far around a lost slot alternatives are looked for, nearest window first.
DEFAULT_SEARCH = (timedelta(hours=4), timedelta(days=2))
#: Resends of a write, with the same idempotency key, after a 503 whose outcome is
#: unknown (the store failed after the write may have landed); seconds before each.
STORE_RETRY_DELAYS = (0.1, 0.5)
#: How many of its bookings an agent's list shows at most (the text says when there are more).
LIST_LIMIT = 50


def tool_call_key(mode: str) -> str:
    """A fresh idempotency key for one tool call whose model gave none.

    Every write the tools make carries a key, so resending it after a 503
    ``store_unavailable`` (outcome unknown) returns the original booking instead of
    booking twice. One key per tool call: a second call by the model is a new request.
    """
    return f"agentdraft-tool-{mode}-{secrets.token_hex(12)}"


def _outcome_unknown(exc: BaseException) -> bool:
    """A 503 from either client family: the store failed, the write may have landed."""
    return getattr(exc, "status", None) == 503 or error_code(exc) == "store_unavailable"


def example_times(now: datetime | None = None) -> tuple[str, str]:
    """Two spellings of one instant a month ahead (UTC ``Z``, and ``+02:00``), for tool texts.

    Examples in descriptions and refusals must lie in the future: a model copies
    them, and a fixed date would one day teach it to book the past.
    """
    day = ((now or datetime.now(UTC)) + timedelta(days=30)).date().isoformat()
    return f"{day}T14:00:00Z", f"{day}T16:00:00+02:00"


class TimeInputError(ValueError):
    """A time the tools will not guess about; ``code`` and ``field`` say which and why."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


def parse_time(value: datetime | str, field: str, *, owner_timezone: str | None = None) -> datetime:
    """An aware UTC datetime from ISO 8601 text (``Z`` or offset) or an aware datetime.

    The input is read exactly as the coordinator reads it
    (:func:`coordinator.buckets.read_time`); only the refusals differ, worded for a
    model. Naive input raises :class:`TimeInputError` whose message spells the value with
    the owner's offset at that moment, so a model that meant the owner's wall clock
    can resend it as is.
    """
    raw = value
    try:
        value = read_time(value)
    except ValueError:
        raise TimeInputError(
            field,
            "invalid_time",
            f"{field}={raw!r} is not an ISO 8601 date-time. Send e.g. {{}} (UTC) or {{}}.".format(
                *example_times()
            ),
        ) from None
    except TypeError:
        raise TimeInputError(field, "invalid_time", f"{field} must be ISO 8601 text") from None
    if is_naive(value):
        raise TimeInputError(field, "naive_time", _naive_message(field, raw, value, owner_timezone))
    return value.astimezone(UTC)


def _naive_message(field: str, raw: object, naive: datetime, owner_timezone: str | None) -> str:
    wall = naive.replace(tzinfo=None).isoformat()
    msg = (
        f"{field}={raw!r} has no UTC offset, so it could mean a different instant for each "
        "agent; nothing was booked. Resend it with Z for UTC or with an explicit offset, "
        f"e.g. {wall}Z"
    )
    try:
        tz = ZoneInfo(owner_timezone) if owner_timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    if tz is not None and owner_timezone != "UTC":
        return (
            f"{msg}, or {naive.replace(tzinfo=tz).isoformat()} if you meant that wall-clock "
            f"time in the calendar owner's timezone ({owner_timezone})."
        )
    return msg + "."


def error_code(exc: BaseException) -> str:
    """The machine code of an error from either client family (in-process or the SDK).

    The coordinator's errors carry it as ``.error``, the SDK's in ``.body["error"]``;
    anything else is named by its class (``ValueError`` -> ``value_error``). Code that
    must work with both clients branches on this, never on the coordinator's classes.
    """
    body = getattr(exc, "body", None)
    code = getattr(exc, "error", None) or (body.get("error") if isinstance(body, dict) else None)
    if isinstance(code, str) and code:
        return code
    name = type(exc).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def attachments(b: Any) -> dict[str, Any]:
    """A booking's conferencing link, its status and its signed receipt, from either client
    family: the coordinator's ``conferencing`` dict (also the server's JSON) or the SDK's
    ``conferencing_url``/``conferencing_status`` attributes."""
    conf = getattr(b, "conferencing", None)
    conf = conf if isinstance(conf, dict) else {}
    return {
        "conferencing_url": conf.get("url") or getattr(b, "conferencing_url", None),
        "conferencing_status": conf.get("status") or getattr(b, "conferencing_status", None),
        "receipt": getattr(b, "receipt", None),
    }


def _as_failed(exc: BaseException, timezone: str | None = None) -> Failed | None:
    """A :class:`Failed` for a client error the model can act on, else ``None``.

    Works on this package's errors and the official SDK's alike: both carry an
    HTTP ``status``; the codes and details live on the exception or in ``body``.
    ``timezone`` (the owner's) words when a parked booking's hold lapses.
    """
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or status not in _MODEL_ACTIONABLE:
        return None
    body = getattr(exc, "body", None)
    body = body if isinstance(body, dict) else {}
    message = getattr(exc, "detail", None) or body.get("detail") or str(exc)
    field = getattr(exc, "field", None) or body.get("field")
    code = error_code(exc)
    consent: dict[str, Any] = {}
    if code == "consent_required":
        consent = {
            k: getattr(exc, k, None) or body.get(k)
            for k in ("consent_request_id", "hold_id", "expires_at")
        }
        expires = consent["expires_at"]
        until = ""
        if expires:
            try:
                until = f" until {local(read_time(expires), timezone)}"
            except (TypeError, ValueError):
                until = f" until {expires}"
        message = (
            f"a person must approve this booking first (request {consent['consent_request_id']}); "
            f"the slot is parked as hold {consent['hold_id']}{until}. Do not retry; tell your "
            "user it awaits their approval, and read the decision with agentdraft_check_approval."
        )
    elif code == "hold_ttl_too_long":
        message = f"{message}. Nothing was held; call again with a shorter ttl_seconds."
    return Failed(
        error=code, message=str(message), field=field, status=status, timezone=timezone, **consent
    )


def _unsupported_options(call: Callable[..., Any], options: dict[str, Any]) -> list[str]:
    """Options ``call`` cannot take (the official SDK has no ``hold_ttl_seconds`` yet)."""
    try:
        params = inspect.signature(call).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []
    return [k for k in options if k not in params]


def _is_conflict(exc: BaseException) -> bool:
    """A lost race, from either client family: 409 carrying the winner's identity."""
    return (
        getattr(exc, "status", None) == 409
        and hasattr(exc, "winning_agent_id")
        and (getattr(exc, "reason", None) or error_code(exc)) != "consent_required"
    )


def find_alternatives(
    client: Any,
    start: datetime,
    end: datetime,
    *,
    count: int = 3,
    granularity_minutes: int = 15,
    search: Sequence[timedelta] = DEFAULT_SEARCH,
    now: datetime | None = None,
) -> list[Slot]:
    """The ``count`` open slots as long as ``[start, end)`` whose starts lie nearest to it.

    Asks ``client.availability.list`` (the SDK's call, so it works on every backend)
    over ``start ± span`` for each span in ``search`` until enough are found. Free
    ranges longer than the booking are cut at ``granularity_minutes`` steps; slots
    overlapping the lost one or starting before ``now`` are skipped, ties go to the
    earlier slot. ``now`` is this machine's clock: it only keeps stale past slots out
    of a suggestion, the coordinator still judges the booking by its own clock.
    """
    length = end - start
    minutes = math.ceil(length.total_seconds() / 60)
    step = timedelta(minutes=granularity_minutes)
    floor = now or datetime.now(UTC)
    found: dict[datetime, Slot] = {}
    for span in search:
        lo, hi = max(start - span, floor), end + span
        if hi - lo < length:
            continue
        ranges = client.availability.list(
            start=lo,
            end=hi,
            duration_minutes=minutes,
            granularity_minutes=granularity_minutes,
            include_holds=True,
        )
        for r in ranges:
            s, e = parse_time(r.start, "slot.start"), parse_time(r.end, "slot.end")
            while s + length <= e:
                if s >= floor and not (s < end and start < s + length):
                    found.setdefault(s, Slot(start=s, end=s + length))
                s += step
        if len(found) >= count:
            break
    ranked = sorted(found.values(), key=lambda x: (abs(x.start - start), x.start))
    return ranked[:count]


_M = TypeVar("_M", bound=Callable[..., Any])


def _observed(method: _M) -> _M:
    """Hand every result to ``on_result`` too, so code sees it whatever the framework."""

    @functools.wraps(method)
    def wrapper(self: BookingService, *args: Any, **kw: Any) -> Any:
        result = method(self, *args, **kw)
        if self.on_result is not None:
            self.on_result(result)
        return result

    return wrapper  # type: ignore[return-value]


class BookingService:
    """One agent's booking calls, as typed results; sync, with async twins.

    ``client`` is any object with the SDK surface. ``alternatives`` is how many
    counter-proposals a lost race (or a broken owner rule) carries; 0 turns the
    search off. ``on_result`` is called with every result (frameworks whose tool
    messages carry only text can still hand the data to code). The async methods
    run the same code in a worker thread, so both flavours behave identically.

    Every commit and hold carries an idempotency key (the model's, else
    :func:`tool_call_key`). A 503 ``store_unavailable`` (outcome unknown) is resent
    with that key after each of ``store_retry_delays``; if it still fails, the error
    propagates with ``idempotency_key`` set on it, so the code running the agent can
    learn the outcome by resending with it.
    """

    def __init__(
        self,
        client: Any,
        *,
        alternatives: int = 3,
        granularity_minutes: int = 15,
        search: Sequence[timedelta] = DEFAULT_SEARCH,
        on_result: Callable[[Result], None] | None = None,
        store_retry_delays: Sequence[float] = STORE_RETRY_DELAYS,
    ) -> None:
        self.client = client
        self.store_retry_delays = tuple(store_retry_delays)
        self.on_result = on_result
        self.alternatives = alternatives
        self.granularity_minutes = granularity_minutes
        self.search = tuple(search)

    # -- calls ---------------------------------------------------------------------------

    @_observed
    def identity(self) -> Identity:
        """Who these tools act as, the owner's timezone, the agent's live priority."""
        me = self.client.agents.me()
        return Identity(
            agent_id=me.agent_id,
            user_id=getattr(me, "user_id", None),
            priority=me.priority,
            scopes=list(getattr(me, "scopes", []) or []),
            timezone=getattr(me, "timezone", None) or "UTC",
        )

    @_observed
    def availability(
        self,
        start: datetime | str,
        end: datetime | str,
        duration_minutes: int = 30,
        granularity_minutes: int = 15,
        include_holds: bool = True,
    ) -> Availability | Failed:
        """Open slots of ``duration_minutes`` in ``[start, end)``."""
        try:
            s, e = self._interval(start, end)
            slots = self.client.availability.list(
                start=s,
                end=e,
                duration_minutes=duration_minutes,
                granularity_minutes=granularity_minutes,
                include_holds=include_holds,
            )
            out = [
                Slot(start=parse_time(x.start, "start"), end=parse_time(x.end, "end"))
                for x in slots
            ]
        except TimeInputError as exc:
            return Failed(error=exc.code, message=exc.message, field=exc.field, status=422)
        except Exception as exc:
            return self._fail_or_raise(exc)
        return Availability(
            start=s,
            end=e,
            duration_minutes=duration_minutes,
            slots=out,
            timezone=self._owner_timezone(),
        )

    @_observed
    def commit(
        self, start: datetime | str, end: datetime | str, **options: Any
    ) -> Booked | Lost | Failed:
        """Commit ``[start, end)``; a lost race is a :class:`Lost` with alternatives.

        ``options`` are the SDK's: ``title``, ``idempotency_key``, ``invitee``,
        ``metadata``, ``buffer_before_min``, ``buffer_after_min``, …
        """
        return self._write("commit", start, end, options)

    @_observed
    def hold(
        self, start: datetime | str, end: datetime | str, **options: Any
    ) -> Booked | Lost | Failed:
        """Hold ``[start, end)`` until its TTL; commit the same range to make it final."""
        return self._write("hold", start, end, options)

    @_observed
    def release(self, hold_id: str) -> Released | Failed:
        """Give a hold back before its TTL runs out."""
        try:
            self.client.bookings.release(hold_id)
        except Exception as exc:
            return self._fail_or_raise(exc)
        return Released(hold_id=hold_id)

    @_observed
    def cancel(self, booking_id: str) -> Cancelled | Failed:
        """Cancel one of this agent's own bookings."""
        try:
            self.client.bookings.cancel(booking_id)
        except Exception as exc:
            return self._fail_or_raise(exc)
        return Cancelled(booking_id=booking_id)

    @_observed
    def get_booking(self, booking_id: str) -> BookingState | Failed:
        """A booking as it stands now: live (and until when it can be displaced) or who ended it."""
        try:
            b = self._read_booking(booking_id)
        except Exception as exc:
            return self._fail_or_raise(exc)
        if b is None:
            return Failed(
                error="unsupported",
                message="this client cannot read a booking back; list availability instead.",
            )
        return self._state(b)

    @_observed
    def list_bookings(self, start: datetime | str, end: datetime | str) -> BookingList | Failed:
        """This agent's own bookings overlapping ``[start, end)``, ended ones included."""
        try:
            s, e = self._interval(start, end)
            listing = getattr(self.client.bookings, "list", None)
            if listing is not None:
                page = listing(start=s, end=e, limit=LIST_LIMIT)
            elif http_bookings.is_sdk(self.client):
                page = http_bookings.page(self.client, start=s, end=e, limit=LIST_LIMIT)
            else:
                return Failed(
                    error="unsupported",
                    message="this client cannot list bookings; read one with "
                    "agentdraft_get_booking instead.",
                )
        except TimeInputError as exc:
            return Failed(error=exc.code, message=exc.message, field=exc.field, status=422)
        except Exception as exc:
            return self._fail_or_raise(exc)
        return BookingList(
            start=s,
            end=e,
            bookings=[self._state(b) for b in page.bookings],
            more=page.next_cursor is not None,
            timezone=self._owner_timezone(),
        )

    @_observed
    def check_approval(self, consent_request_id: str) -> ApprovalStatus | Failed:
        """Where a person's approval of a parked booking stands (the coordinator's record)."""
        try:
            a = self.client.approvals.get(consent_request_id)
        except Exception as exc:
            return self._fail_or_raise(exc)
        get: Callable[[str], Any] = a.get if isinstance(a, dict) else lambda k: getattr(a, k, None)
        return ApprovalStatus(
            consent_request_id=consent_request_id,
            status=get("status"),
            hold_id=get("hold_id"),
            expires_at=get("expires_at"),
            booking_outcome=get("outcome"),
            booking_id=get("booking_id"),
            winning_booking_id=get("winning_booking_id"),
            winning_agent_id=get("winning_agent_id"),
            winning_agent_name=get("winning_agent_name"),
            winning_agent_priority=get("winning_agent_priority"),
            timezone=self._owner_timezone(),
        )

    # -- async twins: the same code on a worker thread ---------------------------------

    async def aidentity(self) -> Identity:
        return await asyncio.to_thread(self.identity)

    async def aavailability(self, *args: Any, **kw: Any) -> Availability | Failed:
        return await asyncio.to_thread(self.availability, *args, **kw)

    async def acommit(self, *args: Any, **kw: Any) -> Booked | Lost | Failed:
        return await asyncio.to_thread(self.commit, *args, **kw)

    async def ahold(self, *args: Any, **kw: Any) -> Booked | Lost | Failed:
        return await asyncio.to_thread(self.hold, *args, **kw)

    async def arelease(self, hold_id: str) -> Released | Failed:
        return await asyncio.to_thread(self.release, hold_id)

    async def acancel(self, booking_id: str) -> Cancelled | Failed:
        return await asyncio.to_thread(self.cancel, booking_id)

    async def alist_bookings(self, *args: Any) -> BookingList | Failed:
        return await asyncio.to_thread(self.list_bookings, *args)

    # -- internals ---------------------------------------------------------------------

    def _read_booking(self, booking_id: str) -> Any:
        """``client.bookings.get``, or the server's ``GET /v1/bookings/{id}`` through the
        official SDK's transport (the SDK has no ``bookings.get`` yet); ``None`` if the
        client can do neither."""
        get = getattr(self.client.bookings, "get", None)
        if get is not None:
            return get(booking_id)
        if http_bookings.is_sdk(self.client):
            return http_bookings.get(self.client, booking_id)
        return None

    def _state(self, b: Any) -> BookingState:
        """A booking read back (any client's shape) as the model's :class:`BookingState`."""
        fields = {
            k: getattr(b, k, None)
            for k in BookingState.model_fields
            if k not in ("outcome", "timezone")
        }
        fields.update(attachments(b))
        fields["timezone"] = self._owner_timezone()
        return BookingState.model_validate(fields)

    def _owner_timezone(self) -> str | None:
        """The owner's zone, read once when a text first needs it (a refusal, a bump window)."""
        if not hasattr(self, "_timezone"):
            try:
                self._timezone: str | None = getattr(self.client.agents.me(), "timezone", None)
            except Exception:
                return None
        return self._timezone

    def _interval(self, start: datetime | str, end: datetime | str) -> tuple[datetime, datetime]:
        try:
            s = parse_time(start, "start")
            e = parse_time(end, "end")
        except TimeInputError as exc:
            if exc.code != "naive_time":
                raise
            # Parse again knowing the owner's zone: the refusal then spells the fix.
            tz = self._owner_timezone()
            parse_time(start, "start", owner_timezone=tz)
            parse_time(end, "end", owner_timezone=tz)
            raise
        if e <= s:
            raise TimeInputError(
                "end",
                "invalid_interval",
                f"end ({e.isoformat()}) must be after start ({s.isoformat()}).",
            )
        return s, e

    def failed(self, exc: Exception) -> Failed:
        """``exc`` as a :class:`Failed` the model can act on, or re-raised (see the module
        docstring): the one error policy, for calls made outside this class too."""
        return self._fail_or_raise(exc)

    def _fail_or_raise(self, exc: Exception) -> Failed:
        parked = error_code(exc) == "consent_required"
        failed = _as_failed(exc, self._owner_timezone() if parked else None)
        if failed is None:
            raise exc
        return failed

    def _write(
        self,
        mode: Literal["commit", "hold"],
        start: datetime | str,
        end: datetime | str,
        options: dict[str, Any],
    ) -> Booked | Lost | Failed:
        try:
            s, e = self._interval(start, end)
        except TimeInputError as exc:
            return Failed(error=exc.code, message=exc.message, field=exc.field, status=422)
        options = {k: v for k, v in options.items() if v is not None}
        options.setdefault("idempotency_key", tool_call_key(mode))
        call: Callable[..., Any]
        if http_bookings.is_sdk(self.client):  # every field, and bump_until in the answer
            call = functools.partial(http_bookings.write, self.client, mode)
        else:
            call = self.client.bookings.commit if mode == "commit" else self.client.bookings.hold
        unsupported = _unsupported_options(call, options)
        if unsupported:
            return Failed(
                error="unsupported",
                field=unsupported[0],
                status=422,
                message=f"this coordinator client cannot set {', '.join(unsupported)}; "
                "nothing was booked. Call again without it.",
            )
        try:
            b = self._send(call, s, e, options)
        except Exception as exc:
            if _is_conflict(exc):
                return self._lost(mode, s, e, exc)
            failed = self._fail_or_raise(exc)
            if failed.error in RULE_ERRORS:
                alts, _ = self._alternatives(s, e)
                failed = failed.model_copy(
                    update={"alternatives": alts, "timezone": self._owner_timezone()}
                )
            return failed
        bump_until = getattr(b, "bump_until", None) if mode == "commit" else None
        return Booked(
            booking_id=b.booking_id,
            status=b.status,
            mode=mode,
            start=getattr(b, "start", None) or s,
            end=getattr(b, "end", None) or e,
            expires_at=getattr(b, "expires_at", None),
            audit_event_id=getattr(b, "audit_event_id", None),
            title=getattr(b, "title", None),
            bump_until=bump_until,
            timezone=self._owner_timezone(),
            **attachments(b),
        )

    def _send(
        self, call: Callable[..., Any], s: datetime, e: datetime, options: dict[str, Any]
    ) -> Any:
        """Make the write; resend it with the same key while its outcome is unknown."""
        key = options["idempotency_key"]
        for attempt in itertools.count():
            try:
                return call(start=s, end=e, **options)
            except Exception as exc:
                if not _outcome_unknown(exc) or attempt >= len(self.store_retry_delays):
                    try:
                        exc.idempotency_key = key  # type: ignore[attr-defined]
                    except AttributeError:
                        pass
                    raise
                time.sleep(self.store_retry_delays[attempt])  # back off before resending
        raise AssertionError("unreachable")

    def _lost(
        self, mode: Literal["commit", "hold"], s: datetime, e: datetime, exc: Exception
    ) -> Lost:
        body = getattr(exc, "body", None)
        body = body if isinstance(body, dict) else {}
        alts, note = self._alternatives(s, e)
        return Lost(
            mode=mode,
            reason=getattr(exc, "reason", None) or body.get("error") or "outranked",
            requested=Slot(start=s, end=e),
            winning_booking_id=getattr(exc, "winning_booking_id", None),
            winning_agent_id=getattr(exc, "winning_agent_id", None),
            winning_agent_name=getattr(exc, "winning_agent_name", None)
            or body.get("winning_agent_name"),
            winning_agent_priority=getattr(exc, "winning_agent_priority", None),
            your_priority=getattr(exc, "your_priority", None),
            audit_event_id=getattr(exc, "audit_event_id", None) or body.get("audit_event_id"),
            alternatives=alts,
            alternatives_note=note,
            timezone=self._owner_timezone(),
        )

    def _alternatives(self, s: datetime, e: datetime) -> tuple[list[Slot], str | None]:
        """Counter-proposals, or none plus the reason; never turns a result into an error."""
        if self.alternatives <= 0:
            return [], "alternatives are turned off"
        if not hasattr(self.client, "availability"):
            return [], "this client cannot list availability"
        try:
            alts = find_alternatives(
                self.client,
                s,
                e,
                count=self.alternatives,
                granularity_minutes=self.granularity_minutes,
                search=self.search,
            )
        except Exception as exc:
            if not isinstance(getattr(exc, "status", None), int):
                raise
            return [], f"availability lookup failed: {error_code(exc)}"
        return alts, None if alts else "no open slot of that length nearby"


__all__ = [
    "DEFAULT_SEARCH",
    "RULE_ERRORS",
    "STORE_RETRY_DELAYS",
    "BookingService",
    "TimeInputError",
    "example_times",
    "find_alternatives",
    "parse_time",
    "tool_call_key",
]
