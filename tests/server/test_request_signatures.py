"""Web Bot Auth: requests signed by the SDK's ``sign_request`` verify against a running server's
per-agent directory, with the independent ``http-message-signatures`` library and our helper."""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, InvalidSignature, algorithms

from coordinator import Coordinator
from coordinator.receipts import b64url_decode
from coordinator.signatures import (
    ALLOW_HOSTS_ENV,
    DIRECTORY_MEDIA_TYPE,
    MAX_DIRECTORY_BYTES,
    SignatureInvalid,
    sdk_signed_form,
    verify,
)
from tests.server.conftest import HttpServer
from tests.support.hostile_http import TricklingServer, returns_within

agentdraft = pytest.importorskip("agentdraft")


@pytest.fixture(autouse=True)
def allow_loopback_directories(monkeypatch: pytest.MonkeyPatch) -> None:
    """The directories here are on the test server at 127.0.0.1, which ``verify`` does
    not fetch from unless allowed; the SSRF tests remove the setting again."""
    monkeypatch.setenv(ALLOW_HOSTS_ENV, "127.0.0.1")


TARGET = "https://shop.example/api/orders"
BODY = b'{"sku": "A-17", "qty": 2}'


@dataclass
class Made:
    agent_id: str
    private_jwk: dict
    web: httpx.Client


def new_agent(server: HttpServer, email: str) -> Made:
    web = httpx.Client(base_url=server.url)
    token = web.post("/v1/auth/magic-link", json={"email": email}).json()["dev_token"]
    assert web.post("/v1/auth/verify", json={"token": token}).status_code == 200
    made = web.post("/v1/dashboard/agents", json={"name": "signer", "priority": 1}).json()
    assert made["plaintext_key"].startswith("avs_live_")
    return Made(made["agent_id"], made["private_jwk"], web)


def signed(server: HttpServer, a: Made, **over: object) -> dict[str, str]:
    args: dict = {
        "method": "POST",
        "url": TARGET,
        "private_jwk": a.private_jwk,
        "agent_id": a.agent_id,
        "body": BODY,
        "base_url": server.url,
    }
    return agentdraft.sign_request(**{**args, **over})


def directory_of(server: HttpServer, agent_id: str) -> dict:
    r = httpx.get(f"{server.url}/v1/agents/{agent_id}/http-message-signatures-directory")
    assert r.status_code == 200
    assert r.headers["content-type"] == DIRECTORY_MEDIA_TYPE
    return r.json()


@dataclass
class _Req:
    method: str
    url: str
    headers: dict[str, str]


class _Keys:
    def __init__(self, jwks: dict) -> None:
        self.keys = {k["kid"]: k["x"] for k in jwks["keys"]}

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        x = self.keys.get(key_id)
        return None if x is None else Ed25519PublicKey.from_public_bytes(b64url_decode(x))

    def resolve_private_key(self, key_id: str) -> None:
        raise AssertionError("not used")


def library_verify(headers: dict[str, str], jwks: dict, url: str = TARGET, body: bytes = BODY):
    """The independent library on the SDK's signed form of the headers (see below)."""
    headers = sdk_signed_form(headers)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(jwks))
    return verifier.verify(
        _Req("POST", url, headers),
        expect_tag="web-bot-auth",
        max_age=datetime.timedelta(minutes=5),
        body=body,
    )


