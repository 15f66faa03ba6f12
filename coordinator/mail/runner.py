"""Run the mail component: the receiver and the dispatcher, in this process.

Used by ``coordinator mail serve`` and, with ``AGENTDRAFT_MAIL_SERVE=1``, by
``coordinator serve``'s lifespan. The dispatcher runs only when a smarthost is
configured; several dispatchers (in several processes) may run at once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from ..coordinator import Coordinator
from .config import MailConfig

if TYPE_CHECKING:
    from .dispatcher import MailThread
    from .receiver import Receiver

log = logging.getLogger("coordinator.mail")


class MailRunner:
    """Start and stop the receiver and the dispatcher thread together."""

    def __init__(
        self, coord: Coordinator, config: MailConfig, *, receive: bool = True, dispatch: bool = True
    ) -> None:
        self.coord = coord
        self.config = config
        self.receive = receive
        self.dispatch = dispatch and config.smarthost is not None
        self.receiver: Receiver | None = None
        self.thread: MailThread | None = None

    def start(self) -> MailRunner:
        from .dispatcher import DEFAULT_POLICY, MailDispatcher, MailThread
        from .receiver import Receiver

        if self.receive:
            receiver = Receiver(self.coord, self.config).start()
            self.receiver = receiver
            log.warning(
                "mail receiver for @%s on %s:%d",
                self.config.domain,
                self.config.listen_host,
                receiver.port,
            )
        smarthost = self.config.smarthost
        if self.dispatch and smarthost is not None:
            c = self.config
            policy = replace(
                DEFAULT_POLICY, visibility_ms=c.visibility_ms, backoff_base_ms=c.backoff_ms
            )
            d = MailDispatcher(self.coord, smarthost, dkim=c.dkim, policy=policy)
            thread = MailThread(d)
            thread.start()
            self.thread = thread
        return self

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()
        if self.receiver is not None:
            self.receiver.stop()


def start_mail_from_env(coord: Coordinator) -> MailRunner | None:
    """What ``coordinator serve`` runs in its lifespan: nothing unless
    ``AGENTDRAFT_MAIL_SERVE=1``. With several workers only the first binds the
    receiver's port; the others run a dispatcher only."""
    config = MailConfig.from_env()
    if not config.serve:
        return None
    try:
        return MailRunner(coord, config).start()
    except OSError as exc:
        log.warning("mail receiver not started here (%s); dispatching only", exc)
        return MailRunner(coord, config, receive=False).start()
