"""Hostile request bodies over real HTTP: a typed 4xx, never a 5xx, and nothing written.

Regression (issue 10): raw JSON ``NaN``, ``Infinity``, ``-Infinity`` or a 400-digit
integer in ``metadata`` from a priority-1 agent over a priority-2 fresh commit answered
500 after the script had evicted the victim for a phantom booking; ``"\\ud800"`` in a
title, a metadata key or ``invitee.name`` answered 500; approval evidence
``{"\\ud800": 1}`` was stored and broke the owner's approvals listing for good; the
wire schemas took ``"5"`` and ``true`` as a buffer of minutes.

Every test here runs against its own ``coordinator serve`` and redis-server, so the
whole keyspace can be compared (DUMP of every key) before and after a refused call.
A hypothesis property test then throws generated hostile values at every write
endpoint (bookings, holds, approvals, proposals create/respond, webhooks, rules,
dashboard agents and their ranking, profile, approval decisions).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator import Coordinator
from coordinator.rules import RULE_NAMES
from tests.support.dump import dump_keys
from tests.support.servers import RedisServer

from .conftest import HttpServer, start_server

BASE = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)
#: Keys a refused request may still touch: the caller's rate-limit token bucket.
#: Keys that change without any request: the proposal timer's wake-up list, which a
#: background thread pops when an earlier example's proposal pushed to it. (The agents'
#: token buckets, spent before a refusal, are left out by ``buckets=False``.)
VOLATILE = ("{proposal-timers}:wake",)


def iso(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@dataclass
class Site:
    """One server on its own Redis, an owner signed in, and agents by role."""

    server: HttpServer
    coord: Coordinator
    user_id: str
    owner: httpx.Client
    agents: dict[str, httpx.Client] = field(default_factory=dict)
    agent_ids: dict[str, str] = field(default_factory=dict)
    #: Minutes apart: more than a 30-minute booking with the largest buffers (24 h each
    #: side), so a generated buffer never reaches an earlier example's booking (a 409
    #: there writes its audit entry, and the example would fail on a keyspace change).
    slots: Iterator[int] = field(default_factory=lambda: itertools.count(0, 3000))

    def dump(self) -> dict[str, bytes]:
        return dump_keys(
            self.coord.redis, self.coord.store.keys.namespace + ":*", skip=VOLATILE, buckets=False
        )

    def fresh_slot(self) -> tuple[str, str]:
        """A slot no other call of this module used: no test loses a race by accident."""
        m = next(self.slots)
        return iso(m), iso(m + 30)

    def post_raw(
        self, who: str, path: str, raw: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        client = self.owner if who == "owner" else self.agents[who]
        return client.post(
            path,
            content=raw.encode(),
            headers={"content-type": "application/json", **(headers or {})},
        )


ROLES = [
    ("top", 1, None),
    ("low", 2, None),
    ("organizer", 3, None),
    ("alice", 4, None),
    ("bob", 5, None),
    ("asker", 6, ["approvals:request"]),
]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with RedisServer() as redis:
        server = start_server(redis.url)
        coord = Coordinator.from_url(redis.url)
        owner = httpx.Client(base_url=server.url, timeout=30)
        token = owner.post("/v1/auth/magic-link", json={"email": "o@example.com"}).json()
        signed_in = owner.post("/v1/auth/verify", json={"token": token["dev_token"]})
        s = Site(server, coord, signed_in.json()["user_id"], owner)
        try:
            for name, prio, scopes in ROLES:
                body: dict[str, Any] = {"name": name, "priority": prio}
                if scopes:
                    body["scopes"] = scopes
                made = owner.post("/v1/dashboard/agents", json=body)
                assert made.status_code == 201, made.text
                s.agent_ids[name] = made.json()["agent_id"]
                s.agents[name] = httpx.Client(
                    base_url=server.url,
                    headers={"Authorization": f"Bearer {made.json()['plaintext_key']}"},
                    timeout=30,
                )
            yield s
        finally:
            for c in [owner, *s.agents.values()]:
                c.close()
            coord.close()
            server.stop()


def assert_refused(site: Site, r: httpx.Response, before: dict[str, bytes], field: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request", body
    assert body["field"] == field, body
    assert body["detail"]
    assert site.dump() == before


# -- the observations of issue 10, one by one ----------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1" * 400])
def test_a_non_finite_or_huge_number_in_metadata_over_a_fresh_commit_is_a_422_and_evicts_nothing(
    site: Site, literal: str
) -> None:
    # Given a priority-2 agent's fresh commit
    start, end = site.fresh_slot()
    victim = site.agents["low"].post("/v1/bookings", json={"start": start, "end": end})
    assert victim.status_code == 201, victim.text
    before = site.dump()
    # When the priority-1 agent commits over it with metadata the store cannot hold
    raw = f'{{"start": "{start}", "end": "{end}", "metadata": {{"x": {literal}}}}}'
    r = site.post_raw("top", "/v1/bookings", raw, {"Idempotency-Key": f"ik-{literal[:8]}"})
    # Then: a 422 naming metadata, the victim untouched, nothing written
    assert_refused(site, r, before, "metadata")
    got = site.agents["low"].get(f"/v1/bookings/{victim.json()['booking_id']}")
    assert got.json()["status"] == "COMMITTED"
    assert site.coord.audit.verify(site.user_id).ok


@pytest.mark.parametrize(
    ("fragment", "field"),
    [
        ('"title": "\\ud800"', "title"),
        ('"metadata": {"\\ud800": 1}', "metadata"),
        ('"invitee": {"name": "\\ud800"}', "invitee.name"),
        ('"invitee": {"notes": "a\\u0000b"}', "invitee.notes"),
        ('"title": "a\\u001bb"', "title"),
    ],
    ids=["title", "metadata key", "invitee name", "NUL in notes", "ESC in title"],
)
def test_a_lone_surrogate_or_control_character_in_text_is_a_422(
    site: Site, fragment: str, field: str
) -> None:
    start, end = site.fresh_slot()
    before = site.dump()
    r = site.post_raw("top", "/v1/bookings", f'{{"start": "{start}", "end": "{end}", {fragment}}}')
    assert_refused(site, r, before, field)


def test_approval_evidence_with_a_lone_surrogate_is_refused_and_the_owner_can_still_list(
    site: Site,
) -> None:
    before = site.dump()
    raw = '{"action_type": "refund", "summary": "Refund 1", "evidence": {"\\ud800": 1}}'
    r = site.post_raw("asker", "/v1/approvals", raw)
    assert_refused(site, r, before, "evidence")
    for query in ("", "?status=pending", "?status=approved"):
        listed = site.owner.get(f"/v1/dashboard/approvals{query}")
        assert listed.status_code == 200, listed.text


@pytest.mark.parametrize(
    ("who", "path", "body", "field"),
    [
        ("top", "/v1/bookings", {"buffer_before_min": "5"}, "buffer_before_min"),
        ("top", "/v1/bookings", {"buffer_after_min": True}, "buffer_after_min"),
        ("top", "/v1/bookings", {"buffer_after_min": 5.5}, "buffer_after_min"),
        ("top", "/v1/bookings", {"bump_window_seconds": "30"}, "bump_window_seconds"),
        ("top", "/v1/bookings", {"hold_ttl_seconds": False, "mode": "hold"}, "hold_ttl_seconds"),
        ("top", "/v1/bookings", {"with_conferencing": "true"}, "with_conferencing"),
        ("top", "/v1/bookings", {"with_conferencing": 1}, "with_conferencing"),
        ("top", "/v1/bookings", {"title": 5}, "title"),
        ("asker", "/v1/approvals", {"ttl_seconds": "60"}, "ttl_seconds"),
        ("owner", "/v1/dashboard/agents", {"priority": "1"}, "priority"),
        ("owner", "/v1/dashboard/agents", {"priority": True}, "priority"),
    ],
)
def test_the_wire_schemas_are_strict_about_numbers_and_flags(
    site: Site, who: str, path: str, body: dict[str, Any], field: str
) -> None:
    start, end = site.fresh_slot()
    base: dict[str, Any] = {
        "/v1/bookings": {"start": start, "end": end},
        "/v1/approvals": {"action_type": "refund", "summary": "Refund 1"},
        "/v1/dashboard/agents": {"name": "strict"},
    }[path]
    before = site.dump()
    r = site.post_raw(who, path, json.dumps({**base, **body}))
    assert_refused(site, r, before, field)


@pytest.mark.parametrize("raw", ["{", '{"start": ', "[1, 2", "not json", '{"a": 1}}'])
def test_a_body_that_is_not_json_is_a_typed_422(site: Site, raw: str) -> None:
    before = site.dump()
    r = site.post_raw("top", "/v1/bookings", raw)
    assert_refused(site, r, before, "body")
    assert "not valid JSON" in r.json()["detail"]


def test_a_body_nested_beyond_any_parser_is_a_typed_4xx(site: Site) -> None:
    before = site.dump()
    r = site.post_raw("top", "/v1/bookings", "[" * 100_000 + "]" * 100_000)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]
    assert site.dump() == before


# -- the property: every write endpoint, generated hostile values ---------------------------

_CHARS = st.characters(exclude_categories=())  # surrogates and controls too
HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        ["\ud800", "\udfff", "ok\ud83d", "\x00", "a\x00b", "\x1b[2J", "\x7f", "\u0085", "a\nb", ""]
    ),
    st.text(alphabet=_CHARS, max_size=12),
)


def _deep(n: int) -> Any:
    value: Any = 1
    for _ in range(n):
        value = [value]
    return value


HOSTILE_SCALAR = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            10**400,
            -(10**20),
            2**53 + 1,
            1e308,
            -0.0,
            "5",
            "true",
            True,
            False,
            None,
            "2031-03-03T10:00:00",
            "9999-12-31T23:59:59Z",
        ]
    ),
    st.integers(),
    st.floats(),
)
HOSTILE = st.one_of(
    st.recursive(
        HOSTILE_SCALAR,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3)
        ),
        max_leaves=6,
    ),
    st.sampled_from([_deep(17), _deep(400), {"a": _deep(20)}]),
)


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Put a copy of ``value`` at ``path`` inside ``body``, making containers as needed."""
    value = json.loads(json.dumps(value, allow_nan=True))  # never share (or loop) a value
    node: Any = body
    for step in path[:-1]:
        if isinstance(node, dict):
            if not isinstance(node.get(step), dict | list):
                node[step] = {}
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) or (
        isinstance(node, list) and isinstance(last, int) and last < len(node)
    ):
        node[last] = value


