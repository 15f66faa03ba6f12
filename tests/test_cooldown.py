"""The cool-down book: how long a target that failed to answer is left alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from coordinator.cooldown import Cooldowns
from coordinator.outbox import RetryPolicy
from tests.support.clock import ManualClock


def test_each_failure_in_a_row_doubles_the_cool_down_up_to_its_cap() -> None:
    clock = ManualClock(1000.0)
    book = Cooldowns(30, 100, clock=clock)
    assert book.remaining("ep") == 0
    assert [book.failed("ep", "DeadlineExceeded") for _ in range(4)] == [30, 60, 100, 100]
    assert book.remaining("ep") == 100
    assert book.why("ep") == "DeadlineExceeded"
    clock.now += 99.5
    assert book.remaining("ep") == pytest.approx(0.5)
    clock.now += 1
    assert (book.remaining("ep"), book.why("ep")) == (0, None)


def test_an_answer_ends_the_cool_down_and_the_next_failure_starts_from_the_first() -> None:
    book = Cooldowns(30, 600, clock=ManualClock())
    book.failed("ep", "ConnectError")
    book.failed("ep", "ConnectError")
    book.answered("ep")
    assert book.remaining("ep") == 0
    assert book.failed("ep", "ConnectError") == 30


def test_a_calendar_is_left_alone_only_when_it_has_targets_and_all_are_cooling() -> None:
    book = Cooldowns(30, 600, clock=ManualClock())
    assert not book.all_cooling([])  # nothing to call: the entries are settled as usual
    book.failed("a", "x")
    assert book.all_cooling(["a"])
    assert not book.all_cooling(["a", "b"])
    assert book.remaining("b") == 0


def test_the_policy_builds_the_book_and_refuses_a_first_cool_down_past_the_cap() -> None:
    book = RetryPolicy(cooldown_seconds=5, backoff_cap_ms=20_000).cooldowns()
    assert (book.first_seconds, book.cap_seconds) == (5, 20)
    # A cap below the first cool-down (fast test settings) is raised to it.
    assert RetryPolicy(cooldown_seconds=5, backoff_cap_ms=0).cooldowns().cap_seconds == 5
    with pytest.raises(ValueError, match="first_seconds"):
        Cooldowns(0, 10)


def test_a_cool_down_of_zero_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="cooldown_seconds must be above 0"):
        RetryPolicy(cooldown_seconds=0)


@pytest.mark.parametrize("command", [["webhooks", "dispatch"], ["connectors", "sync"]])
def test_the_workers_commands_refuse_a_cool_down_of_zero(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "coordinator", *command, "--cooldown-seconds", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--cooldown-seconds: must be above 0 seconds, got 0" in done.stderr
