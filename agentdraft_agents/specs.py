"""The tool set, described once: names, descriptions, argument models, and the call.

Each framework adapter (LangChain, CrewAI, AutoGen) turns these specs into its own
tool type, so a model sees the same tool names, wording and arguments whichever
framework runs it. Names follow ``agentdraft-langchain`` (``agentdraft_…``); the
MCP server keeps ``agentdraft-mcp``'s shorter names instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack

from pydantic import BaseModel, Field, ValidationError

from . import mailbox_specs
from .core import BookingService, example_times
from .environment import resolve_client
from .results import Failed, Lost, Result

_T = TypeVar("_T")

#: An instant a month after import, so the examples a model copies are never in the past.
EXAMPLE_UTC, EXAMPLE_OFFSET = example_times()
TIME_FORMAT = (
    f"ISO 8601 with Z or a UTC offset, e.g. {EXAMPLE_UTC} or {EXAMPLE_OFFSET}. "
    "A time without an offset is refused."
)


class AvailabilityInput(BaseModel):
    start: str = Field(description=f"Start of the search window, {TIME_FORMAT}")
    end: str = Field(description="End of the search window, same format")
    duration_minutes: int = Field(default=30, description="Length of the meeting to fit")
    granularity_minutes: int = Field(default=15, description="Step between candidate starts")


class BookingInput(BaseModel):
    start: str = Field(description=f"Meeting start, {TIME_FORMAT}")
    end: str = Field(description="Meeting end, same format")
    title: str | None = Field(default=None, description="Short human-readable title")
    idempotency_key: str | None = Field(
        default=None,
        description="Optional stable key so a retried call returns the original booking "
        "instead of creating a duplicate",
    )


class HoldInput(BookingInput):
    ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        description="How long to keep the hold, in seconds (default 30). Asking a person "
        "takes minutes: e.g. 900 keeps it 15 minutes. The calendar owner sets the longest "
        "allowed (an hour unless they changed it); a longer one is refused.",
    )


class RangeInput(BaseModel):
    start: str = Field(description=f"Start of the window, {TIME_FORMAT}")
    end: str = Field(description="End of the window, same format")


class HoldIdInput(BaseModel):
    hold_id: str = Field(description="The hold's id (hld_…) from agentdraft_create_hold")


class BookingIdInput(BaseModel):
    booking_id: str = Field(description="The id (bkg_… or hld_…) of one of your own bookings")


class ConsentIdInput(BaseModel):
    consent_request_id: str = Field(
        description="The approval request's id (apr_…) from a consent_required answer"
    )


class NoInput(BaseModel):
    pass


def invalid_arguments(tool: str, exc: ValidationError) -> Failed:
    """A model's arguments that did not fit, as a sentence naming the first bad field."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    return Failed(
        error="invalid_arguments",
        message=f"{field or 'arguments'}: {first['msg']}. Nothing was done; "
        f"call {tool} again with the arguments its schema lists.",
        field=field,
        status=422,
    )


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what the model is told, what it may pass, what the service does."""

    name: str
    description: str
    args: type[BaseModel]
    call: Callable[[BookingService, Any], Result]
    #: A lost race is an error for this tool (the plain booking tool) instead of a result.
    lost_is_error: bool = False

    def run(self, service: BookingService, arguments: dict[str, Any]) -> Result:
        """Validate the model's arguments against ``args`` and make the call."""
        return self.call(service, self.args(**arguments))

    async def arun(self, service: BookingService, arguments: dict[str, Any]) -> Result:
        return await asyncio.to_thread(self.run, service, arguments)

    def invoke(self, service: BookingService, arguments: dict[str, Any]) -> Result:
        """:meth:`run` for frameworks that hand over the model's raw arguments.

        Arguments that do not fit ``args`` come back as a :class:`Failed` naming the
        field (``invalid_arguments``), so the model reads what to fix instead of a
        validation dump; frameworks that validate first never reach this branch.
        """
        try:
            arguments = self.args.model_validate(arguments).model_dump()
        except ValidationError as exc:
            return invalid_arguments(self.name, exc)
        return self.run(service, arguments)

    async def ainvoke(self, service: BookingService, arguments: dict[str, Any]) -> Result:
        return await asyncio.to_thread(self.invoke, service, arguments)

    def is_error(self, result: Result) -> bool:
        """Whether the framework should flag ``result`` to the model as a failed call."""
        return isinstance(result, Failed) or (isinstance(result, Lost) and self.lost_is_error)

    def text(self, result: Result) -> str:
        """What the model reads: one sentence per outcome, naming this tool where it helps."""
        if isinstance(result, Lost | Failed):
            return result.text(self.name)
        return result.text()


