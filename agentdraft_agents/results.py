"""What a tool call produced, as data for code and as a sentence for the model.

Every framework adapter returns one of these models: LangChain puts the text in
the ``ToolMessage`` and the model's JSON in its artifact, MCP sends the JSON as
``structuredContent``, CrewAI and AutoGen hand the text to their model. So the
wording a model sees after a lost race is written once, here, and is the same
in every framework.

A lost race is an ordinary :class:`Lost` result, not an error: losing to a
better-ranked sibling is the coordinator working as designed, and the model's
next move (take an offered alternative, or ask its user) is a normal one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from .mailbox_results import MailboxResult

#: How many slots an availability answer lists in its text; the artifact has all of them.
MAX_SLOTS_IN_TEXT = 40
#: The tool a lost race's text points to for a counter-offer (MCP names it counter_offer).
COUNTER_TOOL = "agentdraft_counter_offer"


def iso(value: datetime) -> str:
    """One spelling of an instant for every tool text: ISO 8601 with its offset."""
    return value.isoformat()


def _zone(timezone: str | None) -> ZoneInfo | None:
    """The owner's zone when it is known and not UTC (a UTC wall clock says nothing new)."""
    try:
        return ZoneInfo(timezone) if timezone and timezone != "UTC" else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local(value: datetime, timezone: str | None) -> str:
    """``value`` in UTC and, when the owner's zone is known and not UTC, on their wall clock."""
    utc = iso(value.astimezone(UTC))
    zone = _zone(timezone)
    if zone is None:
        return utc
    return f"{utc} ({iso(value.astimezone(zone))} in the owner's timezone {timezone})"


def span(start: datetime, end: datetime, timezone: str | None) -> str:
    """``start to end`` in UTC and, for an owner outside UTC, on their wall clock too."""
    utc = f"{iso(start.astimezone(UTC))} to {iso(end.astimezone(UTC))}"
    zone = _zone(timezone)
    if zone is None:
        return utc
    wall = f"{iso(start.astimezone(zone))} to {iso(end.astimezone(zone))}"
    return f"{utc} ({wall} in the owner's timezone {timezone})"


