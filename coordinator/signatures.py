"""Agents' request-signing keys (Web Bot Auth, RFC 9421): minting, the directory, verifying.

Every agent gets its own Ed25519 key pair at create, rotate and unrevoke. The private
JWK is returned once, beside the API key, and never stored; only the public half is
kept, under the owner's hash tag, and published (no authentication) at
``/v1/agents/{agent_id}/http-message-signatures-directory``. The agent signs its
outbound requests to third-party sites with the official SDK's
``agentdraft.sign_request``; a site verifies them with :func:`verify`, built on the
maintained ``http-message-signatures`` library rather than hand-written parsing.

Revoking empties the directory at once. Rotating keeps the previous public key listed
for ``Settings.agent_key_grace_seconds`` (signatures live at most five minutes), so
requests signed just before the rotation still verify.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .errors import AuthError
from .receipts import b64url_decode, private_jwk
from .store.errors import store_errors
from .store.handle import Store

if TYPE_CHECKING:
    from http_message_signatures import HTTPSignatureKeyResolver

#: The media type the Web Bot Auth drafts give a signatures directory.
DIRECTORY_MEDIA_TYPE = "application/http-message-signatures-directory+json"
TAG = "web-bot-auth"
#: What a Web Bot Auth signature must cover (the SDK's profile).
COVERED = ("@method", "@authority", "@path", "content-digest")
#: Oldest signature accepted, whatever its ``expires`` says (the SDK's maximum TTL).
MAX_AGE_SECONDS = 300


class SignatureInvalid(AuthError):
    """The request's signature is missing, malformed, expired or made with an unlisted key."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, error="signature_invalid")


@dataclass(frozen=True)
class AgentSigningKeys:
    """``coord.signatures``: the public halves of agents' signing keys, in Redis."""

    store: Store

    def _key(self, user_id: str, agent_id: str) -> str:
        return self.store.keys.prefix(user_id) + f"sigkeys:{agent_id}"

    def issue(self, user_id: str, agent_id: str, *, keep_old: bool) -> dict[str, str]:
        """Mint the agent's new key pair; return the private JWK (the only copy).

        ``keep_old`` (rotate): earlier keys stay listed for the grace period;
        otherwise (create, unrevoke) the new key is the only one.
        """
        jwk = private_jwk(Ed25519PrivateKey.generate())
        now = int(time.time() * 1000)
        grace_ms = int(self.store.settings.agent_key_grace_seconds * 1000)
        key = self._key(user_id, agent_id)
        r = self.store.redis
        with store_errors("signatures.issue"):
            old = r.hgetall(key) if keep_old else {}
            pipe = r.pipeline(transaction=True)
            pipe.delete(key)
            for kid, raw in old.items():
                rec = json.loads(raw)
                # The shorter grace wins: rotating with none (a leaked key) drops them all.
                rec["until_ms"] = min(rec.get("until_ms", now + grace_ms), now + grace_ms)
                if rec["until_ms"] > now:
                    pipe.hset(key, kid, json.dumps(rec))
            pipe.hset(key, jwk["kid"], json.dumps({"x": jwk["x"], "created_ms": now}))
            pipe.execute()
        return jwk

    def remove(self, user_id: str, agent_id: str) -> None:
        """Revoke: nothing of the agent's stays in its directory."""
        with store_errors("signatures.remove"):
            self.store.redis.delete(self._key(user_id, agent_id))

    def directory(self, user_id: str, agent_id: str) -> dict[str, Any]:
        """The agent's published keys as a JWKS (a rotated key while its grace lasts)."""
        with store_errors("signatures.directory"):
            found = self.store.redis.hgetall(self._key(user_id, agent_id))
        now = int(time.time() * 1000)
        keys = []
        for kid, raw in sorted(found.items(), key=lambda kv: json.loads(kv[1])["created_ms"]):
            rec = json.loads(raw)
            if rec.get("until_ms", now + 1) > now:
                keys.append({"kty": "OKP", "crv": "Ed25519", "x": rec["x"], "kid": kid})
        return {"keys": keys}


