"""The bucket timeline as an SVG: who held each 5-minute bucket of one day, and when.

Drawn from :func:`coordinator.timeline.build_timeline` (the audit stream is the one
record written in the same atomic step as each change), so the picture an owner sees
on the dashboard is the engine's own history, not a client's guess.

- Rows are the day's 5-minute buckets (labelled in the owner's timezone, UTC on hover).
- Columns are the server clock. A day's writes can be milliseconds apart (a race) or
  hours apart, so the axis is not linear: the space between two events grows with the
  logarithm of the time between them, and gaps of a minute or more are marked with a
  break labelled with the real gap. Every shape's tooltip gives exact times.
- A booking is one bar over all its buckets, from its creation to its end (solid: a
  commit; hatched: a hold). An ✕ marks an eviction (red: after the victim was told it
  won; orange: inside its arbitration window), a grey dot a refused write.

Pure text out (no browser, no plotting library), so the dashboard serves it inline
and the tests read it back as XML.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from html import escape
from itertools import pairwise

from .buckets import BUCKET_MS, from_ms
from .models import AuditEntry
from .timeline import Eviction, Rejection, Span, Timeline

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies; the yellow
#: (too pale on white) is left out.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
EVICTED = "#B3001B"
EVICTED_IN_WINDOW = "#6A3D9A"
REFUSED = "#5F5F5F"
INK = "#1A1A1A"
#: Gaps at least this long get a break mark on the axis.
BREAK_MS = 60_000

_LEFT, _RIGHT, _TOP, _AXIS = 62, 18, 14, 46
_LEGEND_ROW = 20
_FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"


def day_buckets(day: date, tz: tzinfo) -> range:
    """The buckets of one calendar day in ``tz`` (23 or 25 hours on a DST change)."""
    lo = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return range(int(lo.timestamp() * 1000) // BUCKET_MS, int(hi.timestamp() * 1000) // BUCKET_MS)


def entries_touching(entries: Iterable[AuditEntry], buckets: range) -> list[AuditEntry]:
    """The booking entries whose cover overlaps ``buckets`` (what a day's picture needs).

    A booking's start and end entries carry the same cover, so filtering before
    :func:`build_timeline` keeps whole stays and drops the rest of the calendar.
    """
    out = []
    for e in entries:
        cover = e.fields.get("cover")
        if not cover or "-" not in cover:
            continue
        first, _, last = cover.partition("-")
        if first.isdigit() and last.isdigit() and int(first) < buckets.stop:
            if int(last) > buckets.start:
                out.append(e)
    return out


def _clock(ms: int, tz: tzinfo, *, seconds: bool = True) -> str:
    t = from_ms(ms).astimezone(tz)
    return f"{t:%H:%M:%S}.{t.microsecond // 1000:03d}" if seconds else f"{t:%H:%M}"


def _utc(ms: int) -> str:
    return from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def gap_text(ms: int) -> str:
    """A gap in the largest unit that keeps it readable (``+3 h 5 min``, ``+2 d``)."""
    s = ms // 1000
    if s < 60:
        return f"+{ms / 1000:.1f} s"
    if s < 3600:
        return f"+{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"+{h} h" + (f" {m} min" if m else "")
    return f"+{s // 86400} d" + (f" {s % 86400 // 3600} h" if s % 86400 >= 3600 else "")


def _step(gap_ms: int) -> float:
    """Room between two events: a millisecond apart is close, an hour is not 3.6M times
    further (log scale), and every distinct instant stays distinguishable."""
    return 0.6 + math.log1p(gap_ms / 10)


@dataclass
class TimeAxis:
    """Server ms -> x on a compressed axis through every instant the picture shows."""

    times: list[int]
    x0: float
    x1: float

    def __post_init__(self) -> None:
        self._x: dict[int, float] = {}
        steps = [0.0]
        for a, b in pairwise(self.times):
            steps.append(steps[-1] + _step(b - a))
        total = steps[-1] or 1.0
        span = self.x1 - self.x0
        for t, s in zip(self.times, steps, strict=True):
            # One instant alone sits a fifth in, so a bar from it has room to show.
            self._x[t] = self.x0 + (s / total * span if len(self.times) > 1 else span * 0.2)

    def x(self, ms: int) -> float:
        return self._x[ms]

    def breaks(self) -> list[tuple[float, int]]:
        """Midpoints of the gaps of a minute or more, and each gap's length."""
        return [
            ((self._x[a] + self._x[b]) / 2, b - a)
            for a, b in pairwise(self.times)
            if b - a >= BREAK_MS
        ]

    def ticks(self) -> list[int]:
        """The first instant and every instant after a break (each burst of activity)."""
        return [t for i, t in enumerate(self.times) if i == 0 or t - self.times[i - 1] >= BREAK_MS]


@dataclass(frozen=True)
class DayPicture:
    """What the SVG shows, for the page's text alternative and the tests."""

    spans: list[Span]
    evictions: list[Eviction]
    rejections: list[Rejection]
    rows: range


def pick(tl: Timeline, window: range) -> DayPicture:
    """The parts of ``tl`` over ``window``, and the rows to draw: the buckets touched,
    widened to whole hours of the bucket grid, clipped to the window."""

    def hits(r: range) -> bool:
        return r.start < window.stop and r.stop > window.start

    spans = [s for s in tl.spans if hits(s.buckets)]
    evictions = [e for e in tl.evictions if hits(e.buckets)]
    rejections = [r for r in tl.rejections if hits(r.buckets)]
    covers = [s.buckets for s in spans] + [e.buckets for e in evictions]
    covers += [r.buckets for r in rejections]
    if not covers:
        return DayPicture([], [], [], range(0))
    lo = max(window.start, min(c.start for c in covers))
    hi = min(window.stop, max(c.stop for c in covers))
    per_hour = 3_600_000 // BUCKET_MS
    lo = max(window.start, lo - (lo - window.start) % per_hour)
    hi = min(window.stop, hi + (window.start - hi) % per_hour)
    return DayPicture(spans, evictions, rejections, range(lo, hi))


def _agents(pic: DayPicture) -> list[tuple[str, int]]:
    """(agent id, priority) of everyone in the picture, best priority first."""
    seen: dict[str, int] = {}
    for s in pic.spans:
        seen.setdefault(s.agent_id, s.priority)
    for e in pic.evictions:
        seen.setdefault(e.agent_id, e.priority)
        seen.setdefault(e.by_agent_id, e.by_priority)
    for r in pic.rejections:
        seen.setdefault(r.agent_id, r.priority)
        seen.setdefault(r.winner_agent_id, r.winner_priority)
    return sorted(seen.items(), key=lambda kv: (kv[1], kv[0]))


def render_svg(
    tl: Timeline,
    window: range,
    *,
    tz: tzinfo,
    names: Mapping[str, str] | None = None,
    width: int = 960,
    id_prefix: str = "tl",
    title: str = "Bucket timeline",
) -> str:
    """The SVG of ``tl`` over the buckets in ``window`` (see :func:`day_buckets`).

    ``names`` maps agent ids to the names shown (ids otherwise); every text is
    escaped. ``id_prefix`` keeps the pattern ids unique when a page shows two.
    """
    names = names or {}
    pic = pick(tl, window)
    agents = _agents(pic)
    colour = {a: PALETTE[i % len(PALETTE)] for i, (a, _) in enumerate(agents)}
    label = {a: names.get(a, a) for a, _ in agents}
    q = id_prefix
    desc = (
        f"{len(pic.spans)} bookings, {len(pic.evictions)} evictions, "
        f"{len(pic.rejections)} refused writes"
    )
    if not pic.spans and not pic.evictions and not pic.rejections:
        return _empty(title, desc, width, q)

    rows = pic.rows
    row_h = max(5.0, min(16.0, 440 / len(rows)))
    plot_h = row_h * len(rows)
    legend_h = _LEGEND_ROW * (2 + math.ceil(len(agents) / 3))
    height = _TOP + plot_h + _AXIS + legend_h
    plot_x1 = width - _RIGHT
    tail = 0.07 * (plot_x1 - _LEFT)  # still-open bars run on past the last event
    instants = {s.start_ms for s in pic.spans} | {s.end_ms for s in pic.spans if s.end_ms}
    instants |= {e.at_ms for e in pic.evictions} | {r.at_ms for r in pic.rejections}
    axis = TimeAxis(sorted(instants), _LEFT + 8, plot_x1 - tail)

    def y(bucket: int) -> float:
        return _TOP + (min(max(bucket, rows.start), rows.stop) - rows.start) * row_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
        f'width="100%" role="img" aria-labelledby="{q}-title {q}-desc" '
        f'font-family="{_FONT}" font-size="12" class="bucket-timeline">',
        f'<title id="{q}-title">{escape(title)}</title>',
        f'<desc id="{q}-desc">{escape(desc)}</desc>',
        "<defs>",
    ]
    for i, (a, _) in enumerate(agents):
        out.append(
            f'<pattern id="{q}-hold-{i}" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{colour[a]}" '
            f'fill-opacity="0.3"/><rect width="3" height="6" fill="{colour[a]}"/></pattern>'
        )
    out.append(
        f'<pattern id="{q}-hold-key" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#5F5F5F" '
        'fill-opacity="0.3"/><rect width="3" height="6" fill="#5F5F5F"/></pattern>'
    )
    out.append("</defs>")
    out.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_x1 - _LEFT}" height="{plot_h:.1f}" '
        'fill="#FAFAFA" stroke="#D0D0D0"/>'
    )
    out += _bucket_labels(rows, row_h, tz)
    out += _time_axis(axis, _TOP + plot_h, plot_x1, tz)
    index = {a: i for i, (a, _) in enumerate(agents)}
    out.append('<g class="spans">')
    for s in pic.spans:
        x0 = axis.x(s.start_ms)
        x1 = plot_x1 - 2 if s.end_ms is None else axis.x(s.end_ms)
        x0 = min(x0, x1 - 3)  # a stay of 0 ms still shows, ending where it ended
        fill = colour[s.agent_id] if s.mode == "commit" else f"url(#{q}-hold-{index[s.agent_id]})"
        top, bottom = y(s.buckets.start), y(s.buckets.stop)
        ended = "still on the calendar" if s.end_ms is None else _ending(s, label, tz)
        tip = (
            f"{label[s.agent_id]} (priority {s.priority}) · {s.mode} {s.booking_id} · "
            f"{_clock(s.buckets.start * BUCKET_MS, tz, seconds=False)}–"
            f"{_clock(s.buckets.stop * BUCKET_MS, tz, seconds=False)} · "
            f"from {_clock(s.start_ms, tz)} ({_utc(s.start_ms)}) · {ended}"
        )
        out.append(
            f'<rect class="span {s.mode}" data-booking="{escape(s.booking_id)}" '
            f'data-agent="{escape(s.agent_id)}" data-end="{escape(s.end_type or "open")}" '
            f'x="{x0:.1f}" y="{top:.1f}" width="{x1 - x0:.1f}" '
            f'height="{max(bottom - top, 2):.1f}" fill="{fill}" stroke="#FFFFFF" '
            f'stroke-width="1"><title>{escape(tip)}</title></rect>'
        )
    out.append("</g>")
    out += _markers(pic, axis, y, label, tz, plot_x1)
    out += _legend(agents, label, colour, q, _TOP + plot_h + _AXIS, width)
    out.append("</svg>")
    return "\n".join(out)


