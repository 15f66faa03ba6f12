"""Shared set-up for the agent examples: a throwaway embedded calendar with two ranked agents.

Every example runs offline on the embedded coordinator (a real Redis engine in a temp
folder, stopped at the end): the sales bot (priority 1) and the recruiter (priority 2)
both want tomorrow 10:00-10:30 UTC for an intro call.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agentdraft_agents.testing.script import Script, Step, call, take_first_offer
from coordinator import Coordinator
from coordinator.store.embedded import embedded_status, temporary_embedded

TOMORROW_10 = (datetime.now(UTC) + timedelta(days=1)).replace(
    hour=10, minute=0, second=0, microsecond=0
)
START = TOMORROW_10.isoformat().replace("+00:00", "Z")
END = (TOMORROW_10 + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
TASK = f"Book a 30 minute intro call with Ada from {START} to {END}."


SAFE = "agentdraft_commit_booking_safe"


def demo_steps() -> list[Step]:
    """What each offline model does: book 10:00; if outranked, book the first offer."""
    return [
        call(SAFE, start=START, end=END, title="Intro call"),
        take_first_offer(SAFE, done=f"Booked the intro call at {START}."),
        "Outranked at 10:00; booked the first alternative offered.",
    ]


def print_run(name: str, model: Any, answer: object) -> None:
    """One agent's run: the scripted model's transcript, or a real model's final answer."""
    print(f"\n== {name}")
    script: Script | None = getattr(model, "script", None)
    print("\n".join(script.transcript()) if script else f"  >> {answer}")


@dataclass
class Demo:
    coord: Coordinator
    user_id: str
    sales: Any  # the priority-1 agent's client
    recruiter: Any  # the priority-2 agent's client
    folder: str  # the embedded engine's data folder
    keys: dict[str, str]  # agent name -> API key (shown once at creation)

    def name(self, agent_id: str) -> str:
        return {self.sales.agent_id: "sales-bot", self.recruiter.agent_id: "recruiter"}.get(
            agent_id, agent_id
        )

    def print_calendar(self) -> None:
        keys = self.coord.store.keys
        ids = self.coord.redis.hkeys(keys.bookings(self.user_id))
        booked = sorted(
            (self.coord.bookings.get(self.user_id, b) for b in ids), key=lambda b: b.start
        )
        print("\nCalendar (committed):")
        for b in booked:
            if b.status == "COMMITTED":
                print(
                    f"  {b.start:%Y-%m-%d %H:%M}-{b.end:%H:%M} UTC  {self.name(b.agent_id):<10}"
                    f" prio {b.priority}  {b.booking_id}"
                )
        print("\nAudit trail (who reached the coordinator first, and who won):")
        for e in self.coord.audit.range(self.user_id):
            if not e.type.startswith("booking."):
                continue
            f = e.fields
            extra = ""
            if e.type == "booking.rejected":
                extra = f" lost to {self.name(f['winner_agent_id'])} ({f['reason']})"
            elif e.type == "booking.evicted":
                extra = f" by {self.name(f['by_agent_id'])}"
            print(
                f"  {e.type:<18} {self.name(f.get('agent_id', '')):<10} "
                f"{f.get('booking_id', '')}{extra}"
            )


@contextmanager
def demo_calendar() -> Iterator[Demo]:
    """Two ranked agents on a fresh owner; the engine is stopped afterwards."""
    with temporary_embedded("agentdraft-example-") as folder:
        with Coordinator.embedded(folder) as coord:
            print(f"Embedded engine {embedded_status(folder).server} in {folder} (temporary)")
            owner = coord.owners.create(timezone="UTC")
            sales = coord.agents.create(owner.user_id, name="sales-bot", priority=1)
            recruiter = coord.agents.create(owner.user_id, name="recruiter", priority=2)
            yield Demo(
                coord,
                owner.user_id,
                coord.client(sales.api_key),
                coord.client(recruiter.api_key),
                str(folder),
                {"sales-bot": sales.api_key, "recruiter": recruiter.api_key},
            )
    print(f"\nEmbedded engine in {folder} stopped and its temporary folder removed.")


def run_race(
    race: Callable[[Demo, str | None], Coroutine[Any, Any, None]], doc: str, model_help: str
) -> None:
    """An example's ``main``: parse ``--model``, race on a demo calendar, print the outcome."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--model", help=model_help)
    model = parser.parse_args().model
    with demo_calendar() as demo:
        asyncio.run(race(demo, model))
        demo.print_calendar()