@dataclass(frozen=True)
class Endpoint:
    who: str
    path: str
    fields: tuple[tuple[Any, ...], ...]


ENDPOINTS = {
    "bookings commit": Endpoint(
        "top",
        "/v1/bookings",
        (
            ("start",),
            ("end",),
            ("mode",),
            ("title",),
            ("metadata",),
            ("metadata", "k"),
            ("metadata", "k", "n"),
            ("invitee",),
            ("invitee", "name"),
            ("invitee", "email"),
            ("invitee", "notes"),
            ("buffer_before_min",),
            ("buffer_after_min",),
            ("bump_window_seconds",),
            ("with_conferencing",),
            ("availability_etag",),
            ("unknown_field",),
        ),
    ),
    "holds": Endpoint(
        "top",
        "/v1/bookings",
        (("hold_ttl_seconds",), ("metadata", "k"), ("title",), ("start",), ("mode",)),
    ),
    "approvals": Endpoint(
        "asker",
        "/v1/approvals",
        (
            ("action_type",),
            ("summary",),
            ("evidence",),
            ("evidence", "k"),
            ("evidence", "k", 0),
            ("ttl_seconds",),
        ),
    ),
    "proposals create": Endpoint(
        "organizer",
        "/v1/scheduling/proposals",
        (
            ("title",),
            ("description",),
            ("participant_agent_ids",),
            ("participant_agent_ids", 0),
            ("slots",),
            ("slots", 0, "start_time"),
            ("slots", 0, "end_time"),
            ("slots", 0, "weight"),
            ("slots", 0, "calendar_id"),
            ("expires_at",),
            ("organizer_agent_id",),
        ),
    ),
    "proposals respond": Endpoint(
        "alice",
        "/v1/scheduling/proposals/{proposal_id}/respond",
        (
            ("response",),
            ("selected_slot_id",),
            ("counter_slots",),
            ("counter_slots", 0, "start_time"),
            ("message",),
            ("agent_id",),
        ),
    ),
    "counter create": Endpoint(
        "low",
        "/v1/bookings/{booking_id}/counter",
        (
            ("proposed",),
            ("proposed", 0),
            ("proposed", 0, "start"),
            ("proposed", 0, "end"),
            ("note",),
            ("unknown_field",),
        ),
    ),
    "counter accept": Endpoint(
        "top", "/v1/bookings/{booking_id}/counters/{counter_id}/accept", (("slot_index",), ("x",))
    ),
    "webhooks": Endpoint(
        "owner", "/v1/dashboard/webhooks", (("url",), ("events",), ("events", 0), ("secret",))
    ),
    "rules": Endpoint(
        "owner",
        "/v1/dashboard/rules",
        (
            ("working_hours",),
            ("working_hours", "mon"),
            ("working_hours", "mon", 0),
            ("focus_blocks",),
            ("focus_blocks", 0, "title"),
            ("focus_blocks", 0, "start"),
            ("min_lead_minutes",),
            ("daily_cap",),
            ("buffer_before_min",),
            ("require_approval",),
            ("require_approval", "agent_ids", 0),
            ("require_approval", "ttl_seconds"),
        ),
    ),
    "dashboard agents": Endpoint(
        "owner", "/v1/dashboard/agents", (("name",), ("scopes",), ("scopes", 0), ("priority",))
    ),
    "profile": Endpoint("owner", "/v1/me/profile", (("timezone",),)),
    "rerank": Endpoint(
        "owner", "/v1/dashboard/agents/rerank", (("agent_ids",), ("agent_ids", 0), ("agent_ids", 5))
    ),
    "approval decision": Endpoint(
        "owner", "/v1/dashboard/approvals/{approval_id}/deny", (("note",), ("extra",))
    ),
}


