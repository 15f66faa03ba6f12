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
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coordinator.plain_wins import PLAIN_FIXED, PlainWon, plain_reply
from coordinator.store.calls import PlainWin
from coordinator.store.records import plain_static_json

from .conftest import Calendar, at, commit_request

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