@dataclass
class _Message:
    """The request view ``http-message-signatures`` reads: method, URL, header lines."""

    method: str
    url: str
    headers: dict[str, str]


def _directory_keys(directory: Mapping[str, Any]) -> HTTPSignatureKeyResolver:
    """Key resolver over one directory (JWKS): ``keyid`` is the RFC 7638 thumbprint.

    The library takes a subclass of its resolver class; the class is built here, at
    verify time, because ``http-message-signatures`` is an optional extra that the
    core package (minting keys, serving the directory) does not import.
    """
    from http_message_signatures import HTTPSignatureKeyResolver

    keys = {
        k["kid"]: k
        for k in directory.get("keys", [])
        if k.get("kty") == "OKP" and k.get("crv") == "Ed25519"
    }

    class DirectoryKeys(HTTPSignatureKeyResolver):
        def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
            k = keys.get(key_id)
            return None if k is None else Ed25519PublicKey.from_public_bytes(b64url_decode(k["x"]))

        def resolve_private_key(self, key_id: str) -> Any:
            raise NotImplementedError("a verifier holds no private keys")

    return DirectoryKeys()


@dataclass(frozen=True)
class VerifiedRequest:
    """Who signed a request that verified: the agent's directory URL and the key used."""

    directory_url: str
    keyid: str
    created: int
    expires: int | None


def signature_agent(headers: Mapping[str, str], label: str = "sig1") -> tuple[str, str]:
    """The directory URL the ``Signature-Agent`` member names, and the header's name.

    A member's ``type`` parameter, when present, must be ``jwks_uri``.
    """
    import http_sf

    name = next((k for k in headers if k.lower() == "signature-agent"), "")
    if not name:
        raise SignatureInvalid("the request has no Signature-Agent header")
    missing = SignatureInvalid(f"Signature-Agent has no member {label!r}")
    try:
        members = http_sf.parse(headers[name].encode(), tltype="dictionary")
    except (ValueError, TypeError) as exc:
        raise missing from exc
    # A parsed dictionary maps each member to its (value, parameters) pair.
    member = members.get(label) if isinstance(members, dict) else None
    if not isinstance(member, tuple):
        raise missing
    url, params = member
    if not isinstance(url, str) or params.get("type", "jwks_uri") != "jwks_uri":
        raise SignatureInvalid("Signature-Agent's member must be a jwks_uri URL string")
    return url, name


def sdk_signed_form(headers: Mapping[str, str], label: str = "sig1") -> dict[str, str]:
    """``headers`` with the ``Signature-Agent`` member as ``agentdraft.sign_request`` signs it.

    RFC 9421 §2.1.2 signs a dictionary member *with* its parameters
    (``"…";type=jwks_uri``); the official SDK 0.1.3 signs the bare string. A verifier
    that follows the RFC (``http-message-signatures`` does) rebuilds the member with
    the parameter and rejects SDK signatures, so :func:`verify` retries with this view:
    the URL stays signed; the unsigned ``type`` is checked to be ``jwks_uri`` instead.
    """
    import http_sf

    url, name = signature_agent(headers, label)
    return {**headers, name: http_sf.ser({label: (url, {})})}


#: Where a ``Signature-Agent`` directory may not be fetched from without this setting:
#: any host that is or resolves to an internal address (see coordinator/outbound.py).
ALLOW_HOSTS_ENV = "AGENTDRAFT_SIGNATURE_ALLOW_HOSTS"
#: The largest directory read; a JWKS of a few keys is well under 4 KiB.
MAX_DIRECTORY_BYTES = 64 * 1024


