"""Coordinator-wide defaults. Every duration is configurable so tests never sleep 30 s."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .errors import ValidationError

#: Chosen by measurement (``python -m bench.arrival_spread``, README "Benchmarks"):
#: five agents that each build an HTTP client in a thread pool reached the
#: coordinator spread over p99 108-133 ms on the 2-core reference machine; 150 ms
#: covered every round, 100 ms 96-99 %. Only a winning write of an agent that is
#: not its owner's top-ranked one pays it; losers are answered as soon as a better
#: write takes the slot.
DEFAULT_ARBITRATION_WINDOW_MS = 150
#: When a booking write is acknowledged (README "Durability"; store/durability.py).
DURABILITY_MODES = ("fast", "local", "replicated")


@dataclass(frozen=True)
class Settings:
    """Defaults used when neither the owner nor the request says otherwise."""

    #: Writes for overlapping slots arriving within this many ms are arbitrated by
    #: priority; 0 disables the window (pure first-writer-wins among equals).
    arbitration_window_ms: int = DEFAULT_ARBITRATION_WINDOW_MS
    #: A hold lives this long unless promoted or released.
    hold_ttl_seconds: float = 30.0
    #: A commit can be evicted by a strictly better commit for this long.
    bump_window_seconds: float = 30.0
    #: Longest booking accepted, in minutes.
    max_booking_minutes: int = 24 * 60
    #: How long an idempotency key remembers its result.
    idempotency_ttl_seconds: int = 24 * 3600
    #: Default token bucket per API key: refill rate (requests/s) and size (burst).
    #: An owner can set other limits for one agent.
    rate_limit_per_second: float = 60.0
    rate_limit_burst: int = 600
    #: How long a generic approval request waits for a person unless it says otherwise.
    approval_ttl_seconds: float = 3600.0
    #: A proposal created without ``expires_at`` lapses after this long.
    proposal_ttl_seconds: float = 7 * 24 * 3600.0
    #: A resolution booking its slot holds the proposal this long; if its resolver
    #: dies, the timer (or the next call) settles it from what the commit left behind.
    proposal_resolution_lease_seconds: float = 30.0
    #: Run the proposal timer (expiry without API calls) in this process.
    run_proposal_timer: bool = True
    #: Prefix of every Redis key, so several coordinators can share one Redis.
    namespace: str = "ad"
    #: When a booking write is acknowledged: "fast" once Redis ran it, "local" once
    #: it is fsynced to the append-only file, "replicated" once a replica has it.
    durability: str = "fast"
    #: How long "local"/"replicated" wait for that confirmation before a 503.
    durability_timeout_ms: int = 1000
    #: Run the calendar connector sync worker (pull and push) inside ``serve``.
    run_connector_sync: bool = True
    #: Seconds between two pulls of one connector by the worker.
    connector_pull_interval_seconds: float = 60.0
    #: Longest one exchange with a calendar server may take (a pull, a write), however
    #: its bytes trickle in: one worker serves every owner's connectors in turn.
    connector_deadline_seconds: float = 60.0
    #: File holding the Fernet key that encrypts connector credentials (created 0600).
    #: None: ``$AGENTDRAFT_CONNECTOR_KEY[_FILE]``, else ``connector.key`` in the data folder.
    connector_key_file: str | None = None
    #: This coordinator's public base URL: the ``iss`` of its receipts and the base of
    #: agents' signature directories. None: ``$AGENTDRAFT_PUBLIC_URL``, else localhost.
    public_url: str | None = None
    #: File holding the receipt signing keys (0600, outside Redis). None:
    #: ``$AGENTDRAFT_RECEIPT_KEY_FILE``, else ``receipt_keys.json`` in the data folder.
    receipt_key_file: str | None = None
    #: A receipt's lifetime; a rotated-out signing key stays in the JWKS this long.
    receipt_ttl_seconds: float = 30 * 24 * 3600.0
    #: After a rotation, an agent's previous request-signing key stays in its signature
    #: directory this long, so requests signed just before still verify.
    agent_key_grace_seconds: float = 300.0
    #: Who makes links for ``with_conferencing=True`` commits (coordinator/conferencing.py):
    #: None: ``$AGENTDRAFT_CONFERENCING_PROVIDER``, else "jitsi"; "none" turns it off.
    conferencing_provider: str | None = None
    #: Jitsi Meet instance. None: ``$AGENTDRAFT_CONFERENCING_BASE_URL``, else meet.jit.si.
    conferencing_base_url: str | None = None
    #: The agents' mail domain: an agent's address is ``<agent_id>@<domain>``. None:
    #: ``$AGENTDRAFT_MAIL_DOMAIN``, else "localhost" (README "Mailbox").
    mail_domain: str | None = None
    #: Messages an agent may send per UTC day unless the owner sets its own cap.
    mail_send_cap_per_day: int = 200
    #: Whether an agent may send mail that names no booking, unless the owner says.
    mail_free_form_allowed: bool = True
    #: Signed audit checkpoints in the write path: every N-th audit entry of a calendar
    #: created by this coordinator asks for a checkpoint of itself (in the same script),
    #: and ``serve`` signs it at once (coordinator/audit/signer.py). 0 = off; then run
    #: ``coordinator audit checkpoint`` yourself.
    audit_checkpoint_every: int = 0
    #: ``audit verify`` reports a checkpoint that fell due longer ago than this and was
    #: never signed (the signer is down, or its key gone).
    audit_checkpoint_grace_seconds: float = 300.0

    def __post_init__(self) -> None:
        limits = {
            "arbitration_window_ms": (0, 10_000),
            "hold_ttl_seconds": (0.001, 24 * 3600),
            "bump_window_seconds": (0, 7 * 24 * 3600),
            "max_booking_minutes": (5, 31 * 24 * 60),
            "idempotency_ttl_seconds": (1, 30 * 24 * 3600),
            "rate_limit_per_second": (0.0001, 1_000_000),
            "rate_limit_burst": (1, 1_000_000),
            "approval_ttl_seconds": (0.05, 30 * 24 * 3600),
            "proposal_ttl_seconds": (0.05, 90 * 24 * 3600),
            "proposal_resolution_lease_seconds": (0.05, 3600),
            "durability_timeout_ms": (1, 60_000),
            "connector_deadline_seconds": (0.1, 3600),
            "receipt_ttl_seconds": (60, 366 * 24 * 3600),
            "agent_key_grace_seconds": (0, 24 * 3600),
            "mail_send_cap_per_day": (0, 1_000_000),
            "audit_checkpoint_every": (0, 10_000_000),
            "audit_checkpoint_grace_seconds": (0, 30 * 24 * 3600),
        }
        for f in fields(self):
            if f.name not in limits:
                continue
            value = getattr(self, f.name)
            lo, hi = limits[f.name]
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not lo <= value <= hi:
                raise ValidationError(f.name, f"must be a number between {lo} and {hi}")
        if self.durability not in DURABILITY_MODES:
            raise ValidationError("durability", f"must be one of {', '.join(DURABILITY_MODES)}")
        if not self.namespace or any(c in self.namespace for c in "{}: "):
            raise ValidationError("namespace", "must be non-empty without '{', '}', ':' or spaces")
