"""The mailbox in the store: send, receive, read, suppressions and caps.

Each change is one Lua step (``lua/mail_*.lua``) that also writes its audit entry:
a send checks the owner's policy, the suppression list and the agent's daily cap,
records the message, counts it and queues it for the dispatcher atomically, so
concurrent sends never pass the cap together. Reads check the key and scope first
(``authorize.lua``), then read the records. Nothing here speaks SMTP: the dispatcher
(:mod:`.dispatcher`) and the receiver (:mod:`.receiver`) do.

``coord.mailbox`` (:class:`Mailbox`) is the owner's and the receiver's side;
``client.mailbox`` (:class:`ClientMailbox`) is the agent's, with the official SDK's
calls (``info``, ``quota``, ``list_messages``, ``get_message``, ``send``, ``reply``,
``check_suppression``) returning the same dicts the HTTP API sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from redis.client import NEVER_DECODE

from ..access import MAILBOX_READ, MAILBOX_WRITE, CallerContext
from ..buckets import from_ms, parse_time, to_ms
from ..errors import NotFound, ValidationError
from ..ids import new_id
from ..inputs import check_id, readable, required_text, text
from ..replies import About, refusal
from ..store.errors import store_errors
from ..store.handle import Store
from .addresses import agent_address, mail_domain, normalize

MAX_SUBJECT = 998
MAX_BODY = 200_000
MAX_PAGE = 100
SNIPPET = 200
DAY_MS = 86_400_000
_CURSOR = re.compile(r"^(\d{1,20}):(msg_[0-9a-f]{1,32})$")
_MESSAGE_ID = re.compile(r"^<[^<>\s]{1,500}>$")
_BOOKING = re.compile(r"^(bkg|hld)_[0-9a-f]{1,32}$")
Direction = Literal["inbound", "outbound"]


def _iso(ms: Any) -> str | None:
    return from_ms(int(ms)).isoformat() if isinstance(ms, int | float) and ms else None


def _list(value: Any) -> list[Any]:
    """A JSON list as Lua's cjson writes it (an empty list comes back as ``{}``)."""
    return list(value) if isinstance(value, list) else []


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value else None


def public_message(rec: dict[str, Any], *, body: bool = True) -> dict[str, Any]:
    """A stored message as the API returns it; a listing carries a snippet, not the body."""
    text_body = rec.get("body_text") or ""
    out: dict[str, Any] = {
        "message_id": rec["id"],
        "agent_id": rec["agent_id"],
        "direction": rec["direction"],
        "status": rec.get("status"),
        "from": rec.get("from"),
        "to": _list(rec.get("to")),
        "reply_to": rec.get("reply_to") or None,
        "subject": rec.get("subject") or "",
        "booking_id": rec.get("booking_id") or None,
        "thread_id": rec.get("thread_id"),
        "internet_message_id": rec.get("imid"),
        "in_reply_to": rec.get("in_reply_to") or None,
        "references": _list(rec.get("references")),
        "created_at": _iso(rec.get("created_ms")),
        "date": _iso(rec.get("date_ms")),
        "sent_at": _iso(rec.get("sent_ms")),
        "verdicts": _dict_or_none(rec.get("verdicts")),
        "attachments": [_attachment_entry(a) for a in _list(rec.get("attachments"))],
        "bounce": _dict_or_none(rec.get("bounce")),
        "audit_event_id": rec.get("audit_event_id"),
    }
    if body:
        out["body_text"] = text_body
    else:
        out["snippet"] = " ".join(text_body.split())[:SNIPPET]
    return readable(out)


def _attachment_entry(a: Any) -> dict[str, Any]:
    """One listed attachment: name, type, size and whether its bytes were stored."""
    a = a if isinstance(a, dict) else {}
    return {
        "filename": a.get("filename"),
        "content_type": a.get("content_type") or "application/octet-stream",
        "size": a.get("size") if isinstance(a.get("size"), int) else 0,
        "stored": a.get("stored") is True,
    }


