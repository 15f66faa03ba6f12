"""A plain commit's record and reply, as _plain.lua writes them, are cjson's.

``_plain.lua`` tells a plain commit by its static fields, writes its compact record
with one ``string.format`` instead of cjson (whose number formatting was a large part
of the commit script), and answers an outright win with only what the script decided
(an array), from which ``coordinator/plain_wins.py`` puts the reply back together.
Each must give the very JSON value cjson gives, or decline (nil) and leave it to
cjson. Checked on generated records against ``compact_booking`` and ``cjson.encode``
in the same Lua state (numbers near 10^14 and fractional ones, ids with characters
JSON escapes, audit ids of another millisecond, covers the times do not give, holds,
consents), and on real commits through the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coordinator import Coordinator, Settings
from coordinator.buckets import to_ms
from coordinator.plain_wins import PLAIN_FIXED, PlainWon, plain_reply
from coordinator.store.calls import PlainWin
from coordinator.store.records import plain_static_json
from coordinator.store.scripts import FAULTS_ENV

from .audit_story import admin
from .conftest import BASE, Calendar, at, commit_request
from .snapshot import calendar_dump

LUA = Path(__file__).resolve().parents[2] / "coordinator" / "lua"

#: Both ways of writing one record and its reply, side by side.
RECORD = """
local rec = cjson.decode(ARGV[1])
local now = tonumber(ARGV[2])
return cjson.encode({
  fast_compact = plain_compact(rec) or false,
  slow_compact = cjson.encode(compact_booking(rec)),
  win = plain_win(rec, now) or false,
  slow_reply = cjson.encode({ r = 'ok', booking = rec, now = now,
    wait_ms = rec.arb_until_ms - now, displaced = {} }),
})
"""
#: Whether a claim's static fields are a plain commit's.
STATIC_READ = """
local rec = cjson.decode(ARGV[1])
rec.digest = nil
return plain_static(rec) and 1 or 0
"""


def _script(body: str) -> str:
    return "\n".join([(LUA / "_lib.lua").read_text(), (LUA / "_plain.lua").read_text(), body])


MS = 1_800_000_000_000
#: Whole numbers cjson writes exactly, and the ones around where it stops.
WHOLE = st.integers(0, 10**14 - 1)
NUMBER = st.one_of(
    WHOLE,
    st.sampled_from([10**14 - 1, 10**14, 10**14 + 1, 2**53, -1, -(10**14)]),
    st.floats(0, 2e14, allow_nan=False).filter(lambda v: v % 1 != 0),
)
PLAIN_ID = st.from_regex(r"[A-Za-z0-9_\-]{1,24}", fullmatch=True)
ANY_ID = st.one_of(PLAIN_ID, st.text(min_size=0, max_size=12))


@st.composite
def plain_records(draw: st.DrawFn, odd: bool = False) -> tuple[dict[str, Any], int]:
    """A won commit's long record as claim_take leaves it, and the script's ``now``.

    ``odd``: any field may take a value the writers must decline or write exactly.
    """
    number = NUMBER if odd else WHOLE
    start = draw(st.integers(0, 10**13)) if not odd else draw(number)
    end = start + draw(st.integers(1, 10**9)) if not odd else draw(number)
    created = draw(st.integers(MS, MS + 10**9)) if not odd else draw(number)
    now = created if not odd or draw(st.booleans()) else draw(number)
    seq = draw(st.integers(0, 10**6))
    audit_ms = created if not odd or draw(st.booleans()) else draw(number)
    if isinstance(audit_ms, int | float) and audit_ms == int(audit_ms):
        audit_ms = int(audit_ms)
    audit = f"{audit_ms}-{seq}"
    if odd:
        audit = draw(st.sampled_from([audit, "not-an-id"]))
    first, last = start // 300_000, -(-end // 300_000)
    rec: dict[str, Any] = {
        "id": draw(ANY_ID if odd else PLAIN_ID),
        "agent_id": draw(ANY_ID if odd else PLAIN_ID),
        "priority": draw(number if odd else st.integers(1, 1000)),
        "mode": "commit",
        "status": "COMMITTED",
        "start_ms": start,
        "end_ms": end,
        "cover_first": first if not odd or draw(st.booleans()) else draw(number),
        "cover_last": last,
        **PLAIN_FIXED,
        "created_ms": created,
        "arb_until_ms": created + draw(st.sampled_from([0, 0, 150, 2500])),
        "committed_ms": created if not odd or draw(st.booleans()) else draw(number),
        "bump_until_ms": created + draw(st.sampled_from([0, 30_000, 300_000])),
        "expires_ms": 0,
        "audit_event_id": audit,
    }
    if odd:
        rec.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "status": st.sampled_from(["HOLD", "EVICTED"]),
                        "mode": st.just("hold"),
                        "expires_ms": number,
                        "consent_id": PLAIN_ID,
                        "approval_id": PLAIN_ID,
                    },
                )
            )
        )
    return rec, now


def _both(store: Any, rec: dict[str, Any], now: float) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(store.eval(_script(RECORD), 0, json.dumps(rec), repr(now)))
    return out


def _same(fast: str | bool, slow: str) -> bool:
    """The fast text declined, or reads back as the very value cjson wrote."""
    return fast is False or json.loads(str(fast)) == json.loads(slow)


def _win_reply(rec: dict[str, Any], win: list[Any]) -> dict[str, Any]:
    """The reply Python puts back together from the script's array for ``rec``."""
    tag, *decided = win
    assert tag == "plain"
    won = PlainWon(rec["id"], rec["agent_id"], rec["start_ms"], rec["end_ms"], PlainWin(*decided))
    return plain_reply(won)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=plain_records())
