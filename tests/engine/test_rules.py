"""The owner's rules: stored, versioned, audited, and enforced on every write.

BASE (conftest) is Monday 2031-03-03 10:00 UTC. Owners here are in UTC unless a
test sets a zone, so wall-clock rules read as UTC times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coordinator import Conflict, RuleViolation, ValidationError

from .conftest import BASE, Calendar, at
from .test_bad_input import snapshot

WEEKDAYS_9_TO_5 = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_a_new_owner_has_no_rules_and_any_hour_is_bookable(cal: Calendar) -> None:
    rules = cal.coord.rules.get(cal.user_id)
    assert rules.rules_version == 1
    assert rules.timezone == "UTC"
    for name in (
        "working_hours",
        "buffer_before_min",
        "buffer_after_min",
        "focus_blocks",
        "min_lead_minutes",
        "daily_cap",
        "require_approval",
    ):
        assert getattr(rules, name) is None
    a = cal.agent(1)
    sunday_3am = datetime(2031, 3, 9, 3, 0, tzinfo=UTC)
    assert a.bookings.commit(start=sunday_3am, end=sunday_3am + timedelta(hours=1)).is_live


def test_every_rules_change_bumps_the_version_and_is_audited(cal: Calendar) -> None:
    rules = cal.coord.rules
    v2 = rules.update(cal.user_id, working_hours=WEEKDAYS_9_TO_5)
    v3 = rules.update(cal.user_id, daily_cap=4, min_lead_minutes=30)
    assert (v2.rules_version, v3.rules_version) == (2, 3)
    assert v3.working_hours is not None and v3.working_hours["mon"] == (("09:00", "17:00"),)
    assert (v3.daily_cap, v3.min_lead_minutes) == (4, 30)
    entries = [e for e in cal.coord.audit.range(cal.user_id) if e.type == "rules.updated"]
    assert [e.fields["rules_version"] for e in entries] == ["2", "3"]
    assert entries[1].fields["changed"] == "min_lead_minutes,daily_cap"
    assert cal.coord.audit.verify(cal.user_id).ok


def test_passing_none_clears_a_rule_and_leaves_the_others(cal: Calendar) -> None:
    rules = cal.coord.rules
    rules.update(cal.user_id, daily_cap=2, buffer_after_min=10)
    after = rules.update(cal.user_id, daily_cap=None)
    assert after.daily_cap is None
    assert after.buffer_after_min == 10


def test_setting_the_timezone_bumps_the_version_and_an_unknown_zone_changes_nothing(
    cal: Calendar,
) -> None:
    owner = cal.coord.owners.set_timezone(cal.user_id, "America/New_York")
    assert owner.timezone == "America/New_York"
    assert owner.rules_version == 2
    before = snapshot(cal)
    with pytest.raises(ValidationError) as err:
        cal.coord.owners.set_timezone(cal.user_id, "Atlantis/Capital")
    assert err.value.field == "timezone"
    assert snapshot(cal) == before
    assert cal.coord.rules.get(cal.user_id).timezone == "America/New_York"


BAD_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("weekday typo", {"working_hours": {"monday": [("09:00", "17:00")]}}, "working_hours"),
    ("end before start", {"working_hours": {"mon": [("17:00", "09:00")]}}, "working_hours"),
    ("not a time", {"working_hours": {"mon": [("9am", "5pm")]}}, "working_hours"),
    (
        "overlapping spans",
        {"working_hours": {"mon": [("09:00", "12:00"), ("11:00", "13:00")]}},
        "working_hours",
    ),
    ("empty table", {"working_hours": {}}, "working_hours"),
    ("negative buffer", {"buffer_before_min": -5}, "buffer_before_min"),
    ("fractional buffer", {"buffer_after_min": 2.5}, "buffer_after_min"),
    ("focus without end", {"focus_blocks": [{"start": at(0)}]}, "focus_blocks"),
    (
        "naive focus",
        {"focus_blocks": [{"start": datetime(2031, 3, 3, 12), "end": datetime(2031, 3, 3, 13)}]},
        "focus_blocks",
    ),
    (
        "focus weekday typo",
        {"focus_blocks": [{"weekday": "funday", "start": "12:00", "end": "13:00"}]},
        "focus_blocks",
    ),
    ("negative lead", {"min_lead_minutes": -1}, "min_lead_minutes"),
    ("zero cap", {"daily_cap": 0}, "daily_cap"),
    ("cap as text", {"daily_cap": "3"}, "daily_cap"),
    ("approval with junk", {"require_approval": {"when": "always"}}, "require_approval"),
    ("approval for no agents", {"require_approval": {"agent_ids": []}}, "require_approval"),
]


@pytest.mark.parametrize("case", BAD_RULES, ids=[c[0] for c in BAD_RULES])
def test_a_bad_rule_names_the_field_and_writes_nothing(cal: Calendar, case: Any) -> None:
    _, kwargs, field = case
    before = snapshot(cal), cal.coord.rules.get(cal.user_id)
    with pytest.raises(ValidationError) as err:
        cal.coord.rules.update(cal.user_id, **kwargs)
    assert err.value.field == field
    assert err.value.status == 422
    assert (snapshot(cal), cal.coord.rules.get(cal.user_id)) == before


def test_one_bad_rule_among_good_ones_writes_none_of_them(cal: Calendar) -> None:
    with pytest.raises(ValidationError):
        cal.coord.rules.update(cal.user_id, daily_cap=3, min_lead_minutes=-1)
    assert cal.coord.rules.get(cal.user_id).daily_cap is None


def test_a_write_outside_working_hours_is_refused_and_writes_nothing(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, working_hours=WEEKDAYS_9_TO_5)
    a = cal.agent(1)
    before = snapshot(cal)
    for start, minutes in [
        (BASE.replace(hour=8), 30),
        (BASE.replace(hour=16, minute=45), 30),
        (BASE + timedelta(days=5), 30),
    ]:  # 08:00, across 17:00, a Saturday
        for write in (a.bookings.commit, a.bookings.hold):
            with pytest.raises(RuleViolation) as err:
                write(start=start, end=start + timedelta(minutes=minutes))
            assert err.value.error == "outside_working_hours"
            assert err.value.status == 422
    assert snapshot(cal) == before
    ok = a.bookings.commit(start=BASE.replace(hour=16, minute=30), end=BASE.replace(hour=17))
    assert ok.status == "COMMITTED"


def test_working_hours_may_have_several_spans_a_day(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, working_hours={"mon": ["09:00-12:00", "13:00-17:00"]})
    a = cal.agent(1)
    with pytest.raises(RuleViolation):
        a.bookings.commit(start=BASE.replace(hour=11, minute=30), end=BASE.replace(hour=13))
    assert a.bookings.commit(start=BASE.replace(hour=13), end=BASE.replace(hour=14)).is_live


def test_buffers_may_reach_outside_working_hours_but_the_meeting_may_not(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, working_hours=WEEKDAYS_9_TO_5)
    a = cal.agent(1)
    b = a.bookings.commit(
        start=BASE.replace(hour=9), end=BASE.replace(hour=9, minute=30), buffer_before_min=15
    )
    assert b.buffer_before_min == 15


def test_a_one_off_focus_block_refuses_overlapping_writes(cal: Calendar) -> None:
    cal.coord.rules.update(
        cal.user_id,
        focus_blocks=[
            {"start": at(60), "end": at(120), "title": "Board prep"},
        ],
    )
    a = cal.agent(1)
    with pytest.raises(RuleViolation) as err:
        a.bookings.commit(start=at(90), end=at(150))
    assert err.value.error == "focus_block"
    assert a.bookings.commit(start=at(120), end=at(150)).is_live  # touching is not overlapping
    assert a.bookings.commit(start=at(30), end=at(60)).is_live


def test_a_weekly_focus_block_recurs_every_week(cal: Calendar) -> None:
    cal.coord.rules.update(
        cal.user_id,
        focus_blocks=[
            {"weekday": "wed", "start": "12:00", "end": "13:00"},
        ],
    )
    a = cal.agent(1)
    for week in range(3):
        wednesday_noon = BASE.replace(hour=12) + timedelta(days=2 + 7 * week)
        with pytest.raises(RuleViolation) as err:
            a.bookings.hold(start=wednesday_noon, end=wednesday_noon + timedelta(minutes=30))
        assert err.value.error == "focus_block"
    thursday_noon = BASE.replace(hour=12) + timedelta(days=3)
    assert a.bookings.commit(start=thursday_noon, end=thursday_noon + timedelta(hours=1)).is_live


def test_lead_time_is_measured_on_the_server_clock(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, min_lead_minutes=120)
    a = cal.agent(1)
    soon = datetime.now(UTC) + timedelta(minutes=30)
    with pytest.raises(RuleViolation) as err:
        a.bookings.commit(start=soon, end=soon + timedelta(minutes=30))
    assert err.value.error == "lead_time_not_met"
    earliest = datetime.fromisoformat(err.value.context["earliest_start"])
    assert abs(earliest - (datetime.now(UTC) + timedelta(minutes=120))) < timedelta(minutes=1)
    later = datetime.now(UTC) + timedelta(hours=3)
    assert a.bookings.commit(start=later, end=later + timedelta(minutes=30)).is_live


def test_the_daily_cap_counts_commits_and_live_holds_of_the_local_day(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, daily_cap=2)
    a, b = cal.agent(1), cal.agent(2)
    a.bookings.commit(start=at(0), end=at(30))
    b.bookings.hold(start=at(60), end=at(90))
    before = snapshot(cal)
    with pytest.raises(RuleViolation) as err:
        a.bookings.commit(start=at(120), end=at(150))
    assert err.value.error == "daily_cap_reached"
    assert err.value.context == {"daily_cap": 2, "local_date": "2031-03-03"}
    assert snapshot(cal) == before
    # The next day has its own count.
    assert a.bookings.commit(start=at(24 * 60), end=at(24 * 60 + 30)).is_live


def test_an_ended_booking_frees_its_place_under_the_cap(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, daily_cap=1)
    a = cal.agent(1)
    first = a.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(RuleViolation):
        a.bookings.commit(start=at(60), end=at(90))
    a.bookings.cancel(first.booking_id)
    assert a.bookings.commit(start=at(60), end=at(90)).is_live


def test_promoting_a_hold_at_the_cap_is_allowed_since_the_hold_already_counts(
    cal: Calendar,
) -> None:
    cal.coord.rules.update(cal.user_id, daily_cap=1)
    a = cal.agent(1)
    hold = a.bookings.hold(start=at(0), end=at(30))
    assert a.bookings.promote(hold.booking_id).status == "COMMITTED"


def test_a_better_commit_that_evicts_a_same_day_booking_keeps_the_count(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, daily_cap=1)
    low, high = cal.agent(3), cal.agent(1)
    low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    won = high.bookings.commit(start=at(0), end=at(30))
    assert [d.status for d in won.displaced] == ["EVICTED"]


def test_the_cap_is_checked_after_a_conflict_so_the_loser_hears_who_won(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, daily_cap=1)
    a, b = cal.agent(1), cal.agent(2)
    a.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(0), end=at(30))


def test_default_buffers_apply_when_a_write_gives_none(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, buffer_before_min=10, buffer_after_min=15)
    a, b = cal.agent(1), cal.agent(1)
    booked = a.bookings.commit(start=at(60), end=at(90))
    assert (booked.buffer_before_min, booked.buffer_after_min) == (10, 15)
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(100), end=at(120), buffer_before_min=0)  # hits the 15 after
    assert b.bookings.commit(start=at(105), end=at(120), buffer_before_min=0).is_live
    explicit = b.bookings.commit(start=at(0), end=at(30), buffer_before_min=0, buffer_after_min=0)
    assert (explicit.buffer_before_min, explicit.buffer_after_min) == (0, 0)


def test_rules_changed_by_another_coordinator_decide_the_very_next_write(cal: Calendar) -> None:
    """Each coordinator caches the rules it last saw; the script refuses a stale verdict."""
    a = cal.agent(1)
    a.bookings.commit(start=at(0), end=at(30))  # this coordinator now caches version 1
    other = type(cal.coord)(cal.coord.redis, cal.coord.settings)
    other.rules.update(cal.user_id, working_hours={"tue": [("09:00", "17:00")]})
    with pytest.raises(RuleViolation) as err:
        a.bookings.commit(start=at(60), end=at(90))  # a Monday
    assert err.value.error == "outside_working_hours"


def test_an_idempotent_retry_after_a_rules_change_still_returns_the_original(
    cal: Calendar,
) -> None:
    a = cal.agent(1)
    first = a.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_rules")
    cal.coord.rules.update(cal.user_id, working_hours={"tue": [("09:00", "17:00")]})
    again = a.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_rules")
    assert again.booking_id == first.booking_id
