"""An MCP server with ``agentdraft-mcp``'s tools, on the embedded coordinator or a server.

Run it over stdio (what Claude Desktop, Cursor or any MCP client launches)::

    agentdraft-mcp-local                        # embedded default agent (see environment.py)
    AGENTDRAFT_AGENT_NAME=recruiter agentdraft-mcp-local
    AGENTDRAFT_BASE_URL=https://… AGENTDRAFT_API_KEY=avs_live_… agentdraft-mcp-local

Tools (same names and arguments as ``agentdraft-mcp``): ``whoami``,
``get_availability``, ``create_hold``, ``release_hold``, ``commit_booking``,
``cancel_booking``; plus ``get_booking`` (is it still on the calendar, or who
displaced it), ``list_my_bookings`` (the agent's own bookings in a window) and
``check_approval`` (a person's decision on a parked booking); and
multi-slot negotiation with sibling agents (:mod:`.proposal_calls`): ``create_proposal``,
``get_proposal``, ``list_proposals``, ``respond_to_proposal``, ``resolve_proposal``,
``cancel_proposal``.
Every answer carries ``structuredContent`` (fitting the tool's ``outputSchema``, see
:mod:`.mcp_payloads`) and the same JSON as text. A lost race
is a normal result with agentdraft-mcp's outranked payload
(``error: "outranked"``, ``winning_agent_id``, ``winning_agent_priority``,
``your_priority``, ``message``) plus ``reason``, ``audit_event_id``, ``requested``
and ``alternatives``: the nearest open slots of the same length. Input the model
must fix (a time without an offset, a broken owner rule) is an error result
(``isError``) with ``{error, message, detail}``.

The server's agent identity is fixed when it starts; no tool takes an agent id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

try:
    from mcp.server.fastmcp import FastMCP
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the MCP server needs the mcp package: pip install 'agentdraft-agents[mcp]'"
    ) from exc

from coordinator.proposals import Proposal, Resolution

from . import counter_specs, mailbox_specs, specs
from . import proposal_calls as proposals
from .core import BookingService
from .environment import resolve_client
from .mailbox_specs import MailboxCalls
from .mcp_payloads import (
    ApprovalPayload,
    AvailabilityPayload,
    BookedPayload,
    BookingListPayload,
    BookingPayload,
    CancelledPayload,
    CounterListPayload,
    CounterPayload,
    IdentityPayload,
    MailListPayload,
    MailMessagePayload,
    MailSentPayload,
    OutrankedPayload,
    ReleasedPayload,
    SuppressionPayload,
    output,
)
from .proposal_calls import CounterSlot, ProposalCalls, ProposalList, Response, SlotOffer
from .results import Availability, Booked, Cancelled, Failed, Identity, Lost, Released, Result

INSTRUCTIONS = (
    "AgentDraft coordinates several AI agents booking one person's calendar. Call "
    "get_availability before proposing a slot, create_hold to reserve it tentatively, "
    "commit_booking to make it final. Times are ISO 8601 with Z or an offset; times "
    "without one are refused. A losing booking returns a structured outranked payload: "
    "it names the winner and its priority and lists the nearest open alternatives of the "
    "same length; book one of those or ask your user, never retry the same slot. To agree "
    "a time with sibling agents, create_proposal offers them candidate slots; they answer "
    "with respond_to_proposal."
)


#: Argument types with the descriptions MCP clients show in each tool's input schema.
Start = Annotated[str, Field(description=f"Start, {specs.TIME_FORMAT}")]
End = Annotated[str, Field(description="End, same format as start")]
IdempotencyKey = Annotated[
    str | None,
    Field(description="Optional stable key: a retried call returns the original booking"),
]
Metadata = Annotated[dict[str, Any] | None, Field(description="Optional JSON kept on the booking")]
Title = Annotated[str | None, Field(description="Short human-readable title")]
Invitee = Annotated[
    dict[str, Any] | None, Field(description="Optional invitee, e.g. {name, email}")
]

#: Each tool's result: ``CallToolResult`` whose ``structuredContent`` fits the model, which
#: FastMCP publishes as the tool's ``outputSchema`` (and checks every answer against).
IdentityOut = Annotated[CallToolResult, output(IdentityPayload)]
AvailabilityOut = Annotated[CallToolResult, output(AvailabilityPayload)]
WriteOut = Annotated[CallToolResult, output(BookedPayload, OutrankedPayload)]
ReleasedOut = Annotated[CallToolResult, output(ReleasedPayload)]
CancelledOut = Annotated[CallToolResult, output(CancelledPayload)]
BookingOut = Annotated[CallToolResult, output(BookingPayload)]
BookingListOut = Annotated[CallToolResult, output(BookingListPayload)]
ApprovalOut = Annotated[CallToolResult, output(ApprovalPayload)]
ProposalOut = Annotated[CallToolResult, output(Proposal)]
ProposalListOut = Annotated[CallToolResult, output(ProposalList)]
ResolutionOut = Annotated[CallToolResult, output(Resolution)]
MailListOut = Annotated[CallToolResult, output(MailListPayload)]
MailMessageOut = Annotated[CallToolResult, output(MailMessagePayload)]
MailSentOut = Annotated[CallToolResult, output(MailSentPayload)]
SuppressionOut = Annotated[CallToolResult, output(SuppressionPayload)]
ProposalId = Annotated[str, Field(description="The proposal's id (spr_…)")]
CounterOut = Annotated[CallToolResult, output(CounterPayload)]
CounterListOut = Annotated[CallToolResult, output(CounterListPayload, CounterPayload)]
MessageId = Annotated[str, Field(description="The message's id (msg_…)")]

#: What a proposal call answers besides the booking results.
Answer = Result | Proposal | Resolution | ProposalList


def _hints(
    *, read_only: bool, destructive: bool = False, idempotent: bool, open_world: bool = False
) -> ToolAnnotations:
    """MCP tool annotations; only sending mail reaches beyond the coordinator (open world)."""
    return ToolAnnotations(
        readOnlyHint=read_only,
        destructiveHint=destructive,
        idempotentHint=idempotent,
        openWorldHint=open_world,
    )


def package_version() -> str:
    """This package's version, for ``serverInfo`` (FastMCP would report the mcp library's)."""
    try:
        return version("agentdraft-agents")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def payload(result: Answer) -> dict[str, Any]:
    """agentdraft-mcp's JSON for a result (plus our additions)."""
    if isinstance(result, Proposal | Resolution | ProposalList):
        return result.model_dump(mode="json")
    if isinstance(result, Lost):
        return result.mcp_payload()
    if isinstance(result, Failed):
        consent = {
            k: v
            for k, v in (
                ("consent_request_id", result.consent_request_id),
                ("hold_id", result.hold_id),
            )
            if v is not None
        }
        return {
            "error": result.error,
            "message": result.text("commit_booking"),
            "detail": {
                "field": result.field,
                "status": result.status,
                "alternatives": result.data()["alternatives"],
                **consent,
            },
        }
    data = result.data()
    data.pop("outcome", None)
    if isinstance(result, Booked):
        data.pop("mode")
        return {k: v for k, v in data.items() if v is not None}
    if isinstance(result, Released):
        return {"released": True, "hold_id": result.hold_id}
    if isinstance(result, Cancelled):
        return {"cancelled": True, "booking_id": result.booking_id}
    if isinstance(result, Availability):
        return {"slots": data["slots"]}
    return data


