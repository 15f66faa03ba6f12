"""Signed checkpoints of a calendar's audit head: rewriting history needs the key.

The SHA-1 chain only proves the entries agree with each other: someone with Redis
access can rebuild the whole stream with recomputed hashes and a new head. A
checkpoint is the coordinator's Ed25519 signature over (calendar, entry id,
position from genesis, that entry's hash). ``audit verify`` checks every
checkpoint against the chain, so a forged history must match hashes the signer
already vouched for, which it cannot without the private key.

The key lives outside Redis: a 0600 PEM file (``audit-signing.key`` in the
embedded engine's data folder, or a path in ``$AGENTDRAFT_AUDIT_KEY`` / the
``--signing-key`` option for a server). Checkpoints are kept twice: in the
calendar's ``checkpoints`` stream in Redis (the ACL lets the coordinator append
but not delete it, see acl.py) and as JSON lines in a folder beside the key, so
deleting them from Redis does not make the history unanchored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ValidationError
from ..models import AuditProblem
from ..store.errors import store_errors
from ..store.handle import Store
from .chain import ChainWalk

KEY_ENV = "AGENTDRAFT_AUDIT_KEY"
KEY_FILE = "audit-signing.key"
#: Text signed for a checkpoint; the version prefix keeps it from meaning anything else.
_DOMAIN = "agentdraft-audit-checkpoint/1"

#: The audit head, its position and the server clock in one atomic read.
_HEAD = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if not last then return false end
local hash = ''
for i = 1, #last[2], 2 do if last[2][i] == 'hash' then hash = last[2][i + 1] end end
local base = tonumber(redis.call('HGET', KEYS[2], 'entries') or '0')
local t = redis.call('TIME')
return { last[1], hash, base + redis.call('XLEN', KEYS[1]), t[1] * 1000 + math.floor(t[2] / 1000) }
"""


class SigningKey:
    """The coordinator's Ed25519 key, read from (or created as) a 0600 PEM file."""

    def __init__(self, private: Ed25519PrivateKey | None, public: Ed25519PublicKey) -> None:
        self._private = private
        self.public = public
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        #: Short fingerprint of the public key, stored in every checkpoint.
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SigningKey:
        """A private key (can sign) or a public key (can only verify) from a PEM file."""
        data = Path(path).read_bytes()
        if b"PUBLIC KEY" in data:
            pub = serialization.load_pem_public_key(data)
            if not isinstance(pub, Ed25519PublicKey):
                raise ValidationError("signing_key", f"{path} is not an Ed25519 public key")
            return cls(None, pub)
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValidationError("signing_key", f"{path} is not an Ed25519 private key")
        return cls(key, key.public_key())

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> SigningKey:
        """The key at ``path``; a new one (mode 0600, created atomically) if none exists."""
        p = Path(path)
        if p.exists():
            return cls.load(p)
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return cls.load(p)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return cls(key, key.public_key())

    @property
    def can_sign(self) -> bool:
        return self._private is not None

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def sign(self, text: str) -> str:
        if self._private is None:
            raise ValidationError("signing_key", "a public key can verify but not sign")
        return self._private.sign(text.encode()).hex()

    def verifies(self, text: str, signature: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature), text.encode())
        except (InvalidSignature, ValueError):
            return False
        return True