def _ending(s: Span, label: Mapping[str, str], tz: tzinfo) -> str:
    assert s.end_ms is not None
    what = (s.end_type or "ended").replace("booking.", "").replace("hold.", "")
    by = f" by {label.get(s.ended_by_agent_id or '', s.ended_by_agent_id)}"
    return f"{what}{by if s.ended_by_agent_id else ''} at {_clock(s.end_ms, tz)} ({_utc(s.end_ms)})"


def _bucket_labels(rows: range, row_h: float, tz: tzinfo) -> list[str]:
    """Row labels on whole hours (or quarters when rows are tall), owner time; UTC on hover."""
    every = 3 if row_h * 3 >= 14 else 12
    out = ['<g class="buckets" fill="#1A1A1A" text-anchor="end">']
    for b in rows:
        local = from_ms(b * BUCKET_MS).astimezone(tz)
        if local.minute % (every * 5) != 0:
            continue
        top = _TOP + (b - rows.start) * row_h
        out.append(
            f'<line x1="{_LEFT}" x2="{_LEFT - 4}" y1="{top:.1f}" y2="{top:.1f}" stroke="#808080"/>'
            f'<text x="{_LEFT - 6}" y="{top + 4:.1f}" data-bucket="{b}">{local:%H:%M}'
            f"<title>{_utc(b * BUCKET_MS)}</title></text>"
        )
    out.append("</g>")
    return out


