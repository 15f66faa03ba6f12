"""Every Redis key name the coordinator uses, built in one place.

All keys of one calendar carry the owner's id as a ``{hash tag}``, so a
transition that touches buckets, the booking record, the audit stream and the
idempotency record lands in a single Redis Cluster slot and can run as one
script. The only untagged keys are the index entries (API key, agent id and
approval id to owner), which are looked up before the calendar is known.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key builder for one namespace (several coordinators can share a Redis)."""

    namespace: str = "ad"

    def prefix(self, user_id: str) -> str:
        return f"{self.namespace}:{{{user_id}}}:"

    def owner(self, user_id: str) -> str:
        return self.prefix(user_id) + "owner"

    def agents(self, user_id: str) -> str:
        return self.prefix(user_id) + "agents"

    def agent(self, user_id: str, agent_id: str) -> str:
        return self.prefix(user_id) + f"agent:{agent_id}"

    def bookings(self, user_id: str) -> str:
        return self.prefix(user_id) + "bookings"

    def audit(self, user_id: str) -> str:
        return self.prefix(user_id) + "audit"

    def durability_marker(self, user_id: str) -> str:
        """Written just before a durability wait, on the calendar's slot (store/durability.py)."""
        return self.prefix(user_id) + "ack"

    def booking_audit(self, user_id: str, booking_id: str) -> str:
        return self.prefix(user_id) + f"bkgaudit:{booking_id}"

    def day(self, user_id: str, day: int) -> str:
        return self.prefix(user_id) + f"day:{day}"

    def day_cache(self, user_id: str, day: int) -> str:
        """Availability's cache of UTC day ``day`` (written by read_availability.lua)."""
        return self.prefix(user_id) + f"avc:{day}"

    def live_generation(self, user_id: str) -> str:
        """Bumped by every write without an audit entry to a bucket map, a record or an
        external block (an audited one moves the owner's ``audit_n``): with it, the
        stamp that keeps the day cache honest (``tx_finish`` in _lib.lua)."""
        return self.prefix(user_id) + "avgen"

    def wake(self, user_id: str, booking_id: str) -> str:
        return self.prefix(user_id) + f"wake:{booking_id}"

    def idempotency(self, user_id: str, agent_id: str, key: str) -> str:
        return self.prefix(user_id) + f"idem:{agent_id}:{key}"

    def counters(self, user_id: str, booking_id: str) -> str:
        """Hash of the counter-offers on one booking: counter id -> JSON record."""
        return self.prefix(user_id) + f"counters:{booking_id}"

    def approvals(self, user_id: str) -> str:
        """Hash of the calendar's approval requests: approval id -> JSON record."""
        return self.prefix(user_id) + "approvals"

    def approval_wake(self, user_id: str, approval_id: str) -> str:
        """Pushed when an approval is decided, to wake ``approvals.wait``."""
        return self.prefix(user_id) + f"apwake:{approval_id}"

    def proposals(self, user_id: str) -> str:
        """Hash of the calendar's multi-slot proposals: proposal id -> JSON record."""
        return self.prefix(user_id) + "proposals"

    def proposal_index(self, proposal_id: str) -> str:
        """Untagged: proposal id -> owner id, so ``proposals.get(id)`` needs no owner."""
        return f"{self.namespace}:proposalidx:{proposal_id}"

    def proposal_timers(self) -> str:
        """Sorted set ``<user_id> <proposal_id>`` -> when the timer must visit (ms).

        One per namespace, tagged ``{proposal-timers}`` with its wake-up lists so a
        timer can block on them together even on a Cluster.
        """
        return f"{self.namespace}:{{proposal-timers}}:due"

    def proposal_timers_wake(self) -> str:
        """Pushed when a timer is added, so a sleeping timer re-reads the next deadline."""
        return f"{self.namespace}:{{proposal-timers}}:wake"

    def proposal_timers_stop(self, token: str) -> str:
        """Pushed to stop one timer thread without waiting out its block."""
        return f"{self.namespace}:{{proposal-timers}}:stop:{token}"

    def connectors(self, user_id: str) -> str:
        """Hash of the calendar's connectors: connector id -> JSON record (secret encrypted)."""
        return self.prefix(user_id) + "connectors"

    def connector_state(self, user_id: str, connector_id: str) -> str:
        """Hash of one connector's sync state: token, ctag, last pull/push, last error."""
        return self.prefix(user_id) + f"cx:{connector_id}"

    def connector_lease(self, user_id: str, connector_id: str) -> str:
        """String holding the token of the one pull (or removal) that may apply now."""
        return self.connector_state(user_id, connector_id) + ":lease"

    def connector_hrefs(self, user_id: str, connector_id: str) -> str:
        """Hash remote href -> JSON {etag, blocks}: what the last pull saw of each object."""
        return self.prefix(user_id) + f"cxhref:{connector_id}"

    def connector_pushed(self, user_id: str, connector_id: str) -> str:
        """Hash booking id -> JSON {href, etag} of the event pushed for it."""
        return self.prefix(user_id) + f"cxpushed:{connector_id}"

    def external_blocks(self, user_id: str) -> str:
        """Hash '<connector>:<block>' -> JSON external busy block (see lua/_external.lua)."""
        return self.prefix(user_id) + "ext"

    def push_targets(self, user_id: str) -> str:
        """Hash of the connectors that receive pushed bookings (its existence gates the outbox)."""
        return self.prefix(user_id) + "cxpush"

    def push_outbox(self, user_id: str) -> str:
        """Stream of booking changes to push, written by the booking's own script."""
        return self.prefix(user_id) + "cxoutbox"

    def connector_index(self, connector_id: str) -> str:
        """Untagged: connector id -> owner id, so ``connectors.get(id)`` needs no owner."""
        return f"{self.namespace}:connectoridx:{connector_id}"

    def connector_owners(self) -> str:
        """Untagged set of owners with at least one connector, for the sync worker."""
        return f"{self.namespace}:connectorowners"

    def mail(self, user_id: str) -> str:
        """Hash of the calendar's mail messages: message id -> JSON record (lua/_mail.lua)."""
        return self.prefix(user_id) + "mail"

    def mailbox(self, user_id: str, agent_id: str) -> str:
        """Sorted set of one agent's messages, newest highest (score: its audit id)."""
        return self.prefix(user_id) + f"mbox:{agent_id}"

    def mailbox_booking(self, user_id: str, agent_id: str, booking_id: str) -> str:
        """Sorted set of one agent's messages about one booking (same scores)."""
        return self.prefix(user_id) + f"mboxbkg:{agent_id}:{booking_id}"

    def mail_attachments(self, user_id: str) -> str:
        """Hash '<message id>:<index>' -> an inbound attachment's bytes (lua/_mail.lua)."""
        return self.prefix(user_id) + "mailatt"

    def mail_threads(self, user_id: str) -> str:
        """Hash '<agent_id> <Message-ID header>' -> JSON {m, t, b}: threading and dedupe."""
        return self.prefix(user_id) + "mailthread"

    def mail_suppressions(self, user_id: str) -> str:
        """Hash address (lower case) -> JSON {kind, at_ms, ...}: addresses never mailed."""
        return self.prefix(user_id) + "mailsupp"

    def mail_sent_count(self, user_id: str, agent_id: str, day: int) -> str:
        """Counter of one agent's sends on one UTC day (server clock); expires after two."""
        return self.prefix(user_id) + f"mailcap:{agent_id}:{day}"

    def mail_outbox(self, user_id: str) -> str:
        """Stream of outbound message ids for the mail dispatcher, written by the send."""
        return self.prefix(user_id) + "mailout"

    def mail_owners(self) -> str:
        """Untagged set of owners that ever queued mail, for the dispatcher's rounds."""
        return f"{self.namespace}:mailowners"

    def api_key(self, key_hash: str) -> str:
        """Untagged: maps a key's SHA-256 to its owner and agent."""
        return f"{self.namespace}:apikey:{key_hash}"

    def agent_index(self, agent_id: str) -> str:
        """Untagged: agent id -> owner id, so ``agents.rotate(agent_id)`` needs no owner."""
        return f"{self.namespace}:agentidx:{agent_id}"

    def approval_index(self, approval_id: str) -> str:
        """Untagged: approval id -> owner id, so ``approvals.approve(id)`` needs no owner."""
        return f"{self.namespace}:approvalidx:{approval_id}"

    def owners_index(self) -> str:
        """Untagged set of every owner id, for listing and the CLI."""
        return f"{self.namespace}:owners"
