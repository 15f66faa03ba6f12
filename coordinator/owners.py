"""Calendar owners: one owner, one calendar, one hash tag."""

from __future__ import annotations

from .audit.checkpoints import Checkpoints
from .buckets import from_ms
from .errors import NotFound, ValidationError
from .ids import new_id
from .models import Owner
from .replies import About, refusal
from .rules import Rules
from .store.errors import store_errors
from .store.handle import Store
from .wallclock import check_timezone


class Owners:
    """Create and look up calendar owners."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, timezone: str = "UTC", *, user_id: str | None = None) -> Owner:
        """Register an owner. With no rules set, every hour is bookable."""
        tz = check_timezone(timezone)
        uid = user_id or new_id("usr")
        if not isinstance(uid, str) or not uid.startswith("usr_") or any(c in uid for c in "{}: "):
            raise ValidationError("user_id", "must look like usr_… without '{', '}', ':' or spaces")
        k = self._store.keys
        with store_errors("owners.create"):
            reply = self._store.calls.create_owner(user_id=uid, timezone=tz)
            if reply["r"] != "ok":
                raise refusal("owner", reply, About(uid))
            self._store.redis.sadd(k.owners_index(), uid)
        every = self._store.settings.audit_checkpoint_every
        if every:  # checkpoints in the write path (coordinator/audit/signer.py)
            Checkpoints(self._store).enable(uid, every)
        o = reply["owner"]
        return Owner(user_id=uid, timezone=tz, created_at=from_ms(o["created_ms"]))

    def get(self, user_id: str) -> Owner:
        with store_errors("owners.get"):
            h = self._store.redis.hgetall(self._store.keys.owner(user_id))
        if not h:
            raise NotFound(f"no owner {user_id}", error="owner_not_found")
        return Owner(
            user_id=user_id,
            timezone=h.get("timezone", "UTC"),
            created_at=from_ms(int(h["created_ms"])),
            rules_version=int(h.get("rules_version") or 1),
        )

    def list(self) -> list[str]:
        with store_errors("owners.list"):
            return sorted(self._store.redis.smembers(self._store.keys.owners_index()))

    def set_timezone(self, user_id: str, timezone: str) -> Owner:
        """Set the IANA zone every wall-clock rule is read in (default UTC).

        An unknown zone raises :class:`ValidationError` on ``timezone`` and changes
        nothing. Bumps ``rules_version`` (availability etags go stale) and is audited.
        """
        Rules(self._store).set_timezone(user_id, timezone)
        return self.get(user_id)

    def arbitration_window(self, user_id: str) -> int | None:
        """This owner's override of the arbitration window in ms (None: the coordinator's)."""
        self.get(user_id)
        with store_errors("owners.arbitration_window"):
            raw = self._store.redis.hget(self._store.keys.owner(user_id), "arb_window_ms")
        return None if raw is None else int(raw)

    def set_arbitration_window(self, user_id: str, ms: int | None) -> None:
        """Override the coordinator's arbitration window for one owner (None clears it)."""
        self.get(user_id)
        key = self._store.keys.owner(user_id)
        with store_errors("owners.set_arbitration_window"):
            if ms is None:
                self._store.redis.hdel(key, "arb_window_ms")
                return
            if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= 10_000:
                raise ValidationError("arbitration_window_ms", "must be 0..10000 ms")
            self._store.redis.hset(key, "arb_window_ms", ms)
