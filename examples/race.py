"""Five agents, ranked 1..5, race for one 30-minute slot on the embedded coordinator.

Run:  python examples/race.py [--agents N]

Every agent builds its own client in its own thread and commits the same slot
at the same moment. Exactly one is told it won (the best-ranked one); each
other gets a typed Conflict naming the winner, its priority and the audit
entry. The audit trail of the race is printed and its hash chain verified.
"""

from __future__ import annotations

import argparse
import tempfile

from coordinator import Coordinator
from coordinator.race import format_race, run_race


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--data-dir", help="embedded engine folder (default: a temp folder)")
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="agentdraft-race-")
    from coordinator.store.embedded import stop_embedded

    try:
        with Coordinator.embedded(data_dir) as coord:
            print(format_race(run_race(coord, args.agents)))
    finally:
        if not args.data_dir:
            stop_embedded(data_dir)


if __name__ == "__main__":
    main()