def _write(kind: str) -> Callable[[BookingService, Any], Result]:
    def call(svc: BookingService, a: BookingInput) -> Result:
        if isinstance(a, HoldInput):
            return svc.hold(
                a.start,
                a.end,
                title=a.title,
                idempotency_key=a.idempotency_key,
                hold_ttl_seconds=a.ttl_seconds,
            )
        return svc.commit(a.start, a.end, title=a.title, idempotency_key=a.idempotency_key)

    return call


WHOAMI = ToolSpec(
    "agentdraft_whoami",
    "Return your agent id, your priority among the calendar owner's agents (1 is highest) "
    "and the owner's timezone, so you can write times with the right offset.",
    NoInput,
    lambda svc, a: svc.identity(),
)
AVAILABILITY = ToolSpec(
    "agentdraft_get_availability",
    "Get the calendar slots open to this agent between two times. Call this before "
    "proposing or committing a meeting. Returns free start/end ranges; an empty result "
    "means propose a different window. Times are ISO 8601 with Z or an offset "
    f"({EXAMPLE_UTC}).",
    AvailabilityInput,
    lambda svc, a: svc.availability(
        a.start,
        a.end,
        duration_minutes=a.duration_minutes,
        granularity_minutes=a.granularity_minutes,
    ),
)
COMMIT = ToolSpec(
    "agentdraft_commit_booking",
    "Commit a final booking on the calendar through AgentDraft. If a higher-priority agent "
    "already holds the slot, this tool raises an error naming the winner and nearby open "
    "slots. For autonomous agents that should recover from a lost race on their own, prefer "
    "agentdraft_commit_booking_safe instead.",
    BookingInput,
    _write("commit"),
    lost_is_error=True,
)
COMMIT_SAFE = ToolSpec(
    "agentdraft_commit_booking_safe",
    "Commit a final booking on the calendar through AgentDraft. If a higher-priority agent "
    "already holds the slot, this returns an 'OUTRANKED' result instead of an error: it "
    "names the winner and lists the nearest open slots of the same length. Book one of "
    "those (or ask your user) rather than retrying the same slot. Recommended for "
    "autonomous agents.",
    BookingInput,
    _write("commit"),
)
HOLD = ToolSpec(
    "agentdraft_create_hold",
    "Reserve a slot tentatively while you confirm with someone. Holds expire on their own "
    "after ttl_seconds (30 s unless you ask for longer: ask for enough time to reach your "
    "user); the answer says when it lapses. Commit the same start and end with the booking "
    "tool to make it final, or release it. If another agent has the slot this returns an "
    "OUTRANKED result with nearby open slots.",
    HoldInput,
    _write("hold"),
)
RELEASE = ToolSpec(
    "agentdraft_release_hold",
    "Release one of your holds so other agents can take the slot before it expires.",
    HoldIdInput,
    lambda svc, a: svc.release(a.hold_id),
)
CANCEL = ToolSpec(
    "agentdraft_cancel_booking",
    "Cancel one of your own committed bookings; the slot opens to other agents at once. "
    "You cannot cancel another agent's booking.",
    BookingIdInput,
    lambda svc, a: svc.cancel(a.booking_id),
)

GET_BOOKING = ToolSpec(
    "agentdraft_get_booking",
    "Read one booking as it stands now: whether it is still on the calendar, until when a "
    "higher-priority agent may still displace it, or who displaced or ended it. A commit is "
    "not final until its bump window closes; check it after that time.",
    BookingIdInput,
    lambda svc, a: svc.get_booking(a.booking_id),
)
LIST_MY_BOOKINGS = ToolSpec(
    "agentdraft_list_my_bookings",
    "List your own bookings and holds that overlap a time window, in start order, with "
    "each one's status now: on the calendar (and until when it may still be displaced), "
    "or ended and by whom. Use it to see what you already booked before booking again. "
    f"Times are ISO 8601 with Z or an offset ({EXAMPLE_UTC}).",
    RangeInput,
    lambda svc, a: svc.list_bookings(a.start, a.end),
)
CHECK_APPROVAL = ToolSpec(
    "agentdraft_check_approval",
    "Read whether a person approved a booking the owner's approval gate parked "
    "(consent_required): pending, approved and booked, approved but taken meanwhile, "
    "denied, or expired. Call it when your user says they decided.",
    ConsentIdInput,
    lambda svc, a: svc.check_approval(a.consent_request_id),
)


