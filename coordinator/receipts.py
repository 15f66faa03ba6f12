"""Signed approval and booking receipts: Ed25519 ``at+jwt`` tokens, their keys, the JWKS.

A receipt lets a third party check, offline and with only the public JWKS
(``GET /.well-known/jwks.json``), that a person approved (or denied) an agent's
request, and exactly which evidence or booking parameters they saw. The official
SDK's ``agentdraft.verify_approval_token`` verifies them unchanged.

The signing keys never enter Redis: they live in one JSON file (mode 0600) in the
data folder, or at ``$AGENTDRAFT_RECEIPT_KEY_FILE`` / ``Settings.receipt_key_file``.
Rotating adds a key with a new ``kid`` and signs with it from then on; retired keys
stay in the JWKS until every receipt they signed has expired.

A receipt is minted from the decided approval record alone (``iat`` is the decision
time), so any process minting it produces the same token; the first one stored
(``SET NX`` under the calendar's hash tag) is the one every reader gets.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .models import Booking
from .store.errors import store_errors
from .store.handle import Store

KEY_FILE_ENV = "AGENTDRAFT_RECEIPT_KEY_FILE"
PUBLIC_URL_ENV = "AGENTDRAFT_PUBLIC_URL"
KEY_FILE = "receipt_keys.json"
#: Issuer when neither ``Settings.public_url`` nor ``$AGENTDRAFT_PUBLIC_URL`` is set.
DEFAULT_ISSUER = "http://localhost:8000"
APPROVAL_RAR_TYPE = "https://agentdraft.io/rar/approval"
BOOKING_RAR_TYPE = "https://agentdraft.io/rar/booking"
#: ``token_use`` of a receipt recording a denial. The SDK's verifier accepts only
#: ``approval_receipt`` and ``booking_receipt`` by default, so a denial can never be
#: mistaken for consent; pass ``token_uses=("denial_receipt",)`` to verify one.
DENIAL = "denial_receipt"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def hash_evidence(payload: Any) -> str:
    """The SHA-256 hex digest a receipt binds: the SDK's ``hash_evidence``, byte for byte."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def public_jwk(private: Ed25519PrivateKey) -> dict[str, str]:
    """The public half as an OKP JWK, ``kid`` its RFC 7638 thumbprint."""
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    return {**jwk, "kid": thumbprint(jwk)}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, compact."""
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def private_jwk(private: Ed25519PrivateKey) -> dict[str, str]:
    """The full key as a JWK (``d`` is the 32-byte seed), as the SDK's signer reads it."""
    seed = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return {**public_jwk(private), "d": b64url(seed)}


def _private_from(d: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64url_decode(d))


def _write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with a 0600 file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class SigningKeys:
    """The receipt signing keys in one 0600 JSON file shared by every process.

    ``{"keys": [{"kid", "d", "x", "created", "retired"?, "next"?}]}``: the newest
    unretired key signs; a key retired more than ``keep_seconds`` ago (the receipt
    lifetime) leaves the JWKS. The *next* key is published before it signs anything, so
    a verifier's cached JWKS (the SDK keeps one five minutes) already holds the key a
    rotation switches to. Writers take an exclusive ``flock``; readers reload on a
    changed mtime.
    """

    def __init__(self, path: Path, keep_seconds: float) -> None:
        self.path = path
        self.keep_seconds = keep_seconds
        self._stamp: tuple[int, int] | None = None
        self._keys: list[dict[str, Any]] = []

    def _locked(self) -> Any:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = open(self.path.with_name(self.path.name + ".lock"), "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def _load(self) -> list[dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            with self._locked():
                if not self.path.exists():
                    self._save([self._mint(), {**self._mint(), "next": True}])
            st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._keys = json.loads(self.path.read_text())["keys"]
            self._stamp = stamp
        return self._keys

    def _save(self, keys: list[dict[str, Any]]) -> None:
        _write_private(self.path, json.dumps({"keys": keys}, indent=1).encode())

    @staticmethod
    def _mint() -> dict[str, Any]:
        jwk = private_jwk(Ed25519PrivateKey.generate())
        return {"kid": jwk["kid"], "x": jwk["x"], "d": jwk["d"], "created": int(time.time())}

    def current(self) -> tuple[str, Ed25519PrivateKey]:
        live = [k for k in self._load() if not k.get("retired") and not k.get("next")]
        key = live[-1]
        return key["kid"], _private_from(key["d"])

    def rotate(self) -> str:
        """Sign with the published next key from now on (its ``kid`` is returned) and
        publish a new next one; old keys stay published for ``keep_seconds``."""
        self._load()
        with self._locked():
            keys = json.loads(self.path.read_text())["keys"]
            now = int(time.time())
            # A file written before next keys existed has none: promote a fresh one.
            promoted = next((k for k in keys if k.get("next")), None) or self._mint()
            promoted.pop("next", None)
            for k in keys:
                if k is not promoted:
                    k.setdefault("retired", now)
            keys = [k for k in keys if k.get("retired", now) + self.keep_seconds >= now]
            if promoted not in keys:
                keys.append(promoted)
            self._save([*keys, {**self._mint(), "next": True}])
        self._stamp = None
        return str(promoted["kid"])

    def jwks(self) -> dict[str, Any]:
        now = time.time()
        return {
            "keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": k["x"], "kid": k["kid"]}
                | {"use": "sig", "alg": "EdDSA"}
                for k in self._load()
                if not k.get("retired") or k["retired"] + self.keep_seconds >= now
            ]
        }


