"""The dashboard's sections, in the order the navigation shows them.

A section whose page is not built yet still appears, and ``/dashboard/<slug>`` answers
with a short "not here yet" page (``router.placeholder``) until a module serves it.
"""

from __future__ import annotations

from typing import NamedTuple


class Section(NamedTuple):
    slug: str
    label: str
    summary: str


SECTIONS: tuple[Section, ...] = (
    Section("agents", "Agents", "who may book for you, and who wins a tie"),
    Section("rules", "Rules", "when you can be booked"),
    Section("approvals", "Approvals", "requests waiting for you"),
    Section("bookings", "Bookings", "upcoming and past bookings"),
    Section("timeline", "Timeline", "who held each slot, and when"),
    Section("audit", "Audit", "the signed record of every decision"),
    Section("webhooks", "Webhooks", "where events are delivered"),
    Section("connectors", "Connectors", "your real calendars"),
    Section("proposals", "Proposals", "meetings being negotiated"),
    Section("mailbox", "Mailbox", "mail your agents sent and received"),
)

BY_SLUG = {s.slug: s for s in SECTIONS}