def _time_axis(axis: TimeAxis, base: float, right: float, tz: tzinfo) -> list[str]:
    """Each burst of activity labelled with its wall-clock start (owner time, UTC on
    hover), the instants inside it with their offset from that start (``+150 ms``)."""
    out = [f'<g class="time-axis" fill="{INK}">']
    out.append(
        f'<line x1="{_LEFT}" x2="{right:.1f}" y1="{base:.1f}" y2="{base:.1f}" stroke="#808080"/>'
    )
    starts = set(axis.ticks())
    origin = axis.times[0]
    last = -1e9
    for t in axis.times:
        x = axis.x(t)
        if t in starts:
            origin = t
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base:.1f}" y2="{base + 4:.1f}" '
            'stroke="#A0A0A0"/>'
        )
        if t in starts and x - last >= 60:
            out.append(
                f'<text class="tick" x="{x:.1f}" y="{base + 17:.1f}" text-anchor="middle">'
                f"{_clock(t, tz)[:8]}<title>{_utc(t)}</title></text>"
            )
            last = x + 20
        elif t not in starts and x - last >= 62:
            off = t - origin
            text = f"+{off} ms" if off < 1000 else f"+{off / 1000:.1f} s"
            out.append(
                f'<text class="tick offset" x="{x:.1f}" y="{base + 17:.1f}" '
                f'text-anchor="middle" font-size="10" fill="#4A4A4A">{text}'
                f"<title>{_clock(t, tz)} ({_utc(t)})</title></text>"
            )
            last = x
    for x, gap in axis.breaks():
        out.append(
            f'<g class="break" data-gap-ms="{gap}"><path d="M{x - 5:.1f},{base + 4:.1f} '
            f"l4,-8 M{x:.1f},{base + 4:.1f} l4,-8\" stroke='{INK}' stroke-width='1.5'/>"
            f'<text x="{x:.1f}" y="{base + 31:.1f}" text-anchor="middle" font-size="10" '
            f'fill="#4A4A4A">{escape(gap_text(gap))}</text></g>'
        )
    out.append(
        f'<text x="{_LEFT}" y="{base + 42:.1f}" font-size="10" fill="#4A4A4A">Server clock '
        "(when each write happened; spacing grows with elapsed time, breaks mark gaps "
        "of a minute or more)</text></g>"
    )
    return out