def _base(site: Site, name: str) -> dict[str, Any]:
    start, end = site.fresh_slot()
    if name in ("bookings commit", "holds"):
        body: dict[str, Any] = {"start": start, "end": end, "title": "Sync", "metadata": {"a": 1}}
        return {**body, "mode": "hold"} if name == "holds" else body
    if name == "approvals":
        return {"action_type": "refund", "summary": "Refund 1", "evidence": {"k": [1]}}
    if name == "proposals create":
        return {
            "title": "Planning",
            "participant_agent_ids": [site.agent_ids["alice"], site.agent_ids["bob"]],
            "slots": [{"start_time": start, "end_time": end, "weight": 1.0}],
        }
    if name == "proposals respond":
        return {"response": "counter", "counter_slots": [{"start_time": start, "end_time": end}]}
    if name == "counter create":
        return {"proposed": [{"start": start, "end": end}], "note": "Later?"}
    if name == "counter accept":
        return {"slot_index": 0}
    if name == "webhooks":
        return {"url": "https://hooks.example.com/in", "events": ["booking.committed"]}
    if name == "rules":
        return {
            "working_hours": {"mon": [["00:00", "24:00"]]},
            "focus_blocks": [{"weekday": "sun", "start": "09:00", "end": "10:00", "title": "f"}],
            "require_approval": {"agent_ids": [site.agent_ids["bob"]], "ttl_seconds": 60},
        }
    if name == "rerank":
        return {"agent_ids": [site.agent_ids[role] for role, _, _ in ROLES]}
    if name == "approval decision":
        return {"note": "not this time"}
    if name == "dashboard agents":
        return {"name": "gen", "scopes": ["bookings:read"], "priority": 50}
    return {"timezone": "Europe/Berlin"}


