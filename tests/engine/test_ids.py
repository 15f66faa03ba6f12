"""Fresh ids stay unique when random bytes are read a block at a time.

``coordinator.ids`` hands out the kernel's random bytes from a block it reads once
per 512 ids. Two things could then repeat an id: two threads taking the same eight
bytes, and a forked child carrying on with the block its parent was using (uvicorn's
and the test suite's worker processes are forked). Both are raced here for real.
"""

from __future__ import annotations

import multiprocessing
import re
import sys
import threading

from coordinator.ids import new_id

ID = re.compile(r"bkg_[0-9a-f]{16}")


def test_an_id_is_its_prefix_and_sixteen_hex_digits() -> None:
    ids = [new_id("bkg") for _ in range(2000)]  # several blocks
    assert all(ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_threads_racing_for_ids_never_share_one() -> None:
    # Threads switch as often as the interpreter lets them (every microsecond, not every
    # 5 ms), and a block runs out every 512 ids, while other threads are asking.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        every = _race()
    finally:
        sys.setswitchinterval(interval)
    assert len(every) == 40_000
    assert len(set(every)) == len(every)


def _race() -> list[str]:
    start = threading.Barrier(8)
    made: list[list[str]] = [[] for _ in range(8)]

    def make(out: list[str]) -> None:
        start.wait()
        for _ in range(5000):
            out.append(new_id("bkg"))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [i for out in made for i in out]


def _child_ids(conn: multiprocessing.connection.Connection) -> None:
    conn.send([new_id("bkg") for _ in range(100)])
    conn.close()


def test_a_forked_child_does_not_hand_out_its_parents_next_ids() -> None:
    new_id("bkg")  # the parent is in the middle of a block when it forks
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_child_ids, args=(there,))
    child.start()
    theirs = here.recv()
    child.join(timeout=30)
    ours = [new_id("bkg") for _ in range(100)]
    assert child.exitcode == 0
    assert not set(ours) & set(theirs)