_KEYS: dict[tuple[str, float], SigningKeys] = {}


def key_file(store: Store) -> Path:
    from .store.embedded import default_data_dir

    explicit = os.environ.get(KEY_FILE_ENV) or store.settings.receipt_key_file
    return Path(explicit) if explicit else default_data_dir() / KEY_FILE


@dataclass(frozen=True)
class Receipts:
    """Mints, stores and publishes one coordinator's receipts (``coord.receipts``)."""

    store: Store

    @property
    def keys(self) -> SigningKeys:
        path = key_file(self.store).resolve()
        keep = self.store.settings.receipt_ttl_seconds
        found = _KEYS.get((str(path), keep))
        if found is None:
            found = _KEYS[(str(path), keep)] = SigningKeys(path, keep)
        return found

    @property
    def issuer(self) -> str:
        url = self.store.settings.public_url or os.environ.get(PUBLIC_URL_ENV) or DEFAULT_ISSUER
        return url.rstrip("/")

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()

    def rotate(self) -> str:
        """A new signing key (its ``kid`` is returned); old receipts keep verifying."""
        return self.keys.rotate()

    def sign(self, claims: dict[str, Any]) -> str:
        kid, private = self.keys.current()
        header = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
        compact = (
            json.dumps(header, separators=(",", ":")),
            json.dumps(claims, separators=(",", ":"), sort_keys=True),
        )
        signing_input = ".".join(b64url(p.encode()) for p in compact)
        return f"{signing_input}.{b64url(private.sign(signing_input.encode()))}"

    def claims_for(self, a: dict[str, Any], user_id: str) -> dict[str, Any] | None:
        """The receipt's claims for a decided approval record; None when nothing to sign.

        Generic approval → ``approval_receipt`` (or ``denial_receipt``) binding
        ``evidence_sha256``; a parked commit that was booked → ``booking_receipt``
        binding ``params_sha256`` (of the approval's ``evidence``: the parked
        request) and ``booking_id``; denied → ``denial_receipt``. An approval whose
        commit then lost the slot, or one that lapsed, gets none.
        """
        status = a.get("status")
        if status not in ("approved", "denied") or not a.get("decided_ms"):
            return None
        evidence = json.loads(a["evidence_json"]) if a.get("evidence_json") else None
        if a["kind"] == "booking":
            if status == "approved" and a.get("outcome") != "committed":
                return None
            rar: dict[str, Any] = {
                "type": BOOKING_RAR_TYPE,
                "consent_id": a["id"],
                "action_class": a.get("action_type"),
                "params_sha256": hash_evidence(evidence),
                "decision": status,
            }
            if status == "approved":
                rar["booking_id"] = a["booking_id"]
            use = "booking_receipt" if status == "approved" else DENIAL
        else:
            rar = {
                "type": APPROVAL_RAR_TYPE,
                "approval_id": a["id"],
                "action_type": a.get("action_type"),
                "evidence_sha256": hash_evidence(evidence),
                "decision": status,
            }
            use = "approval_receipt" if status == "approved" else DENIAL
        iat = int(a["decided_ms"]) // 1000
        return {
            "iss": self.issuer,
            "sub": user_id,
            "act": {"sub": a["agent_id"]},
            "iat": iat,
            "nbf": iat,
            "exp": iat + int(self.store.settings.receipt_ttl_seconds),
            "jti": f"rcpt_{a['id']}",
            "token_use": use,
            "authorization_details": [rar],
        }

    def _key(self, user_id: str, approval_id: str) -> str:
        return self.store.keys.prefix(user_id) + f"receipt:{approval_id}"

    def attach(self, user_id: str, a: dict[str, Any]) -> dict[str, Any]:
        """Put the approval's receipt in ``a['receipt']``, minting and storing it once."""
        claims = self.claims_for(a, user_id)
        if claims is None:
            return a
        key = self._key(user_id, a["id"])
        r = self.store.redis
        with store_errors("receipts"):
            token = r.get(key)
            if token is None:
                r.set(key, self.sign(claims), nx=True)
                token = r.get(key)
        a["receipt"] = token
        return a

    def for_booking(self, user_id: str, approval_id: str | None) -> str | None:
        """The booking receipt of a booking committed by ``approval_id``, if minted."""
        if not approval_id:
            return None
        with store_errors("receipts"):
            token = self.store.redis.get(self._key(user_id, approval_id))
        return None if token is None else str(token)


def with_receipt(store: Store, b: Booking) -> Booking:
    """``b`` carrying its ``booking_receipt`` when a person's approval booked it."""
    token = Receipts(store).for_booking(b.user_id, b.approval_id)
    return b if token is None else b.model_copy(update={"receipt": token})