def _markers(
    pic: DayPicture,
    axis: TimeAxis,
    y: Callable[[int], float],
    label: Mapping[str, str],
    tz: tzinfo,
    edge: float,
) -> list[str]:
    out = ['<g class="markers">']
    placed: list[tuple[float, float, float]] = []
    for e in pic.evictions:
        x, mid = axis.x(e.at_ms), (y(e.buckets.start) + y(e.buckets.stop)) / 2
        colour = EVICTED_IN_WINDOW if e.in_arbitration_window else EVICTED
        when = "inside its arbitration window" if e.in_arbitration_window else "after it had won"
        tip = (
            f"{label[e.agent_id]} (priority {e.priority}) {e.type.split('.')[1]} by "
            f"{label[e.by_agent_id]} (priority {e.by_priority}) {when} · "
            f"{_clock(e.at_ms, tz)} ({_utc(e.at_ms)}) · audit {e.entry_id}"
        )
        out.append(
            f'<g class="eviction" data-booking="{escape(e.booking_id)}" '
            f'data-by="{escape(e.by_agent_id)}"><title>{escape(tip)}</title>'
            f'<path d="M{x - 5:.1f},{mid - 5:.1f} l10,10 M{x - 5:.1f},{mid + 5:.1f} l10,-10" '
            f'stroke="#FFFFFF" stroke-width="6" stroke-linecap="round"/>'
            f'<path d="M{x - 5:.1f},{mid - 5:.1f} l10,10 M{x - 5:.1f},{mid + 5:.1f} l10,-10" '
            f'stroke="{colour}" stroke-width="3" stroke-linecap="round"/>'
            + _eviction_label(x + 9, mid + 4, f"by {label[e.by_agent_id]}", placed, edge)
            + "</g>"
        )
    for r in pic.rejections:
        x, mid = axis.x(r.at_ms), (y(r.buckets.start) + y(r.buckets.stop)) / 2
        tip = (
            f"{label[r.agent_id]} (priority {r.priority}) refused ({r.reason}): "
            f"{label[r.winner_agent_id]} (priority {r.winner_priority}) holds it · "
            f"{_clock(r.at_ms, tz)} ({_utc(r.at_ms)})"
        )
        out.append(
            f'<circle class="refusal" data-booking="{escape(r.booking_id)}" cx="{x:.1f}" '
            f'cy="{mid:.1f}" r="4" fill="{REFUSED}" stroke="#FFFFFF" stroke-width="1.5">'
            f"<title>{escape(tip)}</title></circle>"
        )
    out.append("</g>")
    return out


