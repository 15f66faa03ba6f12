"""A capture SMTP server (aiosmtpd) on loopback: the smarthost of the mail tests.

It records a message only when it answers 250 to its data, as a real server takes
responsibility only then. ``hold()`` makes it keep the next messages inside DATA
(the client waits for the final reply) until ``release()``: a client killed while
held loses the connection, aiosmtpd cancels the handler, and nothing is recorded.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.servers import TlsFiles, free_port


@dataclass(frozen=True)
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message_id(self) -> str:
        return str(message_from_bytes(self.raw, policy=policy.default)["Message-ID"])


class _Handler:
    def __init__(self, owner: CaptureServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self.owner.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        o = self.owner
        with o.lock:
            o.in_data += 1
            o.arrivals.notify_all()
        loop = asyncio.get_running_loop()
        while True:
            with o.lock:
                if o.allow is None or o.allowed < o.allow:
                    o.allowed += 1
                    break
                gate = o.gate
            # Cancelled (and so never recorded) if the client goes away meanwhile.
            await loop.run_in_executor(None, gate.wait, 1.0)
        raw = envelope.original_content or envelope.content
        with o.lock:
            o.messages.append(Captured(envelope.mail_from, list(envelope.rcpt_tos), bytes(raw)))
            o.arrivals.notify_all()
        return "250 2.0.0 Captured"


class CaptureServer:
    """``with CaptureServer() as smtp: ... smtp.messages``.

    ``tls``: offer STARTTLS with this certificate and require it (``implicit``: TLS from
    the first byte instead); ``login``: require SMTP AUTH with this user and password.
    """

    def __init__(
        self,
        *,
        tls: TlsFiles | None = None,
        implicit: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.logins: list[str] = []
        self.lock = threading.Lock()
        self.arrivals = threading.Condition(self.lock)
        self.messages: list[Captured] = []
        self.in_data = 0
        #: Accept at most this many messages (None: all) until released.
        self.allow: int | None = None
        self.allowed = 0
        self.gate = threading.Event()
        #: Recipient address -> the reply that refuses it at RCPT (e.g. "550 5.1.1 no").
        self.refuse: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        if tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(tls.cert), str(tls.key))
            if implicit:
                kwargs["ssl_context"] = ctx
            else:
                kwargs.update(tls_context=ctx, require_starttls=True)
        if login is not None:
            kwargs.update(
                auth_required=True,
                auth_require_tls=tls is not None,
                authenticator=self._authenticator(login),
            )
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticator(self, login: tuple[str, str]) -> Any:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == login
            )
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok)

        return check

    def hold(self, after: int) -> None:
        """Accept ``after`` more messages, then keep the next ones inside DATA."""
        with self.lock:
            self.allow = self.allowed + after
            self.gate = threading.Event()

    def release(self) -> None:
        with self.lock:
            self.allow = None
            self.gate.set()

    def wait_for(self, what: str, count: int, timeout: float = 30.0) -> None:
        """Block until ``in_data`` or ``len(messages)`` reaches ``count``."""

        def reached() -> bool:
            have = self.in_data if what == "in_data" else len(self.messages)
            return have >= count

        with self.arrivals:
            if not self.arrivals.wait_for(reached, timeout=timeout):
                raise TimeoutError(f"capture server: {what} stayed below {count}")

    def __enter__(self) -> CaptureServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.controller.stop()