def fetch_directory(url: str, *, timeout: float = 10.0) -> Any:
    """The JWKS at ``url``, the directory a request's ``Signature-Agent`` header names.

    That header comes from whoever sent the request, before anything is verified, so
    the fetch is guarded like a webhook delivery: no host that is or resolves to an
    internal address (unless ``AGENTDRAFT_SIGNATURE_ALLOW_HOSTS`` names it), checked
    again on connecting; no redirects, no proxies from the environment, at most
    ``MAX_DIRECTORY_BYTES`` read, and all of it within ``timeout`` (a directory sent a
    byte at a time would otherwise hold the request that named it). Any failure is
    :class:`SignatureInvalid`.
    """
    import httpx

    from .deadlines import Deadline, SocketSet
    from .outbound import AddressPolicy, UnsafeURL, guarded_client, read_at_most, unsafe_cause

    policy = AddressPolicy.from_env(ALLOW_HOSTS_ENV, what="signature directories")
    try:
        policy.check_url(url, any_port=True)
    except ValueError as exc:  # UnsafeURL, or ValidationError for a malformed URL
        detail = exc.detail if isinstance(exc, UnsafeURL) else "not an http(s) URL"
        raise SignatureInvalid(f"the signature directory cannot be fetched: {detail}") from None
    sockets = SocketSet()
    deadline = Deadline(timeout, sockets)
    try:
        with guarded_client(lambda: policy, timeout=timeout, sockets=sockets) as client:
            with deadline, client.stream("GET", url) as response:
                response.raise_for_status()
                body = read_at_most(response.iter_bytes(), MAX_DIRECTORY_BYTES)
        if body is None:
            raise SignatureInvalid(f"the signature directory is over {MAX_DIRECTORY_BYTES} bytes")
        return json.loads(body)
    except httpx.HTTPError as exc:
        unsafe = unsafe_cause(exc)
        why = unsafe.detail if unsafe is not None else str(exc)
        if deadline.expired:
            why = f"no whole answer within {timeout:g} s"
        raise SignatureInvalid(f"could not fetch the signature directory: {why}") from None
    except ValueError as exc:
        raise SignatureInvalid(f"the signature directory is not JSON: {exc}") from None


def verify(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    directory: Mapping[str, Any] | None = None,
    max_age_seconds: int = MAX_AGE_SECONDS,
    directory_timeout: float = 10.0,
) -> VerifiedRequest:
    """Check a Web Bot Auth signature on a request a site received; raise if it fails.

    ``url`` is the full URL the request was sent to (its authority and path are
    signed). ``directory`` is the signer's JWKS; without it the helper fetches the
    URL the ``Signature-Agent`` header names, all of it within ``directory_timeout``
    seconds. Checks: the ``web-bot-auth`` tag,
    coverage of method, authority, path, ``signature-agent`` and ``content-digest``,
    the body against ``Content-Digest``, ``created``/``expires`` (and at most
    ``max_age_seconds`` old), and the Ed25519 signature with a key listed in the
    directory. Accepts RFC 9421 signatures and the SDK's (:func:`sdk_signed_form`).
    Raises :class:`SignatureInvalid`.
    """
    import datetime

    from http_message_signatures import HTTPMessageVerifier, algorithms
    from http_message_signatures.exceptions import HTTPMessageSignaturesException

    agent_dir, _ = signature_agent(headers)
    if directory is None:
        directory = fetch_directory(agent_dir, timeout=directory_timeout)
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_directory_keys(directory)
    )
    failure: Exception | None = None
    for view in (dict(headers), sdk_signed_form(headers)):
        try:
            results = verifier.verify(
                _Message(method.upper(), url, view),
                expect_tag=TAG,
                max_age=datetime.timedelta(seconds=max_age_seconds),
                require_components=(*COVERED, '"signature-agent";key="sig1"'),
                body=body,
            )
        except HTTPMessageSignaturesException as exc:
            failure = exc
            continue
        params = results[0].parameters
        return VerifiedRequest(
            directory_url=agent_dir,
            keyid=str(params["keyid"]),
            created=int(params["created"]),
            expires=int(params["expires"]) if "expires" in params else None,
        )
    raise SignatureInvalid(f"signature does not verify: {failure}")
