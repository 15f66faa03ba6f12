"""The owner's cap on how long an agent may hold a slot (``max_hold_ttl_seconds``).

A hold long enough to ask a person is allowed; a hold longer than the owner allows
is refused naming the field, and nothing is written. Without the rule the cap is an
hour. A default-length hold is cut to a cap below the default instead of refused:
the agent asked for nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from coordinator import RuleViolation, ValidationError
from coordinator.ruleset import DEFAULT_MAX_HOLD_TTL_SECONDS

from .conftest import Calendar, at
from .snapshot import calendar_dump, changed_keys


def held_seconds(booking: Any) -> float:
    return (booking.expires_at - booking.created_at).total_seconds()


def test_without_the_rule_an_hour_long_hold_is_allowed_and_longer_is_refused(
    cal: Calendar,
) -> None:
    a = cal.agent(1)
    assert cal.coord.rules.get(cal.user_id).max_hold_ttl_seconds is None
    hour = a.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=DEFAULT_MAX_HOLD_TTL_SECONDS)
    assert held_seconds(hour) == pytest.approx(DEFAULT_MAX_HOLD_TTL_SECONDS, abs=1)
    with pytest.raises(RuleViolation) as err:
        a.bookings.hold(start=at(60), end=at(90), hold_ttl_seconds=3601)
    assert (err.value.error, err.value.status) == ("hold_ttl_too_long", 422)
    assert err.value.body["field"] == "hold_ttl_seconds"
    assert "max_hold_ttl_seconds=3600" in err.value.detail


def test_a_hold_longer_than_the_owners_cap_is_refused_and_changes_no_key(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, max_hold_ttl_seconds=600)
    a = cal.agent(1)
    before = calendar_dump(cal.coord, cal.user_id, buckets=False)
    with pytest.raises(RuleViolation) as err:
        a.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=601)
    assert err.value.body["field"] == "hold_ttl_seconds"
    assert "max_hold_ttl_seconds=600" in err.value.detail
    after = calendar_dump(cal.coord, cal.user_id, buckets=False)
    assert changed_keys(before, after) == []
    ok = a.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=600)
    assert held_seconds(ok) == pytest.approx(600, abs=1)


def test_the_cap_may_be_raised_to_a_day_so_a_person_has_time_to_answer(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, max_hold_ttl_seconds=8 * 3600)
    held = cal.agent(1).bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=4 * 3600)
    assert held_seconds(held) == pytest.approx(4 * 3600, abs=1)


def test_a_default_length_hold_is_cut_to_a_cap_below_the_default(
    make_calendar: Any,
) -> None:
    cal = make_calendar(hold_ttl_seconds=120)
    cal.coord.rules.update(cal.user_id, max_hold_ttl_seconds=45)
    held = cal.agent(1).bookings.hold(start=at(0), end=at(30))
    assert held_seconds(held) == pytest.approx(45, abs=1)


def test_a_cap_lowered_by_another_coordinator_decides_the_next_hold(
    cal: Calendar, make_calendar: Any
) -> None:
    a = cal.agent(1)
    a.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=900)  # caches the rules
    other = make_calendar()  # a second coordinator on the same store
    other.coord.rules.update(cal.user_id, max_hold_ttl_seconds=300)
    with pytest.raises(RuleViolation):
        a.bookings.hold(start=at(60), end=at(90), hold_ttl_seconds=900)


def test_the_approval_gates_parked_hold_keeps_the_gates_own_wait(cal: Calendar) -> None:
    from coordinator import ConsentRequired

    cal.coord.rules.update(
        cal.user_id, max_hold_ttl_seconds=60, require_approval={"ttl_seconds": 1800}
    )
    with pytest.raises(ConsentRequired) as err:
        cal.agent(1).bookings.commit(start=at(0), end=at(30))
    parked = cal.coord.bookings.get(cal.user_id, err.value.hold_id)
    assert held_seconds(parked) == pytest.approx(1800, abs=1)


@pytest.mark.parametrize("value", [0, 0.5, -1, 86401, "600", True, float("nan")])
def test_a_bad_cap_names_the_rule_and_changes_nothing(cal: Calendar, value: Any) -> None:
    before = cal.coord.rules.get(cal.user_id)
    with pytest.raises(ValidationError) as err:
        cal.coord.rules.update(cal.user_id, max_hold_ttl_seconds=value)
    assert err.value.field == "max_hold_ttl_seconds"
    assert cal.coord.rules.get(cal.user_id) == before


def test_clearing_the_cap_restores_the_default(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, max_hold_ttl_seconds=60)
    cleared = cal.coord.rules.update(cal.user_id, max_hold_ttl_seconds=None)
    assert cleared.max_hold_ttl_seconds is None
    held = cal.agent(1).bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=1800)
    assert held_seconds(held) == pytest.approx(1800, abs=1)
