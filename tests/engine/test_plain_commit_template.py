"""An agent's plain commits are packed from a kept template, into exactly the general claim.

``Bookings._plain_commit`` packs the commonest write (a commit of a start and an end
alone, inside one UTC day, let through as it is by the owner's rules) from a template
kept per agent and rules snapshot. It must give the very call ``_pack_any_claim``
gives, or decline and leave the write to it. Checked on generated writes (times across
midnight, buffers, a title, an idempotency key, an etag) against owners' rules of every
kind (working hours, a focus block, an approval gate, a daily cap, buffers, a lead
time), and the template must follow the rules when they change. Packing only: nothing
here is sent.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import hiredis
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator.buckets import to_ms
from coordinator.policy import judge
from coordinator.ruleset import RulesSnapshot
from coordinator.store.resp import command_head

from .conftest import BASE, Calendar, commit_request

#: Owners' rules, one of each kind that changes a commit's claim or declines the template.
RULES = [
    "",
    '{"working_hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}}',
    '{"focus_blocks": [{"kind": "weekly", "weekday": "mon", "start": "12:00", "end": "13:00"}]}',
    '{"require_approval": {"above_minutes": 60}}',
    '{"require_approval": {}}',
    '{"daily_cap": 3}',
    '{"buffer_before_min": 10}',
    '{"buffer_after_min": 5}',
    '{"min_lead_minutes": 30}',
]
#: ``_prepare``'s optional arguments, each sometimes given.
EXTRAS = st.fixed_dictionaries(
    {},
    optional={
        "buffer_before_min": st.integers(0, 30),
        "buffer_after_min": st.integers(0, 30),
        "title": st.sampled_from(["", "Intro call"]),
        "idempotency_key": st.sampled_from(["k-1"]),
        "bump_window_seconds": st.sampled_from([0, 30, 90.5]),
    },
)


def _as_general(call: Any) -> Any:
    """A template's call without what only the template asks: the claim's checks
    (ARGV[11]) carry ``plain_reply``, so an outright win is answered as a PlainWin
    (``coordinator/plain_wins.py``; test_plain_claim.py holds that to the JSON reply),
    and its KEYS and ARGV come packed (``Call.wire``), which must be what hiredis packs."""
    if call is None:
        return None
    # The template's call comes packed too (store/resp.py): the same bytes hiredis packs.
    assert call.wire is not None
    packed = hiredis.pack_command(("FCALL", "f", len(call.keys), *call.keys, *call.args))
    assert (
        command_head("FCALL", "f", len(call.keys), len(call.keys) + len(call.args)) + (call.wire)
        == packed
    )
    checks = json.loads(call.args[10])
    assert checks.pop("plain_reply") == 1
    args = [*call.args]
    args[10] = orjson.dumps(checks)
    return call._replace(args=args, wire=None)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rules=st.sampled_from(RULES),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
    start_min=st.integers(0, 7 * 24 * 60).map(lambda m: m - m % 5),
    length_min=st.sampled_from([5, 30, 60, 90, 24 * 60]),
    extras=EXTRAS,
)
def test_the_template_packs_the_general_claim_or_declines(
    cal: Calendar,
    rules: str,
    zone: str,
    start_min: int,
    length_min: int,
    extras: dict[str, Any],
) -> None:
    snap = RulesSnapshot.from_reply({"rules_version": 7, "timezone": zone, "rules": rules})
    start = BASE + timedelta(minutes=start_min)
    engine, q = commit_request(cal, start, length_min, **extras)
    general = engine._pack_any_claim(q, snap)
    for _ in range(2):  # a template built, then the kept one
        plain = _as_general(engine._plain_commit(q, snap))
        assert plain is None or plain == general
    single_day = start.date() == (start + timedelta(minutes=length_min - 1)).date()
    if not rules and not extras and single_day:
        assert plain is not None  # the commonest write does take the template


def test_the_template_follows_the_rules_and_the_key(cal: Calendar) -> None:
    engine, q = commit_request(cal, BASE, 30)
    first = RulesSnapshot.from_reply({"rules_version": 1, "timezone": "UTC", "rules": ""})
    later = RulesSnapshot.from_reply(
        {"rules_version": 2, "timezone": "UTC", "rules": '{"min_lead_minutes": 15}'}
    )
    assert _as_general(engine._plain_commit(q, first)) == engine._pack_any_claim(q, first)
    # A new snapshot (another rules version, a lead time) is packed anew, not from the
    # template of the old one: the checks it carries name the new version.
    assert _as_general(engine._plain_commit(q, later)) == engine._pack_any_claim(q, later)
    assert engine._plain_commit(q, later) != engine._plain_commit(q, first)
    # A rotated key (another key hash) gets its own template.
    rotated = q._replace(key_hash="0" * 64)
    general = engine._pack_any_claim(rotated, later)
    assert _as_general(engine._plain_commit(rotated, later)) == general


@settings(max_examples=600, deadline=None)
@given(
    rules=st.sampled_from(RULES),
    zone=st.sampled_from(["UTC", "Asia/Kolkata"]),
    start_min=st.integers(0, 14 * 24 * 60),
    length_min=st.integers(5, 600),
    mode=st.sampled_from(["commit", "hold"]),
    approved=st.booleans(),
)
def test_judging_nothing_is_the_verdict_the_rules_give(
    rules: str, zone: str, start_min: int, length_min: int, mode: str, approved: bool
) -> None:
    """``judge`` clears at once an owner whose rules it would not look at
    (``RulesSnapshot.judges_nothing``): the verdict its full pass gives."""
    snap = RulesSnapshot.from_reply({"rules_version": 1, "timezone": zone, "rules": rules})
    full = RulesSnapshot.from_reply({"rules_version": 1, "timezone": zone, "rules": rules})
    full.__dict__["judges_nothing"] = False  # the whole pass, whatever the rules
    start = to_ms(BASE) + start_min * 60_000
    args = ("agt_1", mode, start, start + length_min * 60_000)
    assert judge(snap, *args, approved=approved) == judge(full, *args, approved=approved)
    assert snap.judges_nothing == (
        rules
        in (
            "",
            '{"daily_cap": 3}',
            '{"buffer_before_min": 10}',
            '{"buffer_after_min": 5}',
            '{"min_lead_minutes": 30}',
        )
    )
