"""Deliver the mail outbox through the operator's smarthost: at least once, never twice.

A send stored its message and appended its id to the calendar's ``mailout`` stream in
one script. The dispatcher reads that stream through the consumer group ``mail``
(:class:`~coordinator.outbox.StreamReader`), builds the message from the record
(:mod:`.compose`), DKIM-signs it with the operator's key and hands it to the
smarthost with ``smtplib`` (STARTTLS, implicit TLS or plain; AUTH if configured).

Crash safety, step by step:

1. Before talking to the smarthost the entry's idle time is reset, so no other
   dispatcher reclaims it during a slow transaction.
2. The smarthost answers 250 to the message's data: it has taken responsibility.
3. At once, before anything else (before QUIT, before the next message), one script
   (``mail_deliver.lua``) marks the record ``sent`` AND acknowledges the outbox entry.
4. A dispatcher killed before step 2 never got the 250; the smarthost did not accept
   the message (an SMTP server that loses the connection before its final reply
   aborts the transaction), so the entry stays pending and is sent again: nothing lost.
   A dispatcher killed after step 3 left nothing pending: nothing is sent twice. A
   reclaimed entry whose record already says ``sent`` is acknowledged without sending.

The window that remains is the one SMTP itself has (RFC 1047): a crash between the
smarthost sending its 250 and step 3 finishing (one reply read plus one script, about
a millisecond) sends that message again. It goes out with the same ``Message-ID``
(the header comes from the record, not the attempt), so the receiving side can
recognise the second copy. Transient refusals (4xx, a lost connection) back off
exponentially; permanent ones (5xx) and ``max_attempts`` mark the message ``failed``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from typing import Any, Literal

from ..coordinator import Coordinator
from ..outbox import Due, RetryPolicy, StreamReader, consumer_name, run_rounds
from .compose import compose
from .config import DkimKey, Smarthost

log = logging.getLogger("coordinator.mail")
GROUP = "mail"
#: A transaction is a few smarthost round trips of ``Smarthost.timeout`` each.
DEFAULT_POLICY = RetryPolicy(visibility_ms=180_000, backoff_base_ms=5_000, max_attempts=12)


class Refused(Exception):
    """The smarthost refused the message; ``permanent`` for a 5xx."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text
        self.permanent = 500 <= code < 600


def _reply_text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())[:300]


class SmtpLink:
    """One connection to the smarthost, opened on first use and reused for a round."""

    def __init__(self, smarthost: Smarthost, local_hostname: str | None = None) -> None:
        self.cfg = smarthost
        self.local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cfg.ca_file)

    def _open(self) -> smtplib.SMTP:
        c = self.cfg
        smtp: smtplib.SMTP
        if c.tls == "implicit":
            smtp = smtplib.SMTP_SSL(
                c.host, c.port, self.local_hostname, timeout=c.timeout, context=self._context()
            )
        else:
            smtp = smtplib.SMTP(c.host, c.port, self.local_hostname, timeout=c.timeout)
            if c.tls == "starttls":
                smtp.starttls(context=self._context())
        if c.username:
            smtp.login(c.username, c.password or "")
        return smtp

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> str:
        """Hand one message over; returns the smarthost's reply to its data (a 250)."""
        if self._smtp is None:
            self._smtp = self._open()
        s = self._smtp
        s.ehlo_or_helo_if_needed()
        code, resp = s.mail(sender)
        if code != 250:
            s.rset()
            raise Refused(code, _reply_text(resp))
        accepted = 0
        last: tuple[int, bytes] = (0, b"")
        for rcpt in recipients:
            code, resp = s.rcpt(rcpt)
            if code in (250, 251):
                accepted += 1
            else:
                last = (code, resp)
        if not accepted:
            s.rset()
            raise Refused(last[0], _reply_text(last[1]))
        code, resp = s.data(raw)
        if code != 250:
            raise Refused(code, _reply_text(resp))
        return f"{code} {_reply_text(resp)}"

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            self._smtp.close()
        self._smtp = None

    def drop(self) -> None:
        """Forget a connection that failed (the next message opens a new one)."""
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
        self._smtp = None


class MailDispatcher:
    """One delivery worker; several may run (they share the consumer group)."""

    def __init__(
        self,
        coord: Coordinator,
        smarthost: Smarthost,
        *,
        dkim: DkimKey | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        consumer: str | None = None,
    ) -> None:
        self.coord = coord
        self.dkim = dkim
        self.policy = policy
        self.link = SmtpLink(smarthost, local_hostname=coord.mailbox.domain)
        self.reader = StreamReader(coord.redis, GROUP, consumer or consumer_name(self), policy)

    def run_once(self) -> int:
        """Deliver what is due in every outbox; returns how many messages were settled."""
        settled = 0
        try:
            for user_id in self.coord.mailbox.owners_with_mail():
                stream = self.coord.store.keys.mail_outbox(user_id)
                for entry in self.reader.due(stream):
                    settled += self._handle(user_id, stream, entry)
        finally:
            self.link.close()
        return settled

    def run_forever(self, stop: threading.Event, idle_wait_seconds: float = 0.2) -> None:
        run_rounds(
            stop,
            self.run_once,
            what="mail dispatcher",
            log=log,
            idle_wait_seconds=idle_wait_seconds,
        )

    def _settle(
        self,
        user_id: str,
        entry: Due,
        outcome: Literal["sent", "failed"],
        reply: str,
    ) -> dict[str, Any]:
        eid, fields, attempt = entry
        return self.coord.store.calls.mail_deliver(
            user_id=user_id,
            message_id=fields.get("message_id", ""),
            outcome=outcome,
            entry_id=eid,
            group=GROUP,
            reply=reply,
            attempts=attempt,
        )

    def _handle(self, user_id: str, stream: str, entry: Due) -> int:
        eid, fields, attempt = entry
        rec = self.coord.mailbox.record(user_id, fields.get("message_id", ""))
        if rec is None or rec.get("status") in ("sent", "failed"):
            # Sent before a crash kept it from being acknowledged, or gone: never again.
            self._settle(user_id, entry, "sent", "")
            return 1
        raw = compose(rec)
        if self.dkim is not None:
            from .dkim_sign import sign

            raw = sign(
                raw,
                domain=self.dkim.domain,
                selector=self.dkim.selector,
                private_key_pem=self.dkim.private_key_pem,
            )
        self.reader.touch(stream, eid)
        try:
            reply = self.link.send(raw, rec["from"], list(rec.get("to") or []))
        except Refused as exc:
            if exc.permanent or attempt >= self.policy.max_attempts:
                self._settle(user_id, entry, "failed", str(exc))
                log.info("mail %s failed: %s", rec["id"], exc)
                return 1
            log.info("mail %s deferred (attempt %d): %s", rec["id"], attempt, exc)
            return 0
        except (smtplib.SMTPException, OSError) as exc:
            self.link.drop()
            if attempt >= self.policy.max_attempts:
                self._settle(user_id, entry, "failed", f"{type(exc).__name__}: {exc}"[:300])
                return 1
            log.info("mail %s deferred (attempt %d): %s", rec["id"], attempt, exc)
            return 0
        # The smarthost took it: record that and acknowledge, in one step, right now.
        self._settle(user_id, entry, "sent", reply)
        return 1


class MailThread:
    """A dispatcher running in a daemon thread (``coordinator serve`` with mail on)."""

    def __init__(self, dispatcher: MailDispatcher) -> None:
        self.dispatcher = dispatcher
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.dispatcher.run_forever, args=(self._stop,), name="mail", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
