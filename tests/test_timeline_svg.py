"""The dashboard's bucket timeline (coordinator/timeline_svg.py), read back as XML.

Geometry is checked on hand-written audit entries (every instant known), and the
whole path once on a real engine: two agents race, the higher-ranked one evicts the
other inside its bump window, and the picture marks exactly that eviction.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from coordinator import Coordinator
from coordinator.buckets import BUCKET_MS, from_ms
from coordinator.models import AuditEntry
from coordinator.store.embedded import stop_embedded
from coordinator.timeline import build_timeline
from coordinator.timeline_svg import (
    BREAK_MS,
    EVICTED,
    EVICTED_IN_WINDOW,
    TimeAxis,
    day_buckets,
    entries_touching,
    gap_text,
    render_svg,
)

NS = {"s": "http://www.w3.org/2000/svg"}
BERLIN = ZoneInfo("Europe/Berlin")
#: 2031-03-04 09:00 UTC = 10:00 in Berlin (CET, +01:00).
T9 = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
B9 = int(T9.timestamp() * 1000) // BUCKET_MS
DAY = day_buckets(date(2031, 3, 4), BERLIN)
#: Server clock of the writes (the day before the slots they book).
W0 = int(datetime(2031, 3, 3, 15, 0, tzinfo=UTC).timestamp() * 1000)

_seq = iter(range(1_000_000))


def entry(kind: str, at: int, **fields: object) -> AuditEntry:
    """One audit entry as the engine writes it (the fields build_timeline reads)."""
    f = {k: str(v) for k, v in fields.items()}
    f["ts"] = str(at)
    return AuditEntry(id=f"{at}-{next(_seq)}", type=kind, ts=from_ms(at), fields=f)


def booking(
    kind: str, at: int, bid: str, agent: str, prio: int, first: int, last: int, **more: object
) -> AuditEntry:
    mode = "hold" if kind.startswith("hold") else "commit"
    return entry(
        kind,
        at,
        booking_id=bid,
        agent_id=agent,
        priority=prio,
        mode=mode,
        cover=f"{first}-{last}",
        **more,
    )


def race_entries() -> list[AuditEntry]:
    """p3 commits 09:00-09:30; 40 ms later p1 takes 09:15-09:45 and evicts it; 5 ms later p2
    is refused; 3 hours later p2 holds 10:00-10:15 (still open)."""
    return [
        booking("booking.committed", W0, "bkg_low", "agt_p3", 3, B9, B9 + 6),
        booking("booking.committed", W0 + 40, "bkg_top", "agt_p1", 1, B9 + 3, B9 + 9),
        booking(
            "booking.evicted",
            W0 + 40,
            "bkg_low",
            "agt_p3",
            3,
            B9,
            B9 + 6,
            by_booking_id="bkg_top",
            by_agent_id="agt_p1",
            by_priority=1,
            in_arbitration_window="0",
        ),
        booking(
            "booking.rejected",
            W0 + 45,
            "bkg_lost",
            "agt_p2",
            2,
            B9 + 4,
            B9 + 8,
            reason="outranked",
            winner_agent_id="agt_p1",
            winner_priority=1,
        ),
        booking("hold.created", W0 + 3 * 3_600_000, "bkg_hold", "agt_p2", 2, B9 + 12, B9 + 15),
    ]


NAMES = {"agt_p1": "Assistant", "agt_p2": "Scheduler", "agt_p3": "Sales bot"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # also proves the document is well-formed XML


def bars(root: ET.Element) -> dict[str, ET.Element]:
    return {r.get("data-booking", ""): r for r in root.iterfind(".//s:rect[@class]", NS)}


def right(bar: ET.Element) -> float:
    return float(bar.get("x", 0)) + float(bar.get("width", 0))


def test_an_evicted_booking_ends_where_its_evictor_begins_and_is_marked_there() -> None:
    root = parse(render_svg(build_timeline(race_entries()), DAY, tz=BERLIN, names=NAMES))
    b = bars(root)
    assert set(b) == {"bkg_low", "bkg_top", "bkg_hold"}  # the refused write has no bar
    low, top = b["bkg_low"], b["bkg_top"]
    assert low.get("data-end") == "booking.evicted" and top.get("data-end") == "open"
    assert right(low) == pytest.approx(float(top.get("x", 0)))
    [mark] = root.iterfind(".//s:g[@class='eviction']", NS)
    assert (mark.get("data-booking"), mark.get("data-by")) == ("bkg_low", "agt_p1")
    [cross] = [p for p in mark.iterfind("s:path", NS) if p.get("stroke") != "#FFFFFF"]
    assert cross.get("stroke") == EVICTED  # after it had won, not inside its window
    assert float(cross.get("d", "M0").split(",")[0][1:]) + 5 == pytest.approx(right(low))
    assert "by Assistant" in "".join(mark.itertext())


def test_rows_are_the_owners_wall_clock_with_utc_on_hover() -> None:
    root = parse(render_svg(build_timeline(race_entries()), DAY, tz=BERLIN, names=NAMES))
    labels = {t.get("data-bucket"): t for t in root.iterfind(".//s:text[@data-bucket]", NS)}
    nine = labels[str(B9)]
    assert (nine.text or "").strip() == "10:00"  # 09:00 UTC is 10:00 in Berlin in March
    assert nine.find("s:title", NS).text == "2031-03-04T09:00:00.000Z"  # type: ignore[union-attr]
    b = bars(root)
    row_h = (float(b["bkg_low"].get("height", 0))) / 6  # 09:00-09:30: six buckets
    assert float(b["bkg_top"].get("y", 0)) - float(b["bkg_low"].get("y", 0)) == pytest.approx(
        3 * row_h
    )
    assert float(nine.get("y", 0)) - 4 == pytest.approx(float(b["bkg_low"].get("y", 0)))


def test_holds_are_hatched_commits_solid_and_open_bookings_run_to_the_edge() -> None:
    root = parse(render_svg(build_timeline(race_entries()), DAY, tz=BERLIN, width=900))
    b = bars(root)
    assert b["bkg_hold"].get("class") == "span hold"
    assert (b["bkg_hold"].get("fill") or "").startswith("url(#tl-hold-")
    assert (b["bkg_top"].get("fill") or "").startswith("#")
    assert right(b["bkg_top"]) == pytest.approx(900 - 18 - 2)
    assert right(b["bkg_hold"]) == pytest.approx(right(b["bkg_top"]))


def test_a_refused_write_is_a_dot_between_the_eviction_and_the_next_write() -> None:
    root = parse(render_svg(build_timeline(race_entries()), DAY, tz=BERLIN, names=NAMES))
    [dot] = root.iterfind(".//s:circle[@class='refusal']", NS)
    assert dot.get("data-booking") == "bkg_lost"
    b = bars(root)
    assert (
        float(b["bkg_top"].get("x", 0)) < float(dot.get("cx", 0)) < float(b["bkg_hold"].get("x", 0))
    )
    tip = dot.find("s:title", NS).text or ""  # type: ignore[union-attr]
    assert "Scheduler (priority 2) refused (outranked)" in tip and "Assistant" in tip


def test_a_three_hour_gap_is_a_labelled_break_and_shorter_gaps_are_not() -> None:
    root = parse(render_svg(build_timeline(race_entries()), DAY, tz=BERLIN))
    breaks = list(root.iterfind(".//s:g[@class='break']", NS))
    assert [g.get("data-gap-ms") for g in breaks] == [str(3 * 3_600_000 - 45)]
    assert "+2 h 59 min" in "".join(breaks[0].itertext())
    ticks = [t for t in root.iterfind(".//s:text", NS) if t.get("class") == "tick"]
    # Two bursts: 16:00 and 19:00 Berlin (15:00 and 18:00 UTC), the day before.
    assert [(t.text or "").strip() for t in ticks] == ["16:00:00", "19:00:00"]


def test_the_axis_keeps_every_instant_apart_and_in_order() -> None:
    times = [0, 1, 2, 150, 151, 60_151, 60_152, 86_460_152]
    axis = TimeAxis(times, 100, 900)
    xs = [axis.x(t) for t in times]
    assert xs[0] == 100 and xs[-1] == pytest.approx(900)
    assert all(b > a for a, b in pairwise(xs))
    # A day apart is further than a minute apart, but not 1440 times further.
    day_gap, minute_gap = xs[7] - xs[6], xs[5] - xs[4]
    assert minute_gap < day_gap < 3 * minute_gap
    assert [g for _, g in axis.breaks()] == [60_000, 86_400_000]
    assert axis.ticks() == [0, 60_151, 86_460_152]


def test_gap_text_uses_the_largest_readable_unit() -> None:
    assert gap_text(BREAK_MS) == "+1 min"
    assert gap_text(3 * 3_600_000) == "+3 h"
    assert gap_text(3 * 3_600_000 + 5 * 60_000) == "+3 h 5 min"
    assert gap_text(2 * 86_400_000 + 7_200_000) == "+2 d 2 h"


def test_only_the_chosen_days_bookings_are_drawn_and_a_booking_over_midnight_is_clipped() -> None:
    midnight = DAY.stop  # 00:00 Berlin on 5 March
    entries = [
        *race_entries(),
        booking("booking.committed", W0 + 50, "bkg_late", "agt_p2", 2, midnight - 6, midnight + 6),
        booking(
            "booking.committed", W0 + 60, "bkg_next", "agt_p2", 2, midnight + 12, midnight + 18
        ),
    ]
    picked = entries_touching(entries, DAY)
    assert {e.booking_id for e in picked} == {
        "bkg_low",
        "bkg_top",
        "bkg_lost",
        "bkg_hold",
        "bkg_late",
    }
    root = parse(render_svg(build_timeline(picked), DAY, tz=BERLIN))
    late = bars(root)["bkg_late"]
    plot = root.find("s:rect", NS)
    assert plot is not None
    bottom = float(plot.get("y", 0)) + float(plot.get("height", 0))
    # Half of it is on this day: it stops at the plot's bottom edge (midnight).
    assert float(late.get("y", 0)) + float(late.get("height", 0)) == pytest.approx(bottom)
    # The next day's booking is not in the picture even when the caller does not filter.
    assert "bkg_next" not in bars(parse(render_svg(build_timeline(entries), DAY, tz=BERLIN)))


def test_a_day_with_nothing_on_it_says_so() -> None:
    root = parse(render_svg(build_timeline(race_entries()), DAY[:0], tz=BERLIN))
    assert "Nothing was booked" in "".join(root.itertext())
    assert root.find(".//s:desc", NS).text == "0 bookings, 0 evictions, 0 refused writes"  # type: ignore[union-attr]


def test_a_dst_day_has_23_hours_of_buckets() -> None:
    assert len(day_buckets(date(2031, 3, 30), BERLIN)) == 23 * 12
    assert len(day_buckets(date(2031, 10, 26), BERLIN)) == 25 * 12
    assert DAY.start * BUCKET_MS == int(datetime(2031, 3, 3, 23, 0, tzinfo=UTC).timestamp() * 1000)


def test_agent_names_are_escaped_and_the_picture_describes_itself() -> None:
    hostile = {"agt_p1": '<script>alert("x")</script>', "agt_p3": "A & B"}
    svg = render_svg(build_timeline(race_entries()), DAY, tz=BERLIN, names=hostile, id_prefix="d1")
    assert "<script>" not in svg
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "d1-title d1-desc"
    assert root.find("s:desc", NS).text == "3 bookings, 1 evictions, 1 refused writes"  # type: ignore[union-attr]
    assert '<script>alert("x")</script> (priority 1)' in "".join(root.itertext())
    assert all(p.get("id", "").startswith("d1-") for p in root.iterfind(".//s:pattern", NS))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Coordinator]:
    coord = Coordinator.embedded(tmp_path / "engine", arbitration_window_ms=0)
    yield coord
    coord.close()
    stop_embedded(tmp_path / "engine")  # the engine outlives its clients: stop it


def test_a_real_eviction_inside_the_bump_window_is_drawn_from_the_engines_audit(
    engine: Coordinator,
) -> None:
    user = engine.owners.create().user_id
    low, top = (engine.agents.create(user, name=f"p{p}", priority=p) for p in (2, 1))
    start = T9 + timedelta(days=30)
    lost = engine.client(low.api_key).bookings.commit(
        start=start, end=start + timedelta(minutes=30), bump_window_seconds=60
    )
    won = engine.client(top.api_key).bookings.commit(start=start, end=start + timedelta(minutes=30))
    assert engine.bookings.get(user, lost.booking_id).status == "EVICTED"
    day = day_buckets(start.astimezone(BERLIN).date(), BERLIN)
    tl = build_timeline(entries_touching(engine.audit.range(user), day))
    root = parse(render_svg(tl, day, tz=BERLIN, names={low.agent_id: "p2", top.agent_id: "p1"}))
    [mark] = root.iterfind(".//s:g[@class='eviction']", NS)
    assert (mark.get("data-booking"), mark.get("data-by")) == (lost.booking_id, top.agent_id)
    b = bars(root)
    assert b[lost.booking_id].get("data-end") == "booking.evicted"
    assert b[won.booking_id].get("data-end") == "open"
    assert right(b[lost.booking_id]) == pytest.approx(float(b[won.booking_id].get("x", 0)))
    assert EVICTED_IN_WINDOW not in "".join(p.get("stroke", "") for p in mark.iter())


def test_a_booking_moved_by_an_accepted_counter_offer_ends_where_its_new_slot_begins(
    engine: Coordinator,
) -> None:
    user = engine.owners.create().user_id
    mover, asker = (engine.agents.create(user, name=f"p{p}", priority=p) for p in (2, 1))
    start = T9 + timedelta(days=40)
    own = engine.client(mover.api_key).bookings
    first = own.commit(start=start, end=start + timedelta(minutes=30))
    later = {"start": start + timedelta(hours=4), "end": start + timedelta(hours=4, minutes=30)}
    offer = engine.client(asker.api_key).bookings.counter(first.booking_id, proposed=[later])
    accepted = own.accept_counter(first.booking_id, offer.counter_id, slot_index=0)
    assert engine.bookings.get(user, first.booking_id).status == "MOVED"
    day = day_buckets(start.astimezone(BERLIN).date(), BERLIN)
    tl = build_timeline(entries_touching(engine.audit.range(user), day))
    [old, new] = tl.spans
    assert (old.booking_id, old.end_type) == (first.booking_id, "booking.moved")
    assert new.booking_id == accepted.new_booking_id and new.is_open
    assert old.end_ms == new.start_ms  # one step: off the old slot, onto the new one
    b = bars(parse(render_svg(tl, day, tz=BERLIN)))
    assert b[first.booking_id].get("data-end") == "booking.moved"
    assert b[new.booking_id].get("data-end") == "open"