def _eviction_label(
    x: float, y: float, text: str, placed: list[tuple[float, float, float]], edge: float
) -> str:
    """The "by …" label right of an eviction mark (left of it near the plot's edge), left
    out where it would cover another (the mark's tooltip still says it)."""
    text = _clip(text, 24)
    width = 6.5 * len(text)
    if x + width > edge:
        x = x - 18 - width
    right = x + width
    if any(abs(y - py) < 13 and x < pr and px < right for px, pr, py in placed):
        return ""
    placed.append((x, right, y))
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" fill="{INK}" stroke="#FFFFFF" '
        f'stroke-width="3" paint-order="stroke">{escape(text)}</text>'
    )


def _legend(
    agents: list[tuple[str, int]],
    label: Mapping[str, str],
    colour: Mapping[str, str],
    q: str,
    top: float,
    width: int,
) -> list[str]:
    out = [f'<g class="legend" fill="{INK}">']
    col_w = (width - _LEFT - _RIGHT) / 3
    for i, (a, prio) in enumerate(agents):
        x = _LEFT + (i % 3) * col_w
        yy = top + 6 + (i // 3) * _LEGEND_ROW
        out.append(
            f'<rect x="{x:.1f}" y="{yy:.1f}" width="14" height="12" fill="{colour[a]}"/>'
            f'<text x="{x + 20:.1f}" y="{yy + 10:.1f}">{escape(_clip(label[a], 34))} '
            f"(priority {prio})</text>"
        )
    yy = top + 6 + math.ceil(len(agents) / 3) * _LEGEND_ROW
    items = [
        f'<rect x="0" y="0" width="14" height="12" fill="url(#{q}-hold-key)"/>',
        f'<path d="M2,1 l10,10 M2,11 l10,-10" stroke="{EVICTED}" stroke-width="3"/>',
        f'<path d="M2,1 l10,10 M2,11 l10,-10" stroke="{EVICTED_IN_WINDOW}" stroke-width="3"/>',
        f'<circle cx="7" cy="6" r="4" fill="{REFUSED}"/>',
    ]
    texts = ["hold (hatched)", "evicted after winning", "taken inside its window", "refused"]
    col = (width - _LEFT - _RIGHT) / 4
    for i, (shape, text) in enumerate(zip(items, texts, strict=True)):
        x = _LEFT + i * col
        out.append(
            f'<g transform="translate({x:.1f},{yy:.1f})">{shape}'
            f'<text x="20" y="10">{text}</text></g>'
        )
    out.append("</g>")
    return out


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _empty(title: str, desc: str, width: int, q: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 60" width="100%" '
        f'role="img" aria-labelledby="{q}-title {q}-desc" font-family="{_FONT}" '
        f'class="bucket-timeline empty"><title id="{q}-title">{escape(title)}</title>'
        f'<desc id="{q}-desc">{escape(desc)}</desc>'
        f'<text x="{width / 2:.0f}" y="34" text-anchor="middle" font-size="14" fill="{INK}">'
        "Nothing was booked, evicted or refused on this day.</text></svg>"
    )
