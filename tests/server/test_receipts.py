"""Signed receipts: a running ``coordinator serve`` issues them, the official SDK verifies them."""

from __future__ import annotations

import base64
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coordinator import ConsentRequired, Coordinator
from coordinator.receipts import b64url
from tests.server.conftest import HttpServer, start_server
from tests.support.servers import RedisServer

agentdraft = pytest.importorskip("agentdraft")

ISSUER = "https://coordinator.example"
MONDAY = datetime(2031, 6, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("receipt-keys") / "keys.json"


@pytest.fixture(scope="module")
def server(http_redis: RedisServer, key_file: Path) -> Iterator[HttpServer]:
    env = {"AGENTDRAFT_PUBLIC_URL": ISSUER, "AGENTDRAFT_RECEIPT_KEY_FILE": str(key_file)}
    s = start_server(http_redis.url, env=env)
    yield s
    s.stop()


@pytest.fixture
def coord(http_redis: RedisServer, key_file: Path) -> Iterator[Coordinator]:
    """The same coordinator in this process: same Redis, same key file, same issuer."""
    c = Coordinator.from_url(http_redis.url, receipt_key_file=str(key_file), public_url=ISSUER)
    yield c
    c.close()


def signed_in(url: str, email: str) -> httpx.Client:
    web = httpx.Client(base_url=url)
    token = web.post("/v1/auth/magic-link", json={"email": email}).json()["dev_token"]
    verified = web.post("/v1/auth/verify", json={"token": token})
    assert verified.status_code == 200
    # The public URL (the issuer) is https, so the session cookie is Secure and a client
    # keeps it for https only; this test server is plain http on loopback: send it anyway.
    for name, value in verified.cookies.items():
        web.cookies.set(name, value)
    return web


def agent(web: httpx.Client, url: str) -> agentdraft.Client:
    made = web.post("/v1/dashboard/agents", json={"name": "bot", "priority": 1}).json()
    client = agentdraft.Client(api_key=made["plaintext_key"], base_url=url)
    client.agent_id = made["agent_id"]
    client.user_id = made["user_id"]
    return client


def jwks_of(server: HttpServer) -> dict:
    r = httpx.get(f"{server.url}/.well-known/jwks.json")
    assert r.status_code == 200
    return r.json()


def verify(token: str, server: HttpServer, **expected: object) -> dict:
    return agentdraft.verify_approval_token(
        token, jwks_url=f"{server.url}/.well-known/jwks.json", issuer=ISSUER, **expected
    )


def approved_receipt(server: HttpServer, email: str) -> tuple[dict, dict, agentdraft.Client]:
    web = signed_in(server.url, email)
    bot = agent(web, server.url)
    evidence = {"amount": 120, "currency": "EUR", "order": "o-17"}
    req = bot.approvals.request("refund.issue", "Refund order o-17", evidence=evidence)
    assert req["receipt"] is None  # nothing decided, nothing signed
    assert web.post(f"/v1/dashboard/approvals/{req['approval_id']}/approve", json={}).is_success
    done = bot.approvals.wait(req["approval_id"], timeout=10, poll_interval=0.1)
    return done, evidence, bot


def test_an_approval_receipt_verifies_with_the_served_jwks_and_an_explicit_one(server) -> None:
    done, evidence, bot = approved_receipt(server, "receipt-ok@example.com")
    expected = {
        "approval_id": done["approval_id"],
        "action_type": "refund.issue",
        "evidence_sha256": agentdraft.hash_evidence(evidence),
    }
    claims = verify(done["receipt"], server, **expected)
    assert claims["sub"] == bot.user_id and claims["act"] == {"sub": bot.agent_id}
    assert claims["token_use"] == "approval_receipt"
    explicit = agentdraft.verify_approval_token(
        done["receipt"], jwks=jwks_of(server), issuer=ISSUER, **expected
    )
    assert explicit == claims
    # The same receipt on every read, by the agent and by the owner.
    assert bot.approvals.get(done["approval_id"])["receipt"] == done["receipt"]


def _tamper(token: str, **changes: object) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return ".".join([head, b64url(json.dumps(claims).encode()), sig])


def _foreign(token: str) -> str:
    """Same header (kid) and claims, signed by a key the server never published."""
    head, payload, _ = token.split(".")
    sig = Ed25519PrivateKey.generate().sign(f"{head}.{payload}".encode())
    return f"{head}.{payload}.{b64url(sig)}"


def test_forged_expired_and_mismatched_receipts_are_refused(server) -> None:
    done, evidence, _ = approved_receipt(server, "receipt-bad@example.com")
    token, keys = done["receipt"], jwks_of(server)
    claims = agentdraft.verify_approval_token(token, jwks=keys, issuer=ISSUER)
    cases = {
        "changed claim": (_tamper(token, sub="usr_someone_else"), {}),
        "expired": (token, {"now": claims["exp"] + 31}),
        "foreign key": (_foreign(token), {}),
        "wrong approval": (token, {"approval_id": "apr_other"}),
        "wrong evidence": (
            token,
            {"evidence_sha256": agentdraft.hash_evidence({**evidence, "amount": 12000})},
        ),
        "wrong issuer": (token, {"issuer": "https://api.agentdraft.io"}),
    }
    for name, (bad, extra) in cases.items():
        kwargs = {"jwks": keys, "issuer": ISSUER, **extra}
        with pytest.raises(agentdraft.ReceiptVerificationError):
            agentdraft.verify_approval_token(bad, **kwargs)
            pytest.fail(f"{name} verified")


def test_a_denial_is_signed_but_never_passes_as_consent(server) -> None:
    web = signed_in(server.url, "receipt-deny@example.com")
    bot = agent(web, server.url)
    req = bot.approvals.request("deploy.production", "Ship v2", evidence={"commit": "a1"})
    web.post(f"/v1/dashboard/approvals/{req['approval_id']}/deny", json={"note": "no"})
    denied = bot.approvals.wait(req["approval_id"], timeout=10, poll_interval=0.1)
    with pytest.raises(agentdraft.ReceiptVerificationError, match="token_use"):
        verify(denied["receipt"], server)
    claims = verify(
        denied["receipt"],
        server,
        approval_id=req["approval_id"],
        token_uses=("denial_receipt",),
    )
    assert claims["authorization_details"][0]["decision"] == "denied"


def test_an_approved_parked_commit_carries_a_booking_receipt(server) -> None:
    web = signed_in(server.url, "receipt-booking@example.com")
    web.patch("/v1/dashboard/rules", json={"require_approval": {}})
    bot = agent(web, server.url)
    start = MONDAY.replace(hour=11)
    with pytest.raises(agentdraft.ConsentRequired) as parked:
        bot.bookings.commit(start=start, end=start + timedelta(minutes=30))
    consent_id = parked.value.consent_request_id
    done = web.post(f"/v1/dashboard/approvals/{consent_id}/approve", json={}).json()
    assert done["outcome"] == "committed", done
    seen = bot.approvals.get(consent_id)
    assert seen["receipt"] == done["receipt"]
    claims = verify(
        done["receipt"],
        server,
        consent_id=consent_id,
        action_class=done["action_type"],
        params_sha256=agentdraft.hash_evidence(done["evidence"]),
        booking_id=done["booking_id"],
    )
    assert claims["token_use"] == "booking_receipt"
    booking = httpx.get(
        f"{server.url}/v1/bookings/{done['booking_id']}",
        headers={"Authorization": f"Bearer {bot._api_key}"},
    ).json()
    assert booking["receipt"] == done["receipt"]
    with pytest.raises(agentdraft.ReceiptVerificationError, match="booking_id"):
        verify(done["receipt"], server, booking_id="bkg_other")


def test_rotation_signs_with_a_new_kid_and_keeps_old_receipts_verifiable(
    server, coord: Coordinator, key_file: Path
) -> None:
    before, _, _ = approved_receipt(server, "receipt-rotate-1@example.com")
    old_kid = json.loads(base64.urlsafe_b64decode(before["receipt"].split(".")[0] + "=="))["kid"]
    published = {k["kid"] for k in jwks_of(server)["keys"]}
    new_kid = coord.receipts.rotate()
    assert new_kid != old_kid
    # The key a rotation switches to was in the JWKS before it signed anything, so a
    # verifier's cached copy (the SDK keeps one five minutes) still verifies its receipts.
    assert new_kid in published
    after, _, _ = approved_receipt(server, "receipt-rotate-2@example.com")
    head = after["receipt"].split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"] == new_kid
    keys = jwks_of(server)
    assert {k["kid"] for k in keys["keys"]} >= {old_kid, new_kid}
    for token in (before["receipt"], after["receipt"]):
        agentdraft.verify_approval_token(token, jwks=keys, issuer=ISSUER)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert all(set(k) == {"kty", "crv", "x", "kid", "use", "alg"} for k in keys["keys"])


def test_python_surface_issues_the_same_receipts(coord: Coordinator) -> None:
    owner = coord.owners.create()
    made = coord.agents.create(owner.user_id, name="py", priority=1)
    client = coord.client(made.api_key)
    req = client.approvals.request("refund.issue", "Refund", evidence={"n": 1})
    decided = coord.approvals.approve(req["approval_id"])
    assert client.approvals.get(req["approval_id"])["receipt"] == decided["receipt"]
    agentdraft.verify_approval_token(
        decided["receipt"],
        jwks=coord.receipts.jwks(),
        issuer=ISSUER,
        approval_id=req["approval_id"],
        evidence_sha256=agentdraft.hash_evidence({"n": 1}),
    )


def test_a_waiting_agent_wakes_with_the_receipt_the_owner_got(server) -> None:
    """The wait wakes on the decision itself; the receipt is there on that first read."""
    web = signed_in(server.url, "receipt-wait@example.com")
    bot = agent(web, server.url)
    req = bot.approvals.request("deploy.production", "Ship v3", evidence={"commit": "b2"})
    woke: list[dict] = []
    waiter = threading.Thread(
        target=lambda: woke.append(bot.approvals.wait(req["approval_id"], timeout=20))
    )
    waiter.start()
    decided = web.post(f"/v1/dashboard/approvals/{req['approval_id']}/approve", json={}).json()
    waiter.join(30)
    assert [w["status"] for w in woke] == ["approved"]
    assert woke[0]["receipt"] == decided["receipt"] is not None
    agentdraft.verify_approval_token(
        woke[0]["receipt"], jwks=jwks_of(server), issuer=ISSUER, approval_id=req["approval_id"]
    )


def test_a_denied_parked_commit_gets_a_booking_denial_receipt(coord: Coordinator) -> None:
    owner = coord.owners.create()
    coord.rules.update(owner.user_id, require_approval={})
    bot = coord.client(coord.agents.create(owner.user_id, name="py", priority=1).api_key)
    start = MONDAY.replace(hour=15)
    with pytest.raises(ConsentRequired) as parked:
        bot.bookings.commit(start=start, end=start + timedelta(minutes=30))
    consent_id = parked.value.consent_request_id
    denied = coord.approvals.deny(consent_id, note="not that day")
    claims = agentdraft.verify_approval_token(
        denied["receipt"],
        jwks=coord.receipts.jwks(),
        issuer=ISSUER,
        consent_id=consent_id,
        params_sha256=agentdraft.hash_evidence(denied["evidence"]),
        token_uses=("denial_receipt",),
    )
    [rar] = claims["authorization_details"]
    assert rar["type"] == "https://agentdraft.io/rar/booking" and rar["decision"] == "denied"
    assert "booking_id" not in rar  # nothing was booked
    with pytest.raises(agentdraft.ReceiptVerificationError):
        agentdraft.verify_approval_token(
            denied["receipt"], jwks=coord.receipts.jwks(), issuer=ISSUER
        )