def test_an_sdk_signed_request_verifies_with_the_library_and_the_helper(http_server) -> None:
    a = new_agent(http_server, "sig-ok@example.com")
    assert "d" in a.private_jwk and a.private_jwk["kty"] == "OKP"
    headers = signed(http_server, a)
    jwks = directory_of(http_server, a.agent_id)
    assert [set(k) for k in jwks["keys"]] == [{"kty", "crv", "x", "kid"}]  # public half only
    [result] = library_verify(headers, jwks)
    # As sent, the SDK's headers fail a strict RFC 9421 verifier: the SDK signs the
    # Signature-Agent member without its ";type=jwks_uri" parameter (RFC 9421 §2.1.2
    # signs it with it). sdk_signed_form rebuilds what the SDK signed; the helper
    # accepts both forms.
    strict = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(jwks))
    with pytest.raises(InvalidSignature):
        strict.verify(_Req("POST", TARGET, headers), expect_tag="web-bot-auth", body=BODY)
    assert result.parameters["keyid"] == jwks["keys"][0]["kid"]
    # The helper fetches the directory the Signature-Agent header names.
    got = verify(method="POST", url=TARGET, headers=headers, body=BODY)
    assert got.keyid == jwks["keys"][0]["kid"]
    assert got.directory_url.endswith(f"/v1/agents/{a.agent_id}/http-message-signatures-directory")
    assert verify(method="POST", url=TARGET, headers=headers, body=BODY, directory=jwks) == got
    # Shown once: the owner's list never repeats the private key or the API key.
    listed = a.web.get("/v1/dashboard/agents").json()
    assert [(x["plaintext_key"], x["private_jwk"]) for x in listed] == [(None, None)]


def test_changed_body_path_authority_and_expired_signatures_fail(http_server) -> None:
    a = new_agent(http_server, "sig-bad@example.com")
    headers = signed(http_server, a)
    jwks = directory_of(http_server, a.agent_id)
    now = int(time.time())
    expired = signed(http_server, a, created=now - 400, expires=now - 200)
    cases = {
        "body": (headers, TARGET, b'{"sku": "A-17", "qty": 20}'),
        "path": (headers, "https://shop.example/api/refunds", BODY),
        "authority": (headers, "https://other-shop.example/api/orders", BODY),
        "expired": (expired, TARGET, BODY),
    }
    for name, (h, url, body) in cases.items():
        with pytest.raises(InvalidSignature):
            library_verify(h, jwks, url=url, body=body)
            pytest.fail(f"changed {name} verified with the library")
        with pytest.raises(SignatureInvalid):
            verify(method="POST", url=url, headers=h, body=body, directory=jwks)
            pytest.fail(f"changed {name} verified with the helper")


def test_revoking_empties_the_directory_and_unrevoke_mints_a_new_key(http_server) -> None:
    a = new_agent(http_server, "sig-revoke@example.com")
    headers = signed(http_server, a)
    assert a.web.post(f"/v1/dashboard/agents/{a.agent_id}/revoke").status_code == 200
    assert directory_of(http_server, a.agent_id) == {"keys": []}
    with pytest.raises(SignatureInvalid, match="resolve"):
        verify(method="POST", url=TARGET, headers=headers, body=BODY)
    back = a.web.post(f"/v1/dashboard/agents/{a.agent_id}/unrevoke").json()
    assert back["private_jwk"]["kid"] != a.private_jwk["kid"]
    with pytest.raises(SignatureInvalid):
        verify(method="POST", url=TARGET, headers=headers, body=BODY)
    fresh = signed(http_server, Made(a.agent_id, back["private_jwk"], a.web))
    assert (
        verify(method="POST", url=TARGET, headers=fresh, body=BODY).keyid
        == back["private_jwk"]["kid"]
    )


def test_a_rotated_key_verifies_during_its_grace_and_not_after(
    http_server, http_coord: Coordinator
) -> None:
    a = new_agent(http_server, "sig-rotate@example.com")
    old = signed(http_server, a)
    # The server's default grace (300 s): the old key stays listed beside the new one.
    rotated = a.web.post(f"/v1/dashboard/agents/{a.agent_id}/rotate").json()
    kids = [k["kid"] for k in directory_of(http_server, a.agent_id)["keys"]]
    assert kids == [a.private_jwk["kid"], rotated["private_jwk"]["kid"]]
    verify(method="POST", url=TARGET, headers=old, body=BODY)
    # A rotation with no grace left drops every earlier key at once.
    again = http_coord.with_settings(agent_key_grace_seconds=0).agents.rotate(a.agent_id)
    assert again.private_jwk is not None
    assert [k["kid"] for k in directory_of(http_server, a.agent_id)["keys"]] == [
        again.private_jwk["kid"]
    ]
    for stale in (old, signed(http_server, Made(a.agent_id, rotated["private_jwk"], a.web))):
        with pytest.raises(SignatureInvalid):
            verify(method="POST", url=TARGET, headers=stale, body=BODY)
    newest = signed(http_server, Made(a.agent_id, again.private_jwk, a.web))
    verify(method="POST", url=TARGET, headers=newest, body=BODY)
    # Redis holds public halves only.
    stored = http_coord.redis.hgetall(
        http_coord.store.keys.prefix(again.user_id) + f"sigkeys:{a.agent_id}"
    )
    assert all("d" not in json.loads(v) for v in stored.values())


