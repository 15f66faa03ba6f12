"""Five agents, ranked 1..5, race for one 30-minute slot on the embedded coordinator.

Run:  python examples/race.py [--agents N]

Every agent builds its own client in its own thread and commits the same slot
at the same moment. Exactly one is told it won (the best-ranked one); each
other gets a typed Conflict naming the winner, its priority and the audit
entry. The audit trail of the race is printed and its hash chain verified.
"""

from __future__ import annotations

import argparse

from coordinator import Coordinator
from coordinator.race import format_race, run_race
from coordinator.store.embedded import temporary_embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--data-dir", help="embedded engine folder (default: a temp folder)")
    args = parser.parse_args()
    if args.data_dir:
        with Coordinator.embedded(args.data_dir) as coord:
            print(format_race(run_race(coord, args.agents)))
        print(f"\nEmbedded engine left running in {args.data_dir}: ", end="")
        print(f"stop it with `coordinator embedded stop --data-dir {args.data_dir}`.")
        return
    with temporary_embedded("agentdraft-race-") as data_dir:
        with Coordinator.embedded(data_dir) as coord:
            print(format_race(run_race(coord, args.agents)))
    print(f"\nEmbedded engine in {data_dir} stopped and its temporary folder removed.")


if __name__ == "__main__":
    main()
