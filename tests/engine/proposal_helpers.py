"""Shared set-up for the proposal tests: an organizer, participants and a top agent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from coordinator import Coordinator
from coordinator.client import LocalClient
from coordinator.store.records import expand_booking

from .conftest import BASE, Calendar


def slot(minutes: float, length: int = 60, weight: float | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "start_time": (BASE + timedelta(minutes=minutes)).isoformat(),
        "end_time": (BASE + timedelta(minutes=minutes + length)).isoformat(),
    }
    if weight is not None:
        s["weight"] = weight
    return s


@dataclass
class Team:
    """priority 1: ``top`` (not in the proposal); 3: the organizer; 4..: participants."""

    cal: Calendar
    top: LocalClient
    organizer: LocalClient
    participants: list[LocalClient] = field(default_factory=list)

    @property
    def coord(self) -> Coordinator:
        return self.cal.coord

    @property
    def user_id(self) -> str:
        return self.cal.user_id

    @property
    def ids(self) -> list[str]:
        return [p.agent_id for p in self.participants]

    def propose(self, slots: list[dict[str, Any]], **kw: Any) -> Any:
        return self.organizer.proposals.create(participant_agent_ids=self.ids, slots=slots, **kw)

    def raw(self, proposal_id: str) -> dict[str, Any]:
        """The stored record, read straight from Redis (no script, nothing lapses)."""
        k = self.coord.store.keys
        return json.loads(self.coord.redis.hget(k.proposals(self.user_id), proposal_id))

    def store_snapshot(self) -> tuple[Any, int, int]:
        """Everything a bad call must leave alone: proposals, audit length, outbox length."""
        k = self.coord.store.keys
        r = self.coord.redis
        return (
            r.hgetall(k.proposals(self.user_id)),
            r.xlen(k.audit(self.user_id)),
            len(r.hkeys(k.bookings(self.user_id))),
        )

    def bookings_for(self, proposal_id: str) -> list[Any]:
        """Every booking a resolution of ``proposal_id`` made (found by its metadata)."""
        k = self.coord.store.keys
        out = []
        for bid, raw in self.coord.redis.hgetall(k.bookings(self.user_id)).items():
            rec = expand_booking(bid, raw)
            if (
                isinstance(rec.get("metadata"), dict)
                and rec["metadata"].get("proposal_id") == proposal_id
            ):
                out.append(rec)
        return out


def make_team(cal: Calendar, participants: int = 3) -> Team:
    top = cal.agent(1, "top")
    organizer = cal.agent(3, "organizer")
    team = Team(cal, top, organizer)
    team.participants = [cal.agent(4 + i, f"participant-{i}") for i in range(participants)]
    return team


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)
