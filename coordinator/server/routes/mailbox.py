"""The agent's mailbox over HTTP (``/v1/mailbox/*``): the official SDK's ``client.mailbox``.

Scopes ``mailbox:read`` (info, list, read, attachment, suppression check) and ``mailbox:write``
(send, reply). Sending answers 202: the message is queued and the mail dispatcher
delivers it; 402 ``booking_required``, 422 ``recipient_suppressed`` and 429
``send_cap_reached`` (with ``Retry-After``) refuse it with nothing queued.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from ...mail.disposition import content_disposition, safe_content_type
from ...mail.parse import MAX_PARTS
from ..auth import Agent
from ..responses import error_responses, json_response
from ..schemas import (
    MailboxInfo,
    MailMessage,
    MailPage,
    MailReplyIn,
    MailSendIn,
    MailSuppression,
)

router = APIRouter(prefix="/v1/mailbox", tags=["mailbox"])
_READ = error_responses(401, 403, 404, 422, 429)
_WRITE = error_responses(401, 402, 403, 404, 422, 429)
MessageId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^msg_[0-9a-f]+$")]


@router.get("/me", response_model=MailboxInfo, responses=_READ)
def mailbox_info(client: Agent) -> Response:
    """The agent's address, whether free-form mail is allowed, and today's send quota."""
    return json_response(client.mailbox.info())


@router.get("/messages", response_model=MailPage, responses=_READ)
def list_messages(
    client: Agent,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    direction: Annotated[str | None, Query(pattern="^(inbound|outbound)$")] = None,
    booking_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=64, description="ISO 8601 (inclusive)")] = None,
) -> Response:
    """Inbound and outbound messages, newest first; ``next_cursor`` pages on."""
    return json_response(
        client.mailbox.list_messages(
            limit=limit, cursor=cursor, direction=direction, booking_id=booking_id, since=since
        )
    )


@router.get("/messages/{message_id}", response_model=MailMessage, responses=_READ)
def get_message(message_id: MessageId, client: Agent) -> Response:
    """One message with its full plain-text body and SPF, DKIM and DMARC verdicts."""
    return json_response(client.mailbox.get_message(message_id))


@router.get(
    "/messages/{message_id}/attachments/{index}",
    response_class=Response,
    responses={
        200: {
            "description": "The attachment's bytes, as received (Content-Disposition: "
            "attachment, with a sanitised filename).",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        **_READ,
    },
)
def get_attachment(
    message_id: MessageId, index: Annotated[int, Path(ge=0, le=MAX_PARTS)], client: Agent
) -> Response:
    """One attachment of a message of this mailbox; 404 ``attachment_not_stored`` when it
    was listed only (over the size limits when it arrived)."""
    entry, content = client.mailbox.attachment(message_id, index)
    return Response(
        content,
        media_type=safe_content_type(entry.get("content_type")),
        headers={
            "Content-Disposition": content_disposition(entry.get("filename")),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/send", status_code=202, response_model=MailMessage, responses=_WRITE)
def send(body: MailSendIn, client: Agent) -> Response:
    """Queue a message from the agent's address (``From:`` is the server's to set)."""
    return json_response(
        client.mailbox.send(
            to=body.to,
            subject=body.subject,
            body_text=body.body_text,
            booking_id=body.booking_id,
            in_reply_to=body.in_reply_to,
            reply_to=body.reply_to,
        ),
        202,
    )


@router.post(
    "/messages/{message_id}/reply", status_code=202, response_model=MailMessage, responses=_WRITE
)
def reply(message_id: MessageId, body: MailReplyIn, client: Agent) -> Response:
    """Answer a message of this mailbox; recipient, threading and booking come from it."""
    return json_response(
        client.mailbox.reply(
            message_id, body_text=body.body_text, subject=body.subject, reply_to=body.reply_to
        ),
        202,
    )


@router.get("/suppressions/{address}", response_model=MailSuppression, responses=_READ)
def check_suppression(
    address: Annotated[str, Path(min_length=3, max_length=254)], client: Agent
) -> Response:
    """``{suppressed, kind, suppressed_at}``: whether mail to ``address`` would be refused."""
    return json_response(client.mailbox.check_suppression(address))