def agent(name: str | None, agent_id: str | None, priority: int | None) -> str:
    """Another agent as a person reads it: its name and priority, then its id."""
    if name:
        return f"agent {name} (priority {priority}; id {agent_id})"
    return f"agent {agent_id} (priority {priority})"


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def text(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def data(self) -> dict[str, Any]:
        """The JSON-ready form (datetimes as ISO text), for artifacts and MCP payloads."""
        return self.model_dump(mode="json")


class Slot(BaseModel):
    """A half-open range ``[start, end)``, timezone-aware."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime

    def text(self, timezone: str | None = None) -> str:
        """``start=… end=…`` (the values to pass back), then the owner's wall clock."""
        out = f"start={iso(self.start)} end={iso(self.end)}"
        zone = _zone(timezone)
        if zone is None:
            return out
        wall = f"{iso(self.start.astimezone(zone))} to {iso(self.end.astimezone(zone))}"
        return f"{out} ({wall} in the owner's timezone {timezone})"


def attached(url: str | None, status: str | None, receipt: str | None) -> str:
    """The booking's conferencing link and signed receipt, as sentences ('' when neither)."""
    out = ""
    if url:
        out += f" Meeting link: {url}"
    elif status and status != "attached":
        out += f" No meeting link could be made ({status})."
    if receipt:
        out += (
            " Signed booking receipt (a person approved it; anyone can verify it offline "
            f"against the coordinator's /.well-known/jwks.json): {receipt}"
        )
    return out


class Booked(_Result):
    """The write won: the slot is the agent's (committed, or held until ``expires_at``)."""

    outcome: Literal["booked"] = "booked"
    booking_id: str
    status: str
    mode: Literal["commit", "hold"]
    start: datetime
    end: datetime
    expires_at: datetime | None = None
    audit_event_id: str | None = None
    title: str | None = None
    #: Until when a better-ranked agent may still displace this commit (server clock).
    bump_until: datetime | None = None
    #: The owner's timezone, to say every time on their wall clock too.
    timezone: str | None = None
    #: The meeting link made with the commit (``with_conferencing``), or why there is none.
    conferencing_url: str | None = None
    conferencing_status: str | None = None
    #: The signed ``booking_receipt`` of a person's approval, when one booked it.
    receipt: str | None = None

    def text(self) -> str:
        return self._text() + attached(
            self.conferencing_url, self.conferencing_status, self.receipt
        )

    def _text(self) -> str:
        when = span(self.start, self.end, self.timezone)
        if self.mode == "hold":
            until = (
                f" It lapses at {local(self.expires_at, self.timezone)} unless you commit it."
                if self.expires_at
                else ""
            )
            return (
                f"HELD {when} as {self.booking_id}.{until} "
                "Commit the same start and end to make it final, or release the hold."
            )
        out = f"Committed booking {self.booking_id} (status={self.status}) from {when}."
        if self.bump_until is not None:
            out += (
                " Not final yet: a higher-priority agent may still displace it until "
                f"{local(self.bump_until, self.timezone)}. After that, call "
                f"agentdraft_get_booking with {self.booking_id} to confirm it stands."
            )
        return out


class BookingState(_Result):
    """One booking as it stands now: live, or ended and by whom."""

    outcome: Literal["booking"] = "booking"
    booking_id: str
    status: str
    mode: str
    start: datetime
    end: datetime
    agent_id: str
    priority: int
    bump_until: datetime | None = None
    expires_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by_agent_id: str | None = None
    ended_by_priority: int | None = None
    ended_by_agent_name: str | None = None
    ended_by_booking_id: str | None = None
    end_reason: str | None = None
    title: str | None = None
    timezone: str | None = None
    #: The booking's meeting link (or why none was made) and its signed receipt, if any.
    conferencing_url: str | None = None
    conferencing_status: str | None = None
    receipt: str | None = None

    def text(self) -> str:
        live = self.status in ("COMMITTED", "HOLD") and not self.end_reason
        extra = attached(self.conferencing_url, self.conferencing_status, self.receipt)
        return self._text() + (extra if live else "")

    def _text(self) -> str:
        when = span(self.start, self.end, self.timezone)
        head = f"Booking {self.booking_id} from {when} is {self.status}"
        if self.ended_by_agent_id:
            who = agent(self.ended_by_agent_name, self.ended_by_agent_id, self.ended_by_priority)
            return (
                f"{head}: {who} displaced it with {self.ended_by_booking_id}. It is not on "
                "the calendar; book another slot or ask your user."
            )
        if self.end_reason:
            return f"{head} ({self.end_reason}). It is not on the calendar."
        if self.status in ("COMMITTED", "HOLD"):
            now = datetime.now(UTC)
            if self.bump_until is not None and self.bump_until > now:
                until = local(self.bump_until, self.timezone)
                return f"{head}; a higher-priority agent may still displace it until {until}."
            if self.status == "HOLD" and self.expires_at is not None:
                return f"{head} until {local(self.expires_at, self.timezone)}, then it lapses."
            return f"{head} and final: no agent can displace it any more."
        return f"{head}. It is not on the calendar."


class BookingList(_Result):
    """The calling agent's own bookings in a window, ended ones included, in start order."""

    outcome: Literal["bookings"] = "bookings"
    start: datetime
    end: datetime
    bookings: list[BookingState]
    #: More bookings lie in the window than are listed: narrow it.
    more: bool = False
    timezone: str | None = None

    def text(self) -> str:
        window = span(self.start, self.end, self.timezone)
        if not self.bookings:
            return f"You have no bookings from {window}."
        live = sum(b.status in ("COMMITTED", "HOLD") for b in self.bookings)
        lines = [
            f"{len(self.bookings)} booking(s) of yours from {window}, {live} of them on the "
            "calendar:"
        ]
        lines += [f"- {b.text()}" for b in self.bookings]
        if self.more:
            lines.append("... and more; narrow the window.")
        return "\n".join(lines)


class Lost(_Result):
    """The write lost the slot to another agent; nothing of it is on the calendar.

    Carries who won (agent, priority, booking, audit entry) and, when the client
    can list availability, the nearest open slots of the same length.
    """

    outcome: Literal["lost"] = "lost"
    mode: Literal["commit", "hold"]
    #: ``outranked`` (equal or better priority holds it) or ``frozen`` (a worse-ranked
    #: commit holds it but can no longer be bumped).
    reason: str
    requested: Slot
    winning_booking_id: str | None = None
    winning_agent_id: str | None = None
    #: The winner's agent name, when the coordinator gives it (this project's servers do).
    winning_agent_name: str | None = None
    winning_agent_priority: int | None = None
    your_priority: int | None = None
    audit_event_id: str | None = None
    alternatives: list[Slot] = Field(default_factory=list)
    #: Why ``alternatives`` is empty, when it is.
    alternatives_note: str | None = None
    #: The owner's timezone, to say each time on their wall clock too.
    timezone: str | None = None

    def text(self, booking_tool: str = "the booking tool", counter_tool: str = COUNTER_TOOL) -> str:
        who = agent(self.winning_agent_name, self.winning_agent_id, self.winning_agent_priority)
        slot = span(self.requested.start, self.requested.end, self.timezone)
        if self.reason == "frozen":
            why = (
                f"{who} holds it and that booking is final (its bump window has closed), "
                f"so your priority {self.your_priority} cannot displace it."
            )
        else:
            why = f"{who} holds it; you are priority {self.your_priority}."
        lines = [f"OUTRANKED — not booked. {slot} is taken: {why} Do not retry this slot."]
        if self.winning_booking_id and counter_tool:
            lines.append(
                "If this time matters, you may offer the winner's agent up to 5 other times "
                f"instead: call {counter_tool} with booking_id={self.winning_booking_id}."
            )
        if self.alternatives:
            lines.append(
                "Nearest open slots of the same length (call "
                f"{booking_tool} with one of them, or offer them to your user):"
            )
            lines += [f"{i}. {s.text(self.timezone)}" for i, s in enumerate(self.alternatives, 1)]
        else:
            lines.append(
                "No alternative slot was found"
                + (f" ({self.alternatives_note})" if self.alternatives_note else "")
                + ". Look up availability for another window or ask your user."
            )
        return "\n".join(lines)

    def mcp_payload(self) -> dict[str, Any]:
        """agentdraft-mcp's outranked payload (``error: "outranked"``) plus what we add."""
        return {
            "error": "outranked",
            "message": self.text("commit_booking", "counter_offer"),
            **self.data(),
        }


class Failed(_Result):
    """The request could not be carried out for a reason the model can act on.

    Bad input (a naive time, end before start), a broken owner rule, a hold that
    already ended, someone else's booking. Infrastructure failures (the store is
    down, the key is invalid, rate limits) are raised instead: no rewording of the
    request fixes them.
    """

    outcome: Literal["error"] = "error"
    #: Machine code: ``naive_time``, ``invalid_request``, ``outside_working_hours``, …
    error: str
    message: str
    field: str | None = None
    status: int | None = None
    #: For a broken owner rule on a write: open slots of the same length nearby.
    alternatives: list[Slot] = Field(default_factory=list)
    #: For ``consent_required``: the request a person approves or denies, the hold that
    #: parks the slot meanwhile, and when both lapse. Code waits on these, not on text.
    consent_request_id: str | None = None
    hold_id: str | None = None
    expires_at: datetime | None = None
    #: The owner's timezone, for the alternatives' wall-clock times.
    timezone: str | None = None

    def text(self, booking_tool: str = "the booking tool") -> str:
        where = f" ({self.field})" if self.field else ""
        out = f"ERROR {self.error}{where}: {self.message}"
        if self.alternatives:
            out += (
                f"\nOpen slots of the same length nearby (call {booking_tool} with one):\n"
                + "\n".join(
                    f"{i}. {s.text(self.timezone)}" for i, s in enumerate(self.alternatives, 1)
                )
            )
        return out


class Released(_Result):
    """A hold given back before its TTL ran out."""

    outcome: Literal["released"] = "released"
    hold_id: str

    def text(self) -> str:
        return f"Released hold {self.hold_id}; the slot is open to other agents again."


class Cancelled(_Result):
    """A booking the agent itself made, cancelled."""

    outcome: Literal["cancelled"] = "cancelled"
    booking_id: str

    def text(self) -> str:
        return f"Cancelled booking {self.booking_id}; the slot is open to other agents again."


class Availability(_Result):
    """Open slots of one length inside a search window."""

    outcome: Literal["availability"] = "availability"
    start: datetime
    end: datetime
    duration_minutes: int
    slots: list[Slot]
    #: The owner's timezone, to say each slot on their wall clock too.
    timezone: str | None = None

    def text(self) -> str:
        if not self.slots:
            return (
                f"No open {self.duration_minutes}-minute slots from "
                f"{span(self.start, self.end, self.timezone)}. Try a different window or ask "
                "your user."
            )
        shown = self.slots[:MAX_SLOTS_IN_TEXT]
        lines = [f"{len(self.slots)} open slot(s):"]
        lines += [f"- {span(s.start, s.end, self.timezone)}" for s in shown]
        if len(self.slots) > len(shown):
            lines.append(f"... and {len(self.slots) - len(shown)} more; narrow the window.")
        return "\n".join(lines)


class Identity(_Result):
    """Who the tools act as: bound when they were built, never chosen by the model."""

    outcome: Literal["identity"] = "identity"
    agent_id: str
    user_id: str | None = None
    priority: int
    scopes: list[str] = Field(default_factory=list)
    timezone: str = "UTC"

    def text(self) -> str:
        return (
            f"You are agent {self.agent_id} (priority {self.priority}; 1 is highest) booking on "
            f"calendar {self.user_id}, whose owner's timezone is {self.timezone}."
        )


class ApprovalStatus(_Result):
    """Where a person's approval of a parked booking stands, read from the coordinator.

    ``status`` is ``pending``, ``approved``, ``denied`` or ``expired``; an approved
    booking's ``booking_outcome`` is ``committed`` (``booking_id``) or ``conflict``
    (a better booking took the slot meanwhile: ``winning_booking_id``).
    """

    outcome: Literal["approval"] = "approval"
    consent_request_id: str
    status: str
    hold_id: str | None = None
    expires_at: datetime | None = None
    booking_outcome: str | None = None
    booking_id: str | None = None
    winning_booking_id: str | None = None
    #: Who took the slot before the person decided (this project's servers say).
    winning_agent_id: str | None = None
    winning_agent_name: str | None = None
    winning_agent_priority: int | None = None
    timezone: str | None = None

    def text(self) -> str:
        rid = self.consent_request_id
        if self.status == "pending":
            until = f" until {local(self.expires_at, self.timezone)}" if self.expires_at else ""
            return (
                f"Approval request {rid} is still pending: the slot stays held as "
                f"{self.hold_id}{until}. Nothing is booked yet; do not book another slot "
                "for this meeting meanwhile."
            )
        if self.status == "approved" and self.booking_outcome == "committed":
            return f"APPROVED — request {rid} was approved and booked as {self.booking_id}."
        if self.status == "approved":
            winner = agent(
                self.winning_agent_name, self.winning_agent_id, self.winning_agent_priority
            )
            by = f" of {winner}" if self.winning_agent_id else ""
            return (
                f"Approved, but not booked: a higher-priority booking ({self.winning_booking_id})"
                f"{by} took the slot before request {rid} was decided. Look up availability for "
                "another slot or ask your user."
            )
        if self.status == "denied":
            return (
                f"DENIED — the person denied request {rid}; nothing was booked and the hold "
                "was released. Do not book this slot again."
            )
        return (
            f"Request {rid} {self.status}: nothing was booked and the hold was released. "
            "Ask your user before trying again."
        )


class CounterState(_Result):
    """A counter-offer: other times offered to a booking's agent, and its answer.

    ``mine`` is True when the agent reading it made the offer (it waits for the answer),
    False when the offer is on its own booking (it answers).
    """

    outcome: Literal["counter"] = "counter"
    counter_id: str
    booking_id: str
    #: Who offered it, and the booking's agent (the only one who answers it).
    agent_id: str
    winner_agent_id: str
    proposed: list[Slot]
    note: str | None = None
    status: str
    slot_index: int | None = None
    new_booking_id: str | None = None
    mine: bool = False

    def text(self) -> str:
        cid, bid = self.counter_id, self.booking_id
        slots = "\n".join(f"{i}. {s.text()}" for i, s in enumerate(self.proposed))
        note = f"\nTheir note: {self.note}" if self.note else ""
        if self.status == "pending" and self.mine:
            return (
                f"COUNTER-OFFER SENT — {cid} asks agent {self.winner_agent_id} to move booking "
                f"{bid} to one of these times (nothing is booked for you yet):\n{slots}\n"
                "It is pending until that agent accepts or rejects it; read the answer by "
                f"listing counters with booking_id={bid} and counter_id={cid}."
            )
        if self.status == "pending":
            return (
                f"Counter-offer {cid} from agent {self.agent_id} asks you to move your booking "
                f"{bid} to one of these times (slot_index. slot):\n{slots}{note}\n"
                "Answer it once: accept with the slot_index you take (your booking moves "
                "there), or reject it (your booking stays)."
            )
        if self.status == "accepted":
            chosen = self.proposed[self.slot_index or 0]
            out = (
                f"ACCEPTED — counter-offer {cid}: booking {bid} moved to {chosen.text()} as "
                f"{self.new_booking_id}; its old slot is free again."
            )
            if self.mine:
                out += " Book the time you wanted now, before another agent takes it."
            return out
        what = "rejected" if self.status == "rejected" else "superseded by another accepted one"
        tail = " Look for another time or ask your user." if self.mine else ""
        return f"Counter-offer {cid} on booking {bid} was {what}; booking {bid} stays.{tail}"


class CounterList(_Result):
    """The counter-offers on one of the agent's bookings, oldest first."""

    outcome: Literal["counters"] = "counters"
    booking_id: str
    counters: list[CounterState]

    def text(self) -> str:
        if not self.counters:
            return f"No counter-offers on booking {self.booking_id}."
        body = "\n\n".join(c.text() for c in self.counters)
        return f"{len(self.counters)} counter-offer(s) on booking {self.booking_id}:\n\n{body}"


WriteResult = Annotated[Booked | Lost | Failed, Field(discriminator="outcome")]
"""What a commit or hold returns."""

Result = (
    Booked
    | Lost
    | Failed
    | Released
    | Cancelled
    | Availability
    | Identity
    | ApprovalStatus
    | BookingState
    | BookingList
    | MailboxResult
    | CounterState
    | CounterList
)

__all__ = [
    "ApprovalStatus",
    "Availability",
    "Booked",
    "BookingList",
    "BookingState",
    "Cancelled",
    "CounterList",
    "CounterState",
    "Failed",
    "Identity",
    "Lost",
    "Released",
    "Result",
    "Slot",
    "WriteResult",
    "agent",
    "iso",
    "local",
    "span",
]
