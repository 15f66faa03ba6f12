"""What a whole multi-slot proposal costs, against a plain commit measured in the same run.

A proposal with ``--participants`` answers does 1 create + N respond scripts, then a
resolve step, the commit (the normal claim) and a finish step. The baseline is one
``bookings.commit`` by the same organizer on the same engine, so the ratio says how many
commits' worth of work one agreed meeting is.

    python -m bench.proposals [--rounds 200] [--participants 3] [--data-dir DIR]

The organizer is its owner's top-ranked agent, so neither side pays the arbitration
window (that cost is the same for both and is measured in ``bench.run``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from coordinator import Coordinator
from coordinator.store.embedded import stop_embedded


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--participants", type=int, default=3)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    folder = args.data_dir or tempfile.mkdtemp(prefix="agentdraft-bench-proposals-")
    coord = Coordinator.embedded(folder)
    try:
        owner = coord.owners.create()
        org = coord.client(coord.agents.create(owner.user_id, name="org", priority=1).api_key)
        people = [
            coord.client(coord.agents.create(owner.user_id, name=f"p{i}", priority=2 + i).api_key)
            for i in range(args.participants)
        ]
        base = datetime(2031, 1, 6, tzinfo=UTC)
        commit, proposal = [], []
        for r in range(args.rounds):
            s = base + timedelta(hours=2 * r)
            t0 = time.perf_counter()
            org.bookings.commit(start=s, end=s + timedelta(minutes=30))
            commit.append((time.perf_counter() - t0) * 1000)
            slots = [
                {
                    "start_time": (s + timedelta(minutes=30 * (k + 1))).isoformat(),
                    "end_time": (s + timedelta(minutes=30 * (k + 2))).isoformat(),
                }
                for k in range(3)
            ]
            t0 = time.perf_counter()
            p = org.proposals.create(
                participant_agent_ids=[c.agent_id for c in people], slots=slots
            )
            for c in people:
                out = c.proposals.respond(p.id, response="accept", selected_slot_id=p.slots[0].id)
            proposal.append((time.perf_counter() - t0) * 1000)
            assert out.status == "confirmed"
        (c50, c99), (p50, p99) = _ms(commit), _ms(proposal)
        print(f"{args.rounds} rounds, {args.participants} participants, embedded engine")
        print(f"{'':28}{'p50 ms':>9}{'p99 ms':>9}")
        print(f"{'commit (baseline)':28}{c50:9.2f}{c99:9.2f}")
        print(f"{'proposal, create→confirmed':28}{p50:9.2f}{p99:9.2f}")
        print(
            f"ratio (p50): one agreed meeting costs {p50 / c50:.1f}x a commit "
            f"(create, {args.participants} answers, the resolution's commit and finish, "
            "the deadline timer's writes)"
        )
    finally:
        coord.close()
        stop_embedded(folder)


if __name__ == "__main__":
    main()