def test_unknown_agent_directory_is_404(http_server) -> None:
    r = httpx.get(f"{http_server.url}/v1/agents/agt_nobody/http-message-signatures-directory")
    assert r.status_code == 404 and r.json()["error"] == "agent_not_found"


def _naming(headers: dict[str, str], directory_url: str) -> dict[str, str]:
    """``headers`` with their ``Signature-Agent`` pointed at ``directory_url``."""
    return {**headers, "Signature-Agent": f'sig1="{directory_url}";type=jwks_uri'}


@pytest.mark.parametrize(
    "directory_url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:6379/",
        "http://localhost/",
        "http://[::1]/",
        "http://10.0.0.1/jwks",
        "http://2130706433/",
        "http://user:pass@example.com/jwks",
        "file:///etc/passwd",
    ],
)
def test_a_signature_agent_naming_an_internal_or_bad_url_is_not_fetched(
    http_server, monkeypatch: pytest.MonkeyPatch, directory_url: str
) -> None:
    """The header is the sender's, read before anything is verified: the site's own
    network is off limits (like a webhook URL), and nothing is requested."""
    monkeypatch.delenv(ALLOW_HOSTS_ENV)
    a = new_agent(http_server, f"sig-ssrf-{abs(hash(directory_url))}@example.com")
    headers = _naming(signed(http_server, a), directory_url)
    with pytest.raises(SignatureInvalid) as err:
        verify(method="POST", url=TARGET, headers=headers, body=BODY)
    assert "cannot be fetched" in err.value.detail


class _Directory:
    """A directory server on loopback answering with ``body`` or a redirect."""

    def __init__(self, body: bytes = b"", location: str | None = None) -> None:
        import http.server
        import threading

        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(302 if location else 200)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_oversized_directory_is_refused_and_a_redirect_not_followed(http_server) -> None:
    a = new_agent(http_server, "sig-big@example.com")
    real = f"{http_server.url}/v1/agents/{a.agent_id}/http-message-signatures-directory"
    headers = signed(http_server, a)
    jwks = directory_of(http_server, a.agent_id)
    padded = json.dumps({**jwks, "pad": "x" * MAX_DIRECTORY_BYTES}).encode()
    big, moved = _Directory(padded), _Directory(location=real)
    try:
        with pytest.raises(SignatureInvalid, match=f"over {MAX_DIRECTORY_BYTES} bytes"):
            verify(method="POST", url=TARGET, headers=_naming(headers, big.url), body=BODY)
        with pytest.raises(SignatureInvalid, match="could not fetch"):
            verify(method="POST", url=TARGET, headers=_naming(headers, moved.url), body=BODY)
        assert (big.requests, moved.requests) == (1, 1)
    finally:
        big.close()
        moved.close()
    # The same directory, small and where the header says, verifies.
    assert verify(method="POST", url=TARGET, headers=headers, body=BODY).keyid


def test_a_directory_sent_a_byte_at_a_time_is_cut_off(http_server) -> None:
    """Each byte arrives inside the read timeout; the whole fetch still ends in time."""
    a = new_agent(http_server, "sig-slow@example.com")
    headers = signed(http_server, a)
    with TricklingServer() as slow:
        exc = returns_within(
            lambda: verify(
                method="POST",
                url=TARGET,
                headers=_naming(headers, slow.url),
                body=BODY,
                directory_timeout=1.0,
            )
        )
        assert isinstance(exc, SignatureInvalid)
        assert "no whole answer within 1 s" in str(exc)
        assert slow.hung_up.wait(10)
