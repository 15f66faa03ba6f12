"""Sign the checkpoints the scripts ask for, as soon as they ask: checkpoints in the write path.

Ed25519 cannot run inside Lua, and the key must never enter Redis. So the script
that appends a calendar's N-th entry (``checkpoint_every`` in the owner hash, see
``tx_audit`` in _lib.lua) also appends, in the same atomic step, a request naming
that entry, its position and its hash to the calendar's ``cpdue`` stream. The
signer, a thread of ``coordinator serve`` (or the ``audit checkpoint --follow``
worker), blocks on those streams, signs each request's entry (after checking the
entry is in the stream with that hash) and deletes the request. A request survives
a crash of the signer; ``audit verify`` reports an entry that fell due longer than
the grace ago with no checkpoint covering it (``checkpoint_overdue``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from ..errors import StoreUnavailable
from ..store.errors import store_errors
from ..store.handle import Store
from .checkpoints import KEY_ENV, Checkpoint, Checkpoints, SigningKey, anchor_dir

log = logging.getLogger("coordinator.audit")

#: Requests read per calendar per pass.
_BATCH = 100


class CheckpointSigner:
    """Signs pending checkpoint requests with one key (created 0600 on first use)."""

    def __init__(self, store: Store, key_path: Path, *, block_ms: int = 2000) -> None:
        self._store = store
        self._key_path = key_path
        self._key: SigningKey | None = None
        self._checkpoints = Checkpoints(store)
        self._block_ms = block_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _signing_key(self) -> SigningKey:
        if self._key is None:
            self._key = SigningKey.load_or_create(self._key_path)
        return self._key

    def sign_due(self, user_id: str) -> list[Checkpoint]:
        """Sign every pending request of one calendar; returns what was signed."""
        r, k = self._store.redis, self._store.keys
        due = self._checkpoints.due_stream(user_id)
        out: list[Checkpoint] = []
        while True:
            with store_errors("audit checkpoint"):
                requests = r.xrange(due, count=_BATCH)
            for rid, f in requests:
                entry_id = f.get("entry_id", "")
                with store_errors("audit checkpoint"):
                    found = r.xrange(k.audit(user_id), entry_id, entry_id) if entry_id else []
                if found and found[0][1].get("hash") == f.get("hash"):
                    cp = self._checkpoints.sign_entry(
                        user_id, self._signing_key(), entry_id, int(f["position"]), f["hash"]
                    )
                    self._checkpoints.record_locally(cp, anchor_dir(self._key_path))
                    out.append(cp)
                else:  # never sign what the stream does not hold
                    log.warning("checkpoint request %s of %s names no such entry", rid, user_id)
                with store_errors("audit checkpoint"):
                    r.xdel(due, rid)
            if len(requests) < _BATCH:
                return out

    def drain(self, user_ids: list[str] | None = None) -> list[Checkpoint]:
        """Sign what is pending for these calendars (default: every owner)."""
        if user_ids is None:
            with store_errors("audit checkpoint"):
                user_ids = sorted(self._store.redis.smembers(self._store.keys.owners_index()))
        out: list[Checkpoint] = []
        for uid in user_ids:
            out += self.sign_due(uid)
        return out

    def _wait(self, user_ids: list[str]) -> None:
        """Block until some calendar has a request (one server) or for a while (cluster,
        where one XREAD cannot span slots)."""
        r = self._store.redis
        if hasattr(r, "get_nodes") or not user_ids:
            self._stop.wait(self._block_ms / 1000)
            return
        streams: dict[Any, Any] = {self._checkpoints.due_stream(u): "0" for u in user_ids}
        with store_errors("audit checkpoint"):
            r.xread(streams, count=1, block=self._block_ms)

    def run(self) -> None:
        """The loop of the thread: drain, then wait for the next request."""
        while not self._stop.is_set():
            try:
                with store_errors("audit checkpoint"):
                    owners = sorted(self._store.redis.smembers(self._store.keys.owners_index()))
                self.drain(owners)
                self._wait(owners)
            except StoreUnavailable as exc:  # the store watch restarts it; try again
                log.info("checkpoint signer: %s", exc)
                self._stop.wait(self._block_ms / 1000)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="checkpoint-signer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._block_ms / 1000 + 5)


def start_checkpoint_signer(store: Store, key_path: Path | None) -> CheckpointSigner | None:
    """With ``audit_checkpoint_every`` set: switch every calendar to it and start signing.

    None (and a warning) when no signing key can be found: the scripts would ask for
    checkpoints nobody signs, and verify would report them overdue.
    """
    every = store.settings.audit_checkpoint_every
    if not every:
        return None
    if key_path is None:
        log.warning(
            "audit_checkpoint_every is %d but there is no signing key: set $%s", every, KEY_ENV
        )
        return None
    with store_errors("audit checkpoint"):
        owners = sorted(store.redis.smembers(store.keys.owners_index()))
    checkpoints = Checkpoints(store)
    for uid in owners:
        checkpoints.enable(uid, every)
    signer = CheckpointSigner(store, key_path)
    signer.start()
    return signer