_CLEAR_RULES: dict[str, None] = dict.fromkeys(RULE_NAMES)


def _undo(site: Site, name: str, r: httpx.Response) -> None:
    """Take back what an accepted call changed that would steer later examples."""
    if name == "rules":
        assert site.owner.patch("/v1/dashboard/rules", json=_CLEAR_RULES).status_code == 200
    elif name == "webhooks":
        gone = site.owner.delete(f"/v1/dashboard/webhooks/{r.json()['endpoint_id']}")
        assert gone.status_code == 204
    elif name == "profile":
        assert site.owner.put("/v1/me/profile", json={"timezone": "UTC"}).status_code == 200


def _readable(site: Site) -> None:
    """Whatever was accepted, the reads that list it still answer."""
    for client, path in (
        (site.owner, "/v1/dashboard/approvals"),
        (site.owner, "/v1/dashboard/agents"),
        (site.owner, "/v1/dashboard/rules"),
        (site.owner, "/v1/dashboard/webhooks"),
        (site.agents["organizer"], "/v1/scheduling/proposals"),
        (site.agents["top"], "/v1/audit?limit=5"),
    ):
        r = client.get(path)
        assert r.status_code < 500, (path, r.text)


@pytest.fixture(scope="module")
def open_proposal(site: Site) -> str:
    """A pending proposal alice is invited to (answers after the first are refused)."""
    start, end = site.fresh_slot()
    r = site.agents["organizer"].post(
        "/v1/scheduling/proposals",
        json={
            "participant_agent_ids": [site.agent_ids["alice"], site.agent_ids["bob"]],
            "slots": [{"start_time": start, "end_time": end}],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="module")
def pending_approval(site: Site) -> str:
    """A pending approval the owner may deny (decisions after the first are refused)."""
    r = site.agents["asker"].post("/v1/approvals", json={"action_type": "a", "summary": "s"})
    assert r.status_code == 201, r.text
    return r.json()["approval_id"]


@pytest.fixture(scope="module")
def countered(site: Site) -> tuple[str, str]:
    """top's booking and alice's pending counter on it (one slot)."""
    start, end = site.fresh_slot()
    won = site.agents["top"].post("/v1/bookings", json={"start": start, "end": end})
    assert won.status_code == 201, won.text
    bid = won.json()["booking_id"]
    start, end = site.fresh_slot()
    r = site.agents["alice"].post(
        f"/v1/bookings/{bid}/counter", json={"proposed": [{"start": start, "end": end}]}
    )
    assert r.status_code == 201, r.text
    return bid, r.json()["counter_id"]


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_hostile_bodies_never_5xx_and_a_refusal_writes_nothing(
    site: Site, open_proposal: str, pending_approval: str, countered: tuple[str, str], name: str
) -> None:
    ep = ENDPOINTS[name]
    mutations = st.lists(st.tuples(st.sampled_from(ep.fields), HOSTILE), min_size=1, max_size=2)
    # Header values an HTTP client can send at all (h11 refuses DEL and edge spaces).
    idem = st.one_of(st.none(), st.sampled_from(["", "a b", "k" * 300, "ok-key"]))

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(changes=mutations, key=idem)
    def check(changes: list[tuple[tuple[Any, ...], Any]], key: str | None) -> None:
        body = _base(site, name)
        for path, value in changes:
            _set(body, path, value)
        raw = json.dumps(body, allow_nan=True)  # NaN/Infinity as raw JSON literals
        headers = {} if key is None else {"Idempotency-Key": key}
        before = site.dump()
        path = ep.path.format(
            proposal_id=open_proposal,
            approval_id=pending_approval,
            booking_id=countered[0],
            counter_id=countered[1],
        )
        if name == "rules":
            r = site.owner.patch(
                path, content=raw.encode(), headers={"content-type": "application/json"}
            )
        elif name == "profile":
            r = site.owner.put(
                path, content=raw.encode(), headers={"content-type": "application/json"}
            )
        else:
            r = site.post_raw(ep.who, path, raw, headers)
        assert r.status_code < 500, (r.status_code, r.text, raw[:300])
        if r.status_code >= 400:
            assert isinstance(r.json().get("error"), str), r.text
            assert site.dump() == before, (r.status_code, r.text, raw[:300])
        else:
            _undo(site, name, r)
        _readable(site)

    check()
