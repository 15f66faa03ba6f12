"""The ``Coordinator``: one Redis, its scripts, and the registries around them."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from .agents import Agents
from .approvals import Approvals
from .audit import AuditLog
from .bookings import Bookings
from .client import LocalClient
from .connectors import Connectors, SecretBox
from .mail.mailbox import Mailbox
from .owner_views import OwnerViews
from .owners import Owners
from .proposals import Proposals, ProposalService, ProposalTimers
from .proposals.service import visit
from .receipts import Receipts
from .rules import Rules
from .settings import Settings
from .signatures import AgentSigningKeys
from .store.handle import Store
from .webhooks.registry import Webhooks


class Coordinator:
    """Arbitrates bookings for every calendar stored in one Redis.

    Build it with :meth:`embedded` (a Redis engine the package runs itself, no
    install needed) or :meth:`from_url` (a Redis server, unix socket, TLS or
    Cluster). Every process that opens the same Redis is the same coordinator.
    """

    def __init__(self, redis_client: Any, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.redis = redis_client
        #: The Redis, its keys, scripts and limits, shared by every registry below.
        self.store = Store.open(redis_client, self.settings)
        self.bookings = Bookings(self.store)
        self.owners = Owners(self.store)
        self.agents = Agents(self.store)
        self.audit = AuditLog(self.store)
        self.webhooks = Webhooks(self.store)
        self.rules = Rules(self.store)
        self.approvals = Approvals(self.store, self.bookings)
        timers = ProposalTimers(self.store, tick=partial(visit, self.store))
        self.proposals = Proposals(ProposalService(self.store, self.bookings, timers))
        self.connectors = Connectors(
            self.bookings,
            SecretBox(self.settings.connector_key_file),
            deadline_seconds=self.settings.connector_deadline_seconds,
        )
        #: Signed approval/booking receipts and the JWKS that verifies them.
        self.receipts = Receipts(self.store)
        #: Agents' request-signing public keys (their signature directories).
        self.signatures = AgentSigningKeys(self.store)
        #: The owner's read views: bookings, one booking's trail, audit, proposals.
        self.views = OwnerViews(self.store, self.bookings, self.audit, self.proposals)
        #: Agents' mailboxes: the owner's views and policy, the receiver's way in.
        self.mailbox = Mailbox(self.store)

    @classmethod
    def embedded(
        cls, data_dir: str | os.PathLike[str] | None = None, **settings: Any
    ) -> Coordinator:
        """Open (or start) the embedded Redis engine whose data lives in ``data_dir``.

        Processes opening the same folder share one engine, so they really race.
        Defaults to ``$AGENTDRAFT_DATA_DIR`` or ``~/.agentdraft/data``.
        """
        from .store.embedded import default_data_dir, open_embedded

        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        settings.setdefault("connector_key_file", str(folder / "connector.key"))
        settings.setdefault("receipt_key_file", str(folder / "receipt_keys.json"))
        client = open_embedded(data_dir, durability=settings.get("durability", "fast"))
        coord = cls(client, Settings(**settings))
        # The audit signing key lives beside the engine's data, outside Redis.
        coord.audit.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        # A restarted embedded coordinator fires the deadlines it missed at once.
        coord.proposals.timers.start_if_pending()
        return coord

    @classmethod
    def from_url(cls, url: str, *, cluster: bool | None = None, **settings: Any) -> Coordinator:
        """Connect to ``redis://``, ``rediss://``, ``unix://`` or a Redis Cluster."""
        from .store.connect import connect

        return cls(connect(url, cluster=cluster), Settings(**settings))

    def with_settings(self, **changes: Any) -> Coordinator:
        """The same Redis with other defaults (for example a shorter arbitration window)."""
        return Coordinator(self.redis, replace(self.settings, **changes))

    def client(self, api_key: str) -> LocalClient:
        """A client bound to one agent's key, with the official SDK's surface."""
        return LocalClient.for_key(
            api_key,
            store=self.store,
            bookings=self.bookings,
            agents=self.agents,
            owners=self.owners,
            audit=self.audit,
            rules=self.rules,
            proposals=self.proposals.service,
            connectors=self.connectors,
            mailbox=self.mailbox,
        )

    def close(self) -> None:
        # Any timer thread on this connection (whichever coordinator started it) goes
        # with it, rather than retrying a closed client forever.
        ProposalTimers.stop_for(self.redis)
        self.redis.close()

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