def public_suppression(address: str, s: dict[str, Any] | None) -> dict[str, Any]:
    """``{suppressed, kind, suppressed_at}``: raw bounce diagnostics are never shown."""
    if s is None:
        return {"address": address, "suppressed": False, "kind": None, "suppressed_at": None}
    return {
        "address": address,
        "suppressed": True,
        "kind": s.get("kind"),
        "suppressed_at": _iso(s.get("at_ms")),
    }


def booking_ref(value: object, field: str = "booking_id") -> str:
    """A booking id (``bkg_…`` or ``hld_…``), else a 422 naming ``field``."""
    if not isinstance(value, str) or not _BOOKING.match(value):
        raise ValidationError(field, "must be a booking id such as bkg_…")
    return value


def _message_id_header(value: object, field: str) -> str:
    raw = text(value, field, max_len=MAX_SUBJECT)
    assert raw is not None
    mid = raw.strip()
    if not mid.startswith("<"):
        mid = f"<{mid}>"
    if not _MESSAGE_ID.match(mid):
        raise ValidationError(field, "must be a Message-ID such as <abc@example.com>")
    return mid


class Mailbox:
    """``coord.mailbox``: the owner's view and policy, and the receiver's way in."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def domain(self) -> str:
        return mail_domain(self._store.settings.mail_domain)

    def address(self, agent_id: str) -> str:
        """The agent's mailbox address."""
        return agent_address(agent_id, self.domain)

    # -- lookups -------------------------------------------------------------------

    def check_agent(self, user_id: str, agent_id: str) -> None:
        """404 unless ``agent_id`` is one of ``user_id``'s agents (owner views)."""
        check_id(agent_id, "agent_id", prefix="agt_")
        with store_errors("mailbox"):
            known = self._store.redis.exists(self._store.keys.agent(user_id, agent_id))
        if not known:
            raise NotFound(f"no agent {agent_id} for owner {user_id}", error="agent_not_found")

    def owner_of(self, agent_id: str) -> str | None:
        """The owner of ``agent_id`` (None for an unknown agent), by the agent index."""
        with store_errors("mailbox"):
            owner = self._store.redis.get(self._store.keys.agent_index(agent_id))
        return str(owner) if owner else None

    def accepts(self, agent_id: str) -> str | None:
        """The agent's owner if it exists and is active (the receiver's RCPT check)."""
        owner = self.owner_of(agent_id)
        if owner is None:
            return None
        with store_errors("mailbox"):
            status = self._store.redis.hget(self._store.keys.agent(owner, agent_id), "status")
        return owner if status == "active" else None

    def record(self, user_id: str, message_id: str) -> dict[str, Any] | None:
        """The stored record of one message (None if absent)."""
        with store_errors("mailbox"):
            raw = self._store.redis.hget(self._store.keys.mail(user_id), message_id)
        return json.loads(raw) if raw else None

    # -- the agent's views, shared with ClientMailbox ---------------------------------

    def info(self, user_id: str, agent_id: str) -> dict[str, Any]:
        """Address, whether free-form mail is allowed, and today's send quota."""
        s = self._store.settings
        k = self._store.keys
        with store_errors("mailbox"):
            cap_raw, free_raw = self._store.redis.hmget(
                k.agent(user_id, agent_id), ["mail_cap", "mail_free_form"]
            )
            now = self._store.server_now_ms(user_id)
            day = now // DAY_MS
            used = int(self._store.redis.get(k.mail_sent_count(user_id, agent_id, day)) or 0)
        cap = int(cap_raw) if cap_raw is not None else s.mail_send_cap_per_day
        free = free_raw == "1" if free_raw is not None else s.mail_free_form_allowed
        return {
            "agent_id": agent_id,
            "address": self.address(agent_id),
            "free_form_allowed": free,
            "quota": {
                "cap": cap,
                "used_today": used,
                "remaining": max(0, cap - used),
                "resets_at": _iso((day + 1) * DAY_MS),
            },
        }

    def messages(
        self,
        user_id: str,
        agent_id: str,
        *,
        limit: int = 25,
        cursor: str | None = None,
        direction: str | None = None,
        booking_id: str | None = None,
        since: datetime | str | None = None,
    ) -> dict[str, Any]:
        """The agent's messages, newest first: ``{messages, next_cursor}``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise ValidationError("limit", f"must be an integer from 1 to {MAX_PAGE}")
        if direction is not None and direction not in ("inbound", "outbound"):
            raise ValidationError("direction", "must be inbound or outbound")
        if booking_id is not None:
            booking_ref(booking_id)
        since_ms = None if since is None else to_ms(parse_time(since, "since"))
        after: tuple[int, str] | None = None
        if cursor is not None:
            m = _CURSOR.match(cursor) if isinstance(cursor, str) else None
            if m is None:
                raise ValidationError("cursor", "must be a next_cursor this API returned")
            after = (int(m.group(1)), m.group(2))
        k = self._store.keys
        key = (
            k.mailbox_booking(user_id, agent_id, booking_id)
            if booking_id
            else k.mailbox(user_id, agent_id)
        )
        with store_errors("mailbox.list"):
            found = self._scan(user_id, key, limit, since_ms, after, direction)
        more = len(found) > limit
        page = found[:limit]
        next_cursor = f"{page[-1][1]}:{page[-1][0]['id']}" if more else None
        return {
            "messages": [public_message(rec, body=False) for rec, _ in page],
            "next_cursor": next_cursor,
        }

    def _scan(
        self,
        user_id: str,
        key: str,
        limit: int,
        since_ms: int | None,
        after: tuple[int, str] | None,
        direction: str | None,
    ) -> list[tuple[dict[str, Any], int]]:
        """Up to ``limit + 1`` records past ``after``, newest first, filtered."""
        r = self._store.redis
        hi = str(after[0]) if after else "+inf"
        lo = "-inf" if since_ms is None else str(since_ms * 1000)
        batch = limit + 1 if direction is None else max(50, 2 * limit)
        out: list[tuple[dict[str, Any], int]] = []
        offset = 0
        while len(out) <= limit:
            chunk = r.zrevrangebyscore(key, hi, lo, start=offset, num=batch, withscores=True)
            offset += len(chunk)
            ids = [
                (member, int(score))
                for member, score in chunk
                if not after or int(score) < after[0] or member < after[1]
            ]
            raws = r.hmget(self._store.keys.mail(user_id), [m for m, _ in ids]) if ids else []
            for (_, score), raw in zip(ids, raws, strict=True):
                if raw is None:
                    continue
                rec = json.loads(raw)
                if direction is not None and rec.get("direction") != direction:
                    continue
                if since_ms is not None and int(rec.get("created_ms") or 0) < since_ms:
                    continue
                out.append((rec, score))
                if len(out) > limit:
                    break
            if len(chunk) < batch:
                break
        return out

    def get(self, user_id: str, agent_id: str | None, message_id: str) -> dict[str, Any]:
        """One message with its body; 404 unless it is in ``agent_id``'s mailbox
        (``agent_id`` None: the owner reads any of the calendar's messages)."""
        check_id(message_id, "message_id", prefix="msg_")
        rec = self.record(user_id, message_id)
        if rec is None or (agent_id is not None and rec.get("agent_id") != agent_id):
            raise NotFound(f"no message {message_id} in this mailbox", error="message_not_found")
        return public_message(rec)

    def attachment(
        self, user_id: str, agent_id: str | None, message_id: str, index: int
    ) -> tuple[dict[str, Any], bytes]:
        """One attachment's listing entry and bytes; 404 ``message_not_found`` unless the
        message is ``agent_id``'s, ``attachment_not_found`` for an index it does not
        have, ``attachment_not_stored`` for one listed but over the size limits."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValidationError("index", "must be a whole number from 0")
        message = self.get(user_id, agent_id, message_id)
        listed = message["attachments"]
        if index >= len(listed):
            raise NotFound(
                f"message {message_id} has no attachment {index}", error="attachment_not_found"
            )
        if not listed[index]["stored"]:
            raise NotFound(
                f"attachment {index} of {message_id} is listed only: it was over the size "
                "limit when received, so its content was not stored",
                error="attachment_not_stored",
            )
        key = self._store.keys.mail_attachments(user_id)
        with store_errors("mailbox.attachment"):
            # The engine's client decodes replies as text; attachment bytes stay bytes.
            content = self._store.redis.execute_command(
                "HGET", key, f"{message_id}:{index}", **{NEVER_DECODE: []}
            )
        if content is None:
            raise NotFound(
                f"attachment {index} of {message_id} is not stored", error="attachment_not_stored"
            )
        return listed[index], bytes(content)

    # -- suppressions ----------------------------------------------------------------

    def suppression(self, user_id: str, address: str) -> dict[str, Any]:
        """``{address, suppressed, kind, suppressed_at}`` for one address."""
        key = normalize(address, "address")
        with store_errors("mailbox"):
            raw = self._store.redis.hget(self._store.keys.mail_suppressions(user_id), key)
        return public_suppression(key, json.loads(raw) if raw else None)

    def suppressions(self, user_id: str) -> list[dict[str, Any]]:
        """Every suppressed address of the owner, most recent first."""
        with store_errors("mailbox"):
            rows = self._store.redis.hgetall(self._store.keys.mail_suppressions(user_id))
        out = [public_suppression(a, json.loads(v)) for a, v in rows.items()]
        return sorted(out, key=lambda s: s["suppressed_at"] or "", reverse=True)

    def unsuppress(self, user_id: str, address: str) -> dict[str, Any]:
        """Take an address off the owner's suppression list (audited); 404 if it is not on it."""
        key = normalize(address, "address")
        with store_errors("mailbox.unsuppress"):
            reply = self._store.calls.mail_owner("unsuppress", user_id=user_id, address=key)
        if reply["r"] != "ok":
            raise refusal("mail_owner", reply, About(user_id, key))
        return public_suppression(key, None)

    # -- policy --------------------------------------------------------------------

    def set_policy(
        self,
        agent_id: str,
        *,
        send_cap_per_day: int | Literal["default"] | None = None,
        free_form_allowed: bool | Literal["default"] | None = None,
    ) -> dict[str, Any]:
        """Set one agent's daily send cap and whether it may send mail without a booking.

        None leaves a setting as it is; ``"default"`` returns it to the coordinator's
        default (``Settings.mail_send_cap_per_day``, ``mail_free_form_allowed``).
        Returns the agent's mailbox info.
        """
        check_id(agent_id, "agent_id", prefix="agt_")
        change: dict[str, Any] = {}
        if send_cap_per_day == "default":
            change["cap"] = None
        elif send_cap_per_day is not None:
            if isinstance(send_cap_per_day, bool) or not isinstance(send_cap_per_day, int):
                raise ValidationError("send_cap_per_day", "must be a whole number or 'default'")
            if not 0 <= send_cap_per_day <= 1_000_000:
                raise ValidationError("send_cap_per_day", "must be from 0 to 1000000")
            change["cap"] = send_cap_per_day
        if free_form_allowed == "default":
            change["free_form"] = None
        elif free_form_allowed is not None:
            if not isinstance(free_form_allowed, bool):
                raise ValidationError("free_form_allowed", "must be true, false or 'default'")
            change["free_form"] = free_form_allowed
        user_id = self.owner_of(agent_id)
        if user_id is None:
            raise NotFound(f"no agent {agent_id}", error="agent_not_found")
        with store_errors("mailbox.set_policy"):
            reply = self._store.calls.mail_owner(
                "policy", user_id=user_id, agent_id=agent_id, change=change
            )
        if reply["r"] != "ok":
            raise refusal("mail_owner", reply, About(user_id, agent_id))
        return self.info(user_id, agent_id)

    # -- the receiver's and the dispatcher's steps ----------------------------------

    def receive(
        self,
        user_id: str,
        agent_id: str,
        message: dict[str, Any],
        *,
        suppress: Sequence[dict[str, str]] = (),
        contents: Sequence[bytes] = (),
    ) -> dict[str, Any]:
        """Store one inbound message (see mail_receive.lua); returns the script's reply
        with the public message: ``{message, duplicate?, suppressed}``.

        ``contents``: the bytes of the attachments marked ``stored`` in
        ``message["attachments"]``, in order, stored in the same step as the message."""
        msg_id = new_id("msg")
        with store_errors("mailbox.receive"):
            reply = self._store.calls.mail_receive(
                user_id=user_id,
                agent_id=agent_id,
                message_id=msg_id,
                message={k: v for k, v in message.items() if v is not None},
                suppress=list(suppress),
                contents=list(contents),
            )
        if reply["r"] != "ok":
            raise refusal("mail_receive", reply, About(user_id, msg_id, agent_id))
        return {
            "message": public_message(reply["message"]),
            "duplicate": bool(reply.get("duplicate")),
            "suppressed": _list(reply.get("suppressed")),
        }

    def owners_with_mail(self) -> list[str]:
        """Owners that ever queued mail (the dispatcher visits their outboxes)."""
        with store_errors("mailbox"):
            return sorted(self._store.redis.smembers(self._store.keys.mail_owners()))


class ClientMailbox:
    """``client.mailbox``: the calling agent's mailbox, the official SDK's calls."""

    def __init__(self, ctx: CallerContext, mailbox: Mailbox) -> None:
        self._ctx = ctx
        self._mailbox = mailbox

    def info(self) -> dict[str, Any]:
        """``{agent_id, address, free_form_allowed, quota: {cap, used_today, remaining}}``."""
        self._ctx.authorize(MAILBOX_READ)
        return self._mailbox.info(self._ctx.user_id, self._ctx.agent_id)

    def quota(self) -> dict[str, Any]:
        """Just the quota part of :meth:`info`."""
        quota: dict[str, Any] = self.info()["quota"]
        return quota

    def list_messages(
        self,
        *,
        limit: int = 25,
        cursor: str | None = None,
        direction: str | None = None,
        booking_id: str | None = None,
        since: datetime | str | None = None,
    ) -> dict[str, Any]:
        """``{messages, next_cursor}``, newest first; ``since`` is inclusive."""
        self._ctx.authorize(MAILBOX_READ)
        return self._mailbox.messages(
            self._ctx.user_id,
            self._ctx.agent_id,
            limit=limit,
            cursor=cursor,
            direction=direction,
            booking_id=booking_id,
            since=since,
        )

    def get_message(self, message_id: str) -> dict[str, Any]:
        """One message of this agent's mailbox, with body and SPF/DKIM/DMARC verdicts."""
        self._ctx.authorize(MAILBOX_READ)
        return self._mailbox.get(self._ctx.user_id, self._ctx.agent_id, message_id)

    def get_attachment(self, message_id: str, index: int) -> bytes:
        """The bytes of attachment ``index`` (0-based, as listed) of one of this agent's
        messages. :class:`~coordinator.NotFound` with ``error`` ``message_not_found``,
        ``attachment_not_found`` or ``attachment_not_stored`` (listed, over the limit)."""
        return self.attachment(message_id, index)[1]

    def attachment(self, message_id: str, index: int) -> tuple[dict[str, Any], bytes]:
        """The listing entry (filename, content_type, size) and bytes of one attachment."""
        self._ctx.authorize(MAILBOX_READ)
        return self._mailbox.attachment(self._ctx.user_id, self._ctx.agent_id, message_id, index)

    def check_suppression(self, address: str) -> dict[str, Any]:
        """``{address, suppressed, kind, suppressed_at}`` before composing."""
        self._ctx.authorize(MAILBOX_READ)
        return self._mailbox.suppression(self._ctx.user_id, address)

    def send(
        self,
        *,
        to: str,
        subject: str,
        body_text: str,
        booking_id: str | None = None,
        in_reply_to: str | None = None,
        reply_to: str | None = None,
        references: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Queue a message from this agent's address; the dispatcher delivers it.

        Raises :class:`~coordinator.BookingRequired` (402),
        :class:`~coordinator.RecipientSuppressed` (422) or
        :class:`~coordinator.SendCapReached` (429); nothing is queued then.
        """
        c = self._ctx
        to_key = normalize(to, "to")
        payload: dict[str, Any] = {
            "to": to_key,
            "to_key": to_key,
            "subject": required_text(subject, "subject", max_len=MAX_SUBJECT),
            "body_text": required_text(body_text, "body_text", max_len=MAX_BODY, multiline=True),
            "reply_to": normalize(reply_to, "reply_to") if reply_to is not None else "",
            "booking_id": booking_ref(booking_id) if booking_id is not None else "",
            "in_reply_to": "",
            "references": [],
        }
        if in_reply_to is not None:
            payload["in_reply_to"] = _message_id_header(in_reply_to, "in_reply_to")
            refs = [_message_id_header(r, "references") for r in (references or ())]
            payload["references"] = [*refs[-20:], payload["in_reply_to"]]
        msg_id = new_id("msg")
        domain = self._mailbox.domain
        payload["imid"] = f"<{msg_id}@{domain}>"
        payload["from"] = agent_address(c.agent_id, domain)
        store = c.store
        with store_errors("mailbox.send"):
            # The dispatcher's index of outboxes, before the send that needs it: an owner
            # listed with nothing queued costs the dispatcher one read.
            store.redis.sadd(store.keys.mail_owners(), c.user_id)
            reply = store.calls.mail_send(
                user_id=c.user_id,
                agent_id=c.agent_id,
                key_hash=c.key_hash,
                limits=store.limits,
                message_id=msg_id,
                message=payload,
                defaults={
                    "cap": store.settings.mail_send_cap_per_day,
                    "free_form": store.settings.mail_free_form_allowed,
                },
            )
        if reply["r"] != "ok":
            raise refusal("mail", reply, About(c.user_id, msg_id, c.agent_id))
        out = public_message(reply["message"])
        out["quota"] = reply["quota"]
        return out

    def reply(
        self,
        message_id: str,
        *,
        body_text: str,
        subject: str | None = None,
        reply_to: str | None = None,
    ) -> dict[str, Any]:
        """Answer a message of this mailbox: recipient, threading headers, booking and a
        ``Re:`` subject come from the original. 404 for another agent's message."""
        c = self._ctx
        c.authorize(MAILBOX_WRITE)
        check_id(message_id, "message_id", prefix="msg_")
        orig = self._mailbox.record(c.user_id, message_id)
        if orig is None or orig.get("agent_id") != c.agent_id:
            raise NotFound(f"no message {message_id} in this mailbox", error="message_not_found")
        if orig["direction"] == "inbound":
            to = orig.get("reply_to") or orig.get("from") or ""
        else:
            to = (_list(orig.get("to")) or [""])[0]
        if subject is None:
            base = orig.get("subject") or ""
            subject = base if base[:3].lower() == "re:" else f"Re: {base}".strip()
        return self.send(
            to=to,
            subject=subject,
            body_text=body_text,
            booking_id=orig.get("booking_id") or None,
            in_reply_to=orig.get("imid"),
            reply_to=reply_to,
            references=_list(orig.get("references")),
        )