#: The mailbox tools (list, read, send, reply, check a suppression): :mod:`.mailbox_specs`.
MAILBOX: tuple[ToolSpec, ...] = tuple(ToolSpec(*t) for t in mailbox_specs.TOOLS)


#: Tools other modules add after the default set (``counter_specs`` registers its own).
EXTRA_SPECS: list[ToolSpec] = []


def recommended(
    *, conflict_aware: bool = True, holds: bool = True, mailbox: bool = False
) -> list[ToolSpec]:
    """The default tool set, in the order an agent is shown it (``mailbox`` adds the mail tools)."""
    specs = [WHOAMI, AVAILABILITY, COMMIT_SAFE if conflict_aware else COMMIT]
    if holds:
        specs += [HOLD, RELEASE]
    return [
        *specs,
        CANCEL,
        GET_BOOKING,
        LIST_MY_BOOKINGS,
        CHECK_APPROVAL,
        *EXTRA_SPECS,
        *(MAILBOX if mailbox else ()),
    ]


class ToolOptions(TypedDict, total=False):
    """The options every adapter's ``get_tools`` takes besides the client."""

    #: The booking tool answers a lost race as a result (default) or as an error.
    conflict_aware: bool
    #: Include the hold and release tools (default True).
    holds: bool
    #: Include the mailbox tools (default False; the agent needs the mailbox scopes).
    mailbox: bool
    #: How many open slots a lost race offers (default 3; 0 turns the search off).
    alternatives: int
    #: Receives every typed result, for code (most frameworks show the model text only).
    on_result: Callable[[Result], None] | None
    #: When no client is passed: see :func:`~agentdraft_agents.environment.resolve_client`.
    api_key: str | None
    base_url: str | None
    data_dir: str | os.PathLike[str] | None
    agent_name: str | None


_ENVIRONMENT = ("api_key", "base_url", "data_dir", "agent_name")


def bind(
    client: Any = None, **options: Unpack[ToolOptions]
) -> tuple[BookingService, list[ToolSpec]]:
    """One agent's service and its recommended specs: what every adapter's ``get_tools`` wraps.

    ``client`` (or the environment, see :func:`~agentdraft_agents.environment.resolve_client`)
    fixes the agent identity once, so no tool ever takes an agent as an argument.
    """
    environment: dict[str, Any] = {k: v for k, v in options.items() if k in _ENVIRONMENT}
    service = BookingService(
        resolve_client(client, **environment),
        alternatives=options.get("alternatives", 3),
        on_result=options.get("on_result"),
    )
    chosen = recommended(
        conflict_aware=options.get("conflict_aware", True),
        holds=options.get("holds", True),
        mailbox=options.get("mailbox", False),
    )
    return service, chosen


def build(
    make: Callable[[ToolSpec, BookingService], _T],
    client: Any = None,
    **options: Unpack[ToolOptions],
) -> list[_T]:
    """``make(spec, service)`` for each recommended spec: an adapter's whole ``get_tools``."""
    service, chosen = bind(client, **options)
    return [make(s, service) for s in chosen]


__all__ = [
    "AVAILABILITY",
    "CANCEL",
    "CHECK_APPROVAL",
    "COMMIT",
    "COMMIT_SAFE",
    "EXTRA_SPECS",
    "GET_BOOKING",
    "HOLD",
    "LIST_MY_BOOKINGS",
    "MAILBOX",
    "RELEASE",
    "TIME_FORMAT",
    "WHOAMI",
    "AvailabilityInput",
    "BookingIdInput",
    "BookingInput",
    "ConsentIdInput",
    "HoldIdInput",
    "HoldInput",
    "NoInput",
    "RangeInput",
    "ToolOptions",
    "ToolSpec",
    "bind",
    "build",
    "invalid_arguments",
    "recommended",
]