def key_path(explicit: str | os.PathLike[str] | None, data_dir: Path | None) -> Path | None:
    """Where the key is: the explicit path, else ``$AGENTDRAFT_AUDIT_KEY``, else the
    embedded engine's data folder (``data_dir``, None for a server)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    return None if data_dir is None else data_dir / KEY_FILE


def anchor_dir(path: Path) -> Path:
    """The folder beside the key where checkpoints are also written, one file per calendar."""
    return path.parent / (path.name + ".checkpoints")


@dataclass(frozen=True)
class Checkpoint:
    user_id: str
    entry_id: str
    #: 1-based position of the entry from genesis (archived entries included).
    position: int
    hash: str
    ts_ms: int
    key_id: str
    signature: str = ""

    def text(self) -> str:
        return (
            f"{_DOMAIN}\n{self.user_id}\n{self.entry_id}\n{self.position}\n"
            f"{self.hash}\n{self.ts_ms}\n{self.key_id}\n"
        )

    @classmethod
    def from_fields(cls, f: dict[str, Any]) -> Checkpoint:
        return cls(
            user_id=str(f["user_id"]),
            entry_id=str(f["entry_id"]),
            position=int(f["position"]),
            hash=str(f["hash"]),
            ts_ms=int(f["ts_ms"]),
            key_id=str(f["key_id"]),
            signature=str(f.get("signature", "")),
        )


class Checkpoints:
    """Sign, store and list one coordinator's checkpoints."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def stream(self, user_id: str) -> str:
        return self._store.keys.prefix(user_id) + "checkpoints"

    def archived(self, user_id: str) -> str:
        """Hash the archiver keeps: how many entries left the stream, and the last hash."""
        return self._store.keys.prefix(user_id) + "audit-archived"

    def due_stream(self, user_id: str) -> str:
        """Checkpoint requests the scripts add: every N-th entry names itself (_lib.lua)."""
        return self._store.keys.prefix(user_id) + "cpdue"

    def enable(self, user_id: str, every: int) -> None:
        """Make every ``every``-th audit entry of the calendar ask for a checkpoint of
        itself, in the script that writes it (0 switches it off).

        Entries from the next write on fall due (that script records where it started,
        ``checkpoint_from``); switching on again with the same N changes nothing.
        """
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ValidationError("every", "must be a whole number of entries, 0 = off")
        owner = self._store.keys.owner(user_id)
        r = self._store.redis
        with store_errors("audit checkpoint"):
            if every and int(r.hget(owner, "checkpoint_every") or 0) == every:
                return
            pipe = r.pipeline(transaction=True)
            if every:
                pipe.hset(owner, "checkpoint_every", str(every))
            else:
                pipe.hdel(owner, "checkpoint_every")
            pipe.hdel(owner, "checkpoint_from")
            pipe.execute()

    def policy(self, user_id: str) -> tuple[int, int | None]:
        """(N, the position after which entries fall due): (0, None) when it is off."""
        with store_errors("audit verify"):
            every, start = self._store.redis.hmget(
                self._store.keys.owner(user_id), "checkpoint_every", "checkpoint_from"
            )
        return int(every or 0), None if start is None else int(start)

    def sign_entry(
        self, user_id: str, key: SigningKey, entry_id: str, position: int, entry_hash: str
    ) -> Checkpoint:
        """Sign one given entry (a request the scripts queued) and store the checkpoint."""
        k, r = self._store.keys, self._store.redis
        with store_errors("audit checkpoint"):
            secs, micros = r.eval("return redis.call('TIME')", 1, k.owner(user_id))
        ts = int(secs) * 1000 + int(micros) // 1000
        cp = Checkpoint(user_id, entry_id, position, entry_hash, ts, key.key_id)
        cp = Checkpoint(**{**asdict(cp), "signature": key.sign(cp.text())})
        with store_errors("audit checkpoint"):
            r.xadd(self.stream(user_id), {f: str(v) for f, v in asdict(cp).items()})  # type: ignore[arg-type]
        return cp

    def sign(self, user_id: str, key: SigningKey) -> Checkpoint | None:
        """Sign the calendar's current head (None if its stream is empty)."""
        k, r = self._store.keys, self._store.redis
        with store_errors("audit checkpoint"):
            head = r.eval(_HEAD, 2, k.audit(user_id), self.archived(user_id))
        if not head:
            return None
        entry_id, h, position, ts = head
        cp = Checkpoint(user_id, str(entry_id), int(position), str(h), int(ts), key.key_id)
        cp = Checkpoint(**{**asdict(cp), "signature": key.sign(cp.text())})
        fields = {f: str(v) for f, v in asdict(cp).items()}
        with store_errors("audit checkpoint"):
            r.xadd(self.stream(user_id), fields)  # type: ignore[arg-type]
        return cp

    def record_locally(self, cp: Checkpoint, folder: Path) -> None:
        """Append the checkpoint to ``folder/<user>.jsonl`` (0600), outside Redis."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / f"{cp.user_id}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(json.dumps(asdict(cp), sort_keys=True) + "\n")

    def due(self, user_id: str, every: int) -> bool:
        """Have ``every`` entries been written since the latest checkpoint in Redis?"""
        k, r = self._store.keys, self._store.redis
        with store_errors("audit checkpoint"):
            last = r.xrevrange(self.stream(user_id), count=1)
            length = r.xlen(k.audit(user_id))
            base = int(r.hget(self.archived(user_id), "entries") or 0)
        done = int(last[0][1]["position"]) if last else 0
        return base + length - done >= every

    def list(self, user_id: str, folder: Path | None = None) -> list[Checkpoint]:
        """Every checkpoint in Redis and in ``folder``, oldest position first, deduplicated."""
        found: dict[tuple[str, str], Checkpoint] = {}
        with store_errors("audit verify"):
            for _, fields in self._store.redis.xrange(self.stream(user_id)):
                cp = _parse(fields)
                if cp is not None:
                    found[(cp.entry_id, cp.signature)] = cp
        local = None if folder is None else folder / f"{user_id}.jsonl"
        if local is not None and local.exists():
            for line in local.read_text().splitlines():
                try:
                    cp = _parse(json.loads(line))
                except ValueError:
                    cp = None
                if cp is not None and cp.user_id == user_id:
                    found[(cp.entry_id, cp.signature)] = cp
        return sorted(found.values(), key=lambda c: (c.position, c.ts_ms))


def _parse(fields: dict[str, Any]) -> Checkpoint | None:
    try:
        return Checkpoint.from_fields(fields)
    except (KeyError, ValueError, TypeError):
        return None


def check(
    walk: ChainWalk, checkpoints: list[Checkpoint], key: SigningKey | None
) -> tuple[list[AuditProblem], str | None, int]:
    """Every checkpoint against the walked chain; the latest that holds (signed, if a
    trusted key is given) is returned with the problems, and the highest position a
    checkpoint that holds covers (0: none)."""
    problems: list[AuditProblem] = []
    latest: str | None = None
    covered = 0
    for cp in checkpoints:
        if key is not None and (
            cp.key_id != key.key_id or not key.verifies(cp.text(), cp.signature)
        ):
            problems.append(
                AuditProblem(
                    entry_id=cp.entry_id,
                    problem="checkpoint_bad_signature",
                    detail=f"the checkpoint at position {cp.position} is not signed by key "
                    f"{key.key_id} (it names key {cp.key_id})",
                )
            )
            continue
        at = walk.positions.get(cp.entry_id)
        if at is None:
            if cp.position <= walk.base:
                continue  # archived and not given: nothing to compare with
            problems.append(
                AuditProblem(
                    entry_id=cp.entry_id,
                    problem="checkpoint_entry_missing",
                    detail=f"the signed entry at position {cp.position} is gone from the history",
                )
            )
            continue
        position, h = at
        if (position, h) != (cp.position, cp.hash):
            problems.append(
                AuditProblem(
                    entry_id=cp.entry_id,
                    problem="checkpoint_mismatch",
                    detail=f"signed: position {cp.position}, hash {cp.hash}; the history now has "
                    f"position {position}, hash {h}: it was rewritten",
                )
            )
            continue
        covered = max(covered, cp.position)
        if key is not None:
            latest = cp.entry_id
    return problems, latest, covered


def overdue(
    due: list[tuple[int, str, int]], covered: int, now_ms: int, grace_ms: int
) -> list[AuditProblem]:
    """The latest entry that fell due for a checkpoint (position, id, ts) more than
    ``grace_ms`` ago while no checkpoint that holds reaches it."""
    late = [d for d in due if d[2] <= now_ms - grace_ms and d[0] > covered]
    if not late:
        return []
    position, entry_id, ts = late[-1]
    return [
        AuditProblem(
            entry_id=entry_id,
            problem="checkpoint_overdue",
            detail=f"entry {position} fell due for a signed checkpoint "
            f"{(now_ms - ts) // 1000} s ago and none covers it (latest signed position "
            f"{covered}): is the signer running, with its key?",
        )
    ]
