"""bench.http_load's table: medians over rounds, and each ratio's range beside it."""

from __future__ import annotations

from bench.http_load import Result, _table


def _run(rps: float, p99_ms: float, cpu_us: float | None = None) -> Result:
    return Result(rps, 1.0, p99_ms, 0, {}, 1000, cpu_us, None)


def _cells(table: str, row: int) -> list[str]:
    return [c.strip() for c in table.splitlines()[row].strip("|").split("|")]


def test_one_round_prints_the_values_without_ranges() -> None:
    table = _table([("commit", "coordinator, 1 worker", _run(5000, 10, 150), _run(20000, 2, 40))])
    assert "range" not in table
    cells = _cells(table, 2)
    assert cells[2:6] == ["5,000", "20,000", "0.25x", "150"]
    assert cells[6] == "-"  # the store's CPU was not measured
    assert cells[-2:] == ["5.0x", "0"]


def test_rounds_print_each_columns_median_and_the_ratios_ranges() -> None:
    rows = [
        ("commit", "coordinator, 1 worker", _run(rps, p99, cpu), _run(20000, 2))
        for rps, p99, cpu in [(4000, 8, 170), (6000, 12, 140), (5000, 9, 150)]
    ] + [("read", "coordinator, 1 worker", _run(9000, 3), _run(18000, 2))]
    table = _table(rows)
    head = _cells(table, 0)
    assert head[4:6] == ["ratio", "ratio range"] and head[11:13] == ["p99 ratio", "p99 ratio range"]
    commit = _cells(table, 2)
    assert commit[2:8] == ["5,000", "20,000", "0.25x", "0.20-0.30x", "150", "-"]
    assert commit[11:13] == ["4.5x", "4.0-6.0x"]
    read = _cells(table, 3)  # one run of its own: its range is its value
    assert read[4:6] == ["0.50x", "0.50-0.50x"]
    assert len(table.splitlines()) == 4
