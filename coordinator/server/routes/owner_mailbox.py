"""Owner (session) mailbox controls: an agent's mailbox, the suppression list, send policy."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from ..auth import Coord, Owner
from ..responses import error_responses, json_response
from ..schemas import ClosedIn, MailboxInfo, MailMessage, MailPage, MailSuppression

router = APIRouter(prefix="/v1/dashboard/mailbox", tags=["dashboard"])
_ERRORS = error_responses(401, 403, 404, 422)
AgentId = Annotated[str, Query(min_length=5, max_length=64, pattern=r"^agt_[0-9a-f]+$")]


class OwnerMailbox(BaseModel):
    """One agent's mailbox as its owner sees it: info, then a page of messages."""

    mailbox: MailboxInfo
    page: MailPage


class MailPolicyIn(ClosedIn):
    """Absent: unchanged; "default": the coordinator's default."""

    send_cap_per_day: int | Literal["default"] | None = Field(
        default=None, description="Messages per UTC day (0..1000000), or 'default'."
    )
    free_form_allowed: bool | Literal["default"] | None = Field(
        default=None, description="May it send mail naming no booking? Or 'default'."
    )


@router.get("", response_model=OwnerMailbox, responses=_ERRORS)
def agent_mailbox(
    owner: Owner,
    coord: Coord,
    agent_id: AgentId,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    direction: Annotated[str | None, Query(pattern="^(inbound|outbound)$")] = None,
    booking_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """An agent's address, quota and messages, newest first."""
    coord.mailbox.check_agent(owner.user_id, agent_id)
    return json_response(
        {
            "mailbox": coord.mailbox.info(owner.user_id, agent_id),
            "page": coord.mailbox.messages(
                owner.user_id,
                agent_id,
                limit=limit,
                cursor=cursor,
                direction=direction,
                booking_id=booking_id,
            ),
        }
    )


@router.get("/messages/{message_id}", response_model=MailMessage, responses=_ERRORS)
def owner_message(
    message_id: Annotated[str, Path(min_length=5, max_length=64, pattern=r"^msg_[0-9a-f]+$")],
    owner: Owner,
    coord: Coord,
) -> Response:
    """Any message of the owner's agents, with body and verdicts."""
    return json_response(coord.mailbox.get(owner.user_id, None, message_id))


@router.get("/suppressions", response_model=list[MailSuppression], responses=_ERRORS)
def suppressions(owner: Owner, coord: Coord) -> Response:
    """Every address the owner's agents no longer mail (hard bounces, complaints)."""
    return json_response(coord.mailbox.suppressions(owner.user_id))


@router.delete("/suppressions/{address}", response_model=MailSuppression, responses=_ERRORS)
def unsuppress(
    address: Annotated[str, Path(min_length=3, max_length=254)], owner: Owner, coord: Coord
) -> Response:
    """Take an address off the list (audited): the agents may mail it again."""
    return json_response(coord.mailbox.unsuppress(owner.user_id, address))


@router.put("/agents/{agent_id}/policy", response_model=MailboxInfo, responses=_ERRORS)
def set_policy(
    agent_id: Annotated[str, Path(min_length=5, max_length=64, pattern=r"^agt_[0-9a-f]+$")],
    body: MailPolicyIn,
    owner: Owner,
    coord: Coord,
) -> Response:
    """One agent's daily send cap and free-form flag (audited)."""
    coord.mailbox.check_agent(owner.user_id, agent_id)
    return json_response(
        coord.mailbox.set_policy(
            agent_id,
            send_cap_per_day=body.send_cap_per_day,
            free_form_allowed=body.free_form_allowed,
        )
    )