def test_a_plain_commit_is_written_as_text_with_cjsons_values(
    store: Any, made: tuple[dict[str, Any], int]
) -> None:
    rec, now = made
    out = _both(store, rec, now)
    assert out["fast_compact"] is not False and out["win"] is not False
    assert json.loads(out["fast_compact"]) == json.loads(out["slow_compact"])
    assert _win_reply(rec, out["win"]) == json.loads(out["slow_reply"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=plain_records(odd=True))
def test_any_other_record_is_declined_or_written_exactly(
    store: Any, made: tuple[dict[str, Any], float]
) -> None:
    rec, now = made
    out = _both(store, rec, now)
    assert _same(out["fast_compact"], out["slow_compact"])
    if out["win"] is not False:
        assert _win_reply(rec, out["win"]) == json.loads(out["slow_reply"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.integers(0, 10**14),
    minutes=st.integers(5, 1440),
    reformat=st.sampled_from(
        [None, "spaced", "sorted", "buffered", "titled", "invited", "extra", "zero-title"]
    ),
)
def test_only_a_plain_commits_static_fields_are_written_as_plain(
    store: Any, start: int, minutes: int, reformat: str | None
) -> None:
    end = start + minutes * 60_000
    text = plain_static_json(start, end, start // 300_000, -(-end // 300_000), 0, 0)
    assume(text is not None)  # past 10^14 the packer writes the dict
    assert text is not None
    value = json.loads(text)
    changed = {
        "buffered": {"buffer_before_min": 5},
        "titled": {"title": "Intro"},
        "invited": {"invitee": {"email": "a@b.example"}},
        "extra": {"note": "kept by compact_booking"},
        "zero-title": {"title": 0},
    }.get(reformat or "", {})
    value.update(changed)
    if reformat == "sorted":
        text = json.dumps(value, sort_keys=True).encode()
    elif reformat is not None:
        text = json.dumps(value).encode()
    plain = store.eval(_script(STATIC_READ), 0, text)
    assert plain == (0 if changed else 1)


def test_a_plain_commit_is_stored_and_answered_as_the_general_path_would(cal: Calendar) -> None:
    """A real commit takes the text path (its record is written in its field order) and
    reads back, by Python and by the scripts, as the booking the reply described."""
    agent = cal.agent(1)
    won = agent.bookings.commit(start=at(0), end=at(30))
    raw = cal.coord.redis.hget(cal.coord.store.keys.bookings(cal.user_id), won.booking_id)
    if isinstance(raw, bytes):
        raw = raw.decode()
    assert raw.startswith('{"a":"')  # _plain.lua's text, not cjson's (hash order)
    assert agent.bookings.get(won.booking_id) == won
    # The claim itself answered with the array, and the reply put back together from
    # it is the record the scripts read back.
    engine, q = commit_request(cal, at(60), 30, agent)
    reply = engine.calls.run(engine._pack_claim(q, engine.rules_cache.get(cal.user_id)))
    assert isinstance(reply["plain"], PlainWin)
    won_again = PlainWon(q.booking_id, q.agent_id, q.start_ms, q.end_ms, reply["plain"])
    rec, _now = engine._read(cal.user_id, q.booking_id)
    assert plain_reply(won_again)["booking"] == rec


# -- claim_plain against claim, on the same calendar at the same clock ------------------


@pytest.fixture
def hooked(store: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A coordinator whose scripts carry the test hooks (_fault.lua): a fixed clock
    and the general claim on demand."""
    monkeypatch.setenv(FAULTS_ENV, "1")
    yield lambda **settings: Coordinator(store, Settings(**settings))


def _escaped(prefix: str) -> str:
    return prefix.replace("{", "\\{").replace("}", "\\}") + "*"


def _keys(r: Any, prefix: str) -> set[Any]:
    if hasattr(r, "get_primaries"):
        return {
            k
            for node in r.get_primaries()
            for k in r.scan_iter(match=_escaped(prefix), target_nodes=node)
        }
    return set(r.scan_iter(match=_escaped(prefix)))


def _saved(r: Any, prefix: str) -> dict[Any, tuple[int, bytes]]:
    """Every key of the calendar as DUMP and its time to live, to run a call again."""
    return {k: (max(r.pttl(k), 0), r.dump(k)) for k in _keys(r, prefix)}


def _restored(r: Any, prefix: str, saved: dict[Any, tuple[int, bytes]]) -> None:
    for k in _keys(r, prefix):
        r.delete(k)
    for k, (ttl, payload) in saved.items():
        r.restore(k, ttl, payload, replace=True)


#: What the calendar holds before the commit, besides the writer.
SITUATIONS = [
    "free",  # nothing near: claim_plain's own case
    "neighbour",  # a booking in the next slot, none in this one
    "held",  # another agent's commit in this slot: claim() judges it
    "own hold",  # the writer's hold in this slot: claim() promotes it
    "hooks",  # the owner has webhooks: claim() queues the event
    "rules changed",  # the writer judged by an old snapshot: claim() says so
    "rotated key",  # the writer's key was rotated: claim() refuses it
    "no tokens",  # the writer's bucket is empty: claim() refuses it
    "replay",  # the same booking id was written already: claim() replays it
    "old calendar",  # an owner hash without audit_last/audit_n: tx_audit reads them
    "lead time",  # the owner wants more notice than the slot gives
]
FAST = {"free", "neighbour", "old calendar"}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    situation=st.sampled_from(SITUATIONS),
    writer=st.sampled_from([1, 2]),
    window_ms=st.sampled_from([0, 200]),
    owner_window=st.sampled_from([None, "0", "350"]),
    checkpoint_every=st.sampled_from([0, 1, 3]),
    limited=st.booleans(),
    minutes=st.sampled_from([5, 30, 60]),
    early=st.integers(0, 59),
)
def test_claim_plain_leaves_the_calendar_as_claim_does(
    hooked: Any,
    situation: str,
    writer: int,
    window_ms: int,
    owner_window: str | None,
    checkpoint_every: int,
    limited: bool,
    minutes: int,
    early: int,
) -> None:
    coord = hooked(arbitration_window_ms=window_ms, audit_checkpoint_every=checkpoint_every)
    r = admin(coord)  # restores the audit stream, which the coordinator may not
    owner = coord.owners.create().user_id
    prefix = coord.store.keys.prefix(owner)
    limits = {"rate_limit_per_second": 2.0, "rate_limit_burst": 3} if limited else {}
    agents = {
        p: coord.client(coord.agents.create(owner, name=f"p{p}", priority=p, **limits).api_key)
        for p in (1, 2)
    }
    me, other = agents[writer], agents[3 - writer]
    if owner_window is not None:  # the owner's own arbitration window, over the default
        r.hset(prefix + "owner", "arb_window_ms", owner_window)
    start = at(60 * 24 * 3 + early * 5)  # inside one UTC day, on the 5-minute grid
    # A first commit, days away, leaves the writer with its owner's rules snapshot.
    me.bookings.commit(start=at(60 * 24 * 9), end=at(60 * 24 * 9 + 30))
    cal = Calendar(coord, owner)
    engine, q = commit_request(cal, start, minutes, me)
    snap = engine.rules_cache.get(owner)
    if situation == "neighbour":
        other.bookings.commit(start=start + timedelta(minutes=minutes), end=at(60 * 24 * 4))
    elif situation == "held":
        other.bookings.commit(start=start, end=start + timedelta(minutes=5))
    elif situation == "own hold":
        me.bookings.hold(start=start, end=start + timedelta(minutes=minutes))
    elif situation == "hooks":
        r.hset(prefix + "hooks", "whk_test", "{}")
    elif situation == "rules changed":
        coord.rules.update(owner, buffer_after_min=0)  # a new version, the same rules
    elif situation == "rotated key":
        coord.agents.rotate(me.agent_id)
    elif situation == "no tokens":
        r.hset(prefix + f"agent:{me.agent_id}", mapping={"rl_tokens": "0", "rl_ts": "9e15"})
    elif situation == "replay":
        coord.store.scripts.commit(
            keys=engine._pack_claim(q, snap).keys, args=engine._pack_claim(q, snap).args
        )
    elif situation == "old calendar":
        r.hdel(prefix + "owner", "audit_last", "audit_n")
    elif situation == "lead time":
        coord.rules.update(owner, min_lead_minutes=527_040)  # a year
        snap = engine.rules_cache.get(owner)
    call = engine._pack_claim(q, snap)
    r.set(prefix + "clock", str(to_ms(BASE) - 3_600_000 + early))
    before = _saved(r, prefix)

    def run() -> tuple[Any, dict[str, Any]]:
        reply = coord.store.scripts.commit(keys=call.keys, args=call.args)
        after: dict[str, Any] = calendar_dump(coord, owner)
        after.pop(prefix + "general", None)
        for stream in ("cpdue", "outbox"):  # ids from the server's clock ('*'): fields
            if prefix + stream in after:
                after[prefix + stream] = [fields for _id, fields in r.xrange(prefix + stream)]
        return reply, after

    fast = run()
    _restored(r, prefix, before)
    r.set(prefix + "general", "1")
    general = run()
    assert fast[0] == general[0]
    for key in fast[1].keys() | general[1].keys():
        assert fast[1].get(key) == general[1].get(key), key
    # claim_plain took exactly the writes it is for (its last step is 'plain').
    _restored(r, prefix, before)
    r.set(prefix + "fault", "commit:plain")
    try:
        coord.store.scripts.commit(keys=call.keys, args=call.args)
        took_plain = False
    except Exception as exc:
        took_plain = "fault injected at commit:plain" in str(exc)
    assert took_plain == (situation in FAST)