def to_mcp(result: Answer) -> CallToolResult:
    body = payload(result)
    return CallToolResult(
        # Readable text: an em dash, not \u2014, in what a model or person reads.
        content=[TextContent(type="text", text=json.dumps(body, ensure_ascii=False))],
        structuredContent=body,
        isError=isinstance(result, Failed),
    )


class AgentDraftMCP(FastMCP):
    """FastMCP that answers arguments which do not fit with the tools' own error shape.

    FastMCP would send the raw pydantic dump (with a documentation URL) as text; the
    model gets ``{error: "invalid_arguments", message, detail}`` naming the field instead.
    """

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        try:
            return await super().call_tool(name, arguments)
        except ToolError as exc:
            cause = exc.__cause__
            # Only the arguments' model: a result that broke its outputSchema is our bug.
            if isinstance(cause, ValidationError) and cause.title.endswith("Arguments"):
                return to_mcp(specs.invalid_arguments(name, cause))
            raise


def _options(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v not in (None, False)}


def build_server(
    client: Any = None,
    *,
    name: str = "agentdraft",
    service_for: Callable[[], BookingService] | None = None,
    **environment: Any,
) -> FastMCP:
    """A FastMCP server whose tools act as one agent, bound now.

    ``client`` defaults to :func:`~agentdraft_agents.environment.resolve_client`'s
    choice; ``environment`` passes ``data_dir``/``agent_name``/``alternatives`` on.
    ``service_for`` instead picks the agent per call (the HTTP transport binds each
    request to the agent whose key it carries, see :mod:`.mcp_http`).
    """
    if service_for is None:
        alternatives = environment.pop("alternatives", 3)
        bound = BookingService(resolve_client(client, **environment), alternatives=alternatives)
        service_for = lambda: bound  # noqa: E731 - one agent for the server's life
    svc = service_for
    mcp = AgentDraftMCP(name, instructions=INSTRUCTIONS, log_level="WARNING")
    mcp._mcp_server.version = package_version()  # FastMCP has no argument for it

    @mcp.tool(
        title="Who am I",
        description="Return the calling agent's identity, priority (1 is highest), scopes, "
        "and the owner's timezone (so times can be written with the right offset).",
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def whoami() -> IdentityOut:
        me: Identity = await svc().aidentity()
        return to_mcp(me)

    @mcp.tool(
        title="Get availability",
        description="List slots open to the calling agent within [start, end). Times are "
        f"ISO 8601 with Z or an offset ({specs.EXAMPLE_UTC}). The result is filtered through "
        "the owner's rules and live holds of sibling agents.",
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def get_availability(
        start: Start,
        end: End,
        duration_minutes: Annotated[int, Field(description="Length of the meeting")] = 30,
        granularity_minutes: Annotated[
            int, Field(description="Step between candidate starts")
        ] = 15,
        include_holds: Annotated[
            bool, Field(description="Treat sibling agents' live holds as busy")
        ] = True,
    ) -> AvailabilityOut:
        return to_mcp(
            await svc().aavailability(
                start,
                end,
                duration_minutes=duration_minutes,
                granularity_minutes=granularity_minutes,
                include_holds=include_holds,
            )
        )

    @mcp.tool(
        title="Hold a slot",
        description="Reserve a slot tentatively. Holds expire after ttl_seconds (30 s unless "
        "you ask for longer: ask for enough time to reach your user; the calendar owner sets "
        "the longest allowed); the answer says when it lapses. A commit_booking of the same "
        "start and end makes it final. Returns an outranked payload with nearby alternatives "
        "if another agent has the slot.",
        annotations=_hints(read_only=False, idempotent=False),
    )
    async def create_hold(
        start: Start,
        end: End,
        idempotency_key: IdempotencyKey = None,
        metadata: Metadata = None,
        title: Title = None,
        invitee: Invitee = None,
        ttl_seconds: Annotated[
            int | None, Field(description=specs.HoldInput.model_fields["ttl_seconds"].description)
        ] = None,
    ) -> WriteOut:
        return to_mcp(
            await svc().ahold(
                start,
                end,
                **_options(
                    idempotency_key=idempotency_key,
                    metadata=metadata,
                    title=title,
                    invitee=invitee,
                    hold_ttl_seconds=ttl_seconds,
                ),
            )
        )

    @mcp.tool(
        title="Release a hold",
        description="Release one of your holds so other agents can take the slot before it "
        "expires.",
        annotations=_hints(read_only=False, destructive=True, idempotent=True),
    )
    async def release_hold(
        hold_id: Annotated[str, Field(description="The hold's id (hld_…) from create_hold")],
    ) -> ReleasedOut:
        return to_mcp(await svc().arelease(hold_id))

    @mcp.tool(
        title="Commit a booking",
        description="Finalize a booking: exactly one agent wins each contested slot, decided "
        "by the owner's ranking. On a lost race returns an outranked payload naming the "
        "winner and listing the nearest open slots of the same length; book one of those.",
        annotations=_hints(read_only=False, idempotent=False),
    )
    async def commit_booking(
        start: Start,
        end: End,
        idempotency_key: IdempotencyKey = None,
        metadata: Metadata = None,
        with_conferencing: Annotated[
            bool, Field(description="Ask for a conferencing link")
        ] = False,
        title: Title = None,
        invitee: Invitee = None,
    ) -> WriteOut:
        return to_mcp(
            await svc().acommit(
                start,
                end,
                **_options(
                    idempotency_key=idempotency_key,
                    metadata=metadata,
                    title=title,
                    invitee=invitee,
                    with_conferencing=with_conferencing,
                ),
            )
        )

    @mcp.tool(
        title="Cancel a booking",
        description="Cancel one of your own bookings; the slot opens to other agents at once.",
        annotations=_hints(read_only=False, destructive=True, idempotent=True),
    )
    async def cancel_booking(
        booking_id: Annotated[str, Field(description="The id (bkg_…) of one of your own bookings")],
    ) -> CancelledOut:
        return to_mcp(await svc().acancel(booking_id))

    @mcp.tool(
        title="Get a booking",
        description=specs.GET_BOOKING.description,
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def get_booking(
        booking_id: Annotated[str, Field(description="The booking's id (bkg_… or hld_…)")],
    ) -> BookingOut:
        return to_mcp(await asyncio.to_thread(svc().get_booking, booking_id))

    @mcp.tool(
        title="List my bookings",
        description=specs.LIST_MY_BOOKINGS.description,
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def list_my_bookings(start: Start, end: End) -> BookingListOut:
        return to_mcp(await svc().alist_bookings(start, end))

    @mcp.tool(
        title="Check an approval",
        description=specs.CHECK_APPROVAL.description,
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def check_approval(
        consent_request_id: Annotated[
            str, Field(description="The approval request's id from a consent_required answer")
        ],
    ) -> ApprovalOut:
        return to_mcp(await asyncio.to_thread(svc().check_approval, consent_request_id))

    _proposal_tools(mcp, svc)
    _mailbox_tools(mcp, svc)
    _counter_tools(mcp, svc)
    return mcp


async def _off_loop(call: Callable[[], Answer]) -> CallToolResult:
    return to_mcp(await asyncio.to_thread(call))


def _proposal_tools(mcp: FastMCP, svc: Callable[[], BookingService]) -> None:
    """Multi-slot negotiation: propose candidate slots to siblings, answer, resolve, cancel."""

    def calls() -> ProposalCalls:
        return ProposalCalls(svc())

    @mcp.tool(
        title="Propose slots",
        description=proposals.CREATE,
        annotations=_hints(read_only=False, idempotent=False),
    )
    async def create_proposal(
        participant_agent_ids: Annotated[
            list[str], Field(description="The sibling agents (agt_…) asked to answer")
        ],
        slots: Annotated[list[SlotOffer], Field(description="The candidate slots, 1 to 20")],
        title: Title = None,
        description: Annotated[
            str | None, Field(description="What the meeting is about, for the participants")
        ] = None,
        expires_at: Annotated[
            str | None,
            Field(description=f"When unanswered, it lapses: {specs.TIME_FORMAT} (default: a day)"),
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ProposalOut:
        return await _off_loop(
            lambda: calls().create(
                participant_agent_ids=participant_agent_ids,
                slots=slots,
                title=title,
                description=description,
                expires_at=expires_at,
                idempotency_key=idempotency_key,
            )
        )

    @mcp.tool(
        title="Get a proposal",
        description=proposals.GET,
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def get_proposal(proposal_id: ProposalId) -> ProposalOut:
        return await _off_loop(lambda: calls().get(proposal_id))

    @mcp.tool(
        title="List proposals",
        description=proposals.LIST,
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def list_proposals(
        status: Annotated[
            Literal["pending", "confirmed", "cancelled", "expired"] | None,
            Field(description="Only proposals with this status"),
        ] = None,
    ) -> ProposalListOut:
        return await _off_loop(lambda: calls().list(status))

    @mcp.tool(
        title="Answer a proposal",
        description=proposals.RESPOND,
        annotations=_hints(read_only=False, idempotent=False),
    )
    async def respond_to_proposal(
        proposal_id: ProposalId,
        response: Annotated[Response, Field(description="accept, decline or counter")],
        selected_slot_id: Annotated[
            str | None, Field(description="The slot (slt_…) you accept; required to accept")
        ] = None,
        counter_slots: Annotated[
            list[CounterSlot] | None, Field(description="Slots you suggest instead (counter)")
        ] = None,
        message: Annotated[str | None, Field(description="A note for the organizer")] = None,
    ) -> ProposalOut:
        return await _off_loop(
            lambda: calls().respond(
                proposal_id,
                response=response,
                selected_slot_id=selected_slot_id,
                counter_slots=counter_slots,
                message=message,
            )
        )

    @mcp.tool(
        title="Resolve a proposal",
        description=proposals.RESOLVE,
        annotations=_hints(read_only=False, idempotent=False),
    )
    async def resolve_proposal(proposal_id: ProposalId) -> ResolutionOut:
        return await _off_loop(lambda: calls().resolve(proposal_id))

    @mcp.tool(
        title="Cancel a proposal",
        description=proposals.CANCEL,
        annotations=_hints(read_only=False, destructive=True, idempotent=False),
    )
    async def cancel_proposal(proposal_id: ProposalId) -> ProposalOut:
        return await _off_loop(lambda: calls().cancel(proposal_id))


def _mailbox_tools(mcp: FastMCP, svc: Callable[[], BookingService]) -> None:
    """The agent's mailbox (:mod:`.mailbox_specs`), under MCP names (no ``agentdraft_``)."""

    def described(tool: mailbox_specs.MailboxTool) -> str:
        return tool.description.replace("agentdraft_", "")

    def calls() -> MailboxCalls:
        return MailboxCalls(svc())

    @mcp.tool(
        title="List mail",
        description=described(mailbox_specs.LIST),
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def list_mail(
        direction: Annotated[
            Literal["inbound", "outbound"] | None,
            Field(description="Only received (inbound) or only sent (outbound) mail"),
        ] = None,
        booking_id: Annotated[
            str | None, Field(description="Only mail filed under this booking (bkg_…)")
        ] = None,
        since: Annotated[
            str | None, Field(description=f"Only mail from this moment on, {specs.TIME_FORMAT}")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="How many messages")] = 10,
        cursor: Annotated[
            str | None, Field(description="The cursor an earlier listing gave")
        ] = None,
    ) -> MailListOut:
        args = mailbox_specs.ListMailInput(
            direction=direction, booking_id=booking_id, since=since, limit=limit, cursor=cursor
        )
        return await _off_loop(lambda: calls().list(args))

    @mcp.tool(
        title="Read mail",
        description=described(mailbox_specs.READ),
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def read_mail(message_id: MessageId) -> MailMessageOut:
        return await _off_loop(lambda: calls().read(message_id))

    @mcp.tool(
        title="Send mail",
        description=described(mailbox_specs.SEND),
        annotations=_hints(read_only=False, idempotent=False, open_world=True),
    )
    async def send_mail(
        to: Annotated[str, Field(description="The recipient's email address")],
        subject: Annotated[str, Field(description="The subject line")],
        body_text: Annotated[str, Field(description="The message, as plain text")],
        booking_id: Annotated[
            str | None, Field(description="The booking (bkg_…) this message is about")
        ] = None,
    ) -> MailSentOut:
        args = mailbox_specs.SendMailInput(
            to=to, subject=subject, body_text=body_text, booking_id=booking_id
        )
        return await _off_loop(lambda: calls().send(args))

    @mcp.tool(
        title="Reply to mail",
        description=described(mailbox_specs.REPLY),
        annotations=_hints(read_only=False, idempotent=False, open_world=True),
    )
    async def reply_mail(
        message_id: MessageId,
        body_text: Annotated[str, Field(description="Your answer, as plain text")],
    ) -> MailSentOut:
        return await _off_loop(lambda: calls().reply(message_id, body_text))

    @mcp.tool(
        title="Check a suppression",
        description=described(mailbox_specs.CHECK_SUPPRESSION),
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def check_suppression(
        address: Annotated[str, Field(description="The email address to check")],
    ) -> SuppressionOut:
        return await _off_loop(lambda: calls().check_suppression(address))


def _counter_tools(mcp: FastMCP, svc: Callable[[], BookingService]) -> None:
    """Counter-offers: after a lost race, offer the winner's agent other times; answer them."""
    offer, listing, answer = (
        counter_specs.COUNTER_OFFER,
        counter_specs.LIST_COUNTERS,
        counter_specs.ANSWER_COUNTER,
    )

    @mcp.tool(
        title="Offer other times",
        description=offer.description.replace("agentdraft_list_counters", "list_counters"),
        annotations=_hints(read_only=False, idempotent=False),
    )
    async def counter_offer(
        booking_id: Annotated[str, Field(description="The winning booking's id (bkg_…)")],
        proposed: Annotated[
            list[counter_specs.ProposedSlot], Field(description="1 to 5 other times")
        ],
        note: Annotated[str | None, Field(description="A short note for the other agent")] = None,
    ) -> CounterOut:
        return await _off_loop(
            lambda: offer.invoke(
                svc(),
                {
                    "booking_id": booking_id,
                    "proposed": [p.model_dump() for p in proposed],
                    "note": note,
                },
            )
        )

    @mcp.tool(
        title="List counter-offers",
        description=listing.description,
        annotations=_hints(read_only=True, idempotent=True),
    )
    async def list_counters(
        booking_id: Annotated[str, Field(description="Your booking, or the one you countered")],
        counter_id: Annotated[
            str | None, Field(description="Your own counter-offer's id, to read its answer")
        ] = None,
    ) -> CounterListOut:
        return await _off_loop(
            lambda: listing.invoke(svc(), {"booking_id": booking_id, "counter_id": counter_id})
        )

    @mcp.tool(
        title="Answer a counter-offer",
        description=answer.description,
        annotations=_hints(read_only=False, idempotent=False),
    )
    async def answer_counter(
        booking_id: Annotated[str, Field(description="Your booking's id (bkg_…)")],
        counter_id: Annotated[str, Field(description="The counter-offer's id (cnt_…)")],
        decision: Annotated[Literal["accept", "reject"], Field(description="accept or reject")],
        slot_index: Annotated[
            int | None, Field(description="To accept: which offered slot, 0-based")
        ] = None,
    ) -> CounterOut:
        args = {
            "booking_id": booking_id,
            "counter_id": counter_id,
            "decision": decision,
            "slot_index": slot_index,
        }
        return await _off_loop(lambda: answer.invoke(svc(), args))


def main(argv: list[str] | None = None) -> None:
    """Console entry point ``agentdraft-mcp-local``: serve over stdio."""
    parser = argparse.ArgumentParser(
        prog="agentdraft-mcp-local",
        description="MCP server for AgentDraft (embedded coordinator by default).",
    )
    parser.add_argument(
        "--data-dir",
        help="embedded engine folder (default $AGENTDRAFT_DATA_DIR or ~/.agentdraft/data)",
    )
    parser.add_argument(
        "--agent-name",
        help="local agent to act as when no key is set "
        "(default $AGENTDRAFT_AGENT_NAME or local-agent)",
    )
    args = parser.parse_args(argv)
    build_server(data_dir=args.data_dir, agent_name=args.agent_name).run("stdio")


if __name__ == "__main__":
    main()


__all__ = [
    "INSTRUCTIONS",
    "AgentDraftMCP",
    "build_server",
    "main",
    "package_version",
    "payload",
    "to_mcp",
]
