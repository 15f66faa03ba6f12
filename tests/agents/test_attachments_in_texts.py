"""Tool results carry the booking's conferencing link and its signed receipt, in data
and in the words the model reads (commit answers and get_booking)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdraft_agents.core import BookingService
from agentdraft_agents.results import Booked, BookingState

from .conftest import Calendar, iso


def test_a_commit_with_conferencing_shows_its_link_and_get_booking_repeats_it(
    local_cal: Calendar,
) -> None:
    svc = BookingService(local_cal.agent(1))
    booked = svc.commit(iso(0), iso(30), with_conferencing=True)
    assert isinstance(booked, Booked)
    assert booked.conferencing_url and booked.conferencing_url.startswith("https://")
    assert f"Meeting link: {booked.conferencing_url}" in booked.text()
    state = svc.get_booking(booked.booking_id)
    assert isinstance(state, BookingState) and state.conferencing_url == booked.conferencing_url
    assert f"Meeting link: {booked.conferencing_url}" in state.text()
    plain = svc.commit(iso(60), iso(90))
    assert isinstance(plain, Booked) and "Meeting link" not in plain.text()
    assert plain.conferencing_url is None and "receipt" not in plain.text()


def test_an_approved_parked_commit_shows_its_signed_receipt(
    make_local_cal: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDRAFT_RECEIPT_KEY_FILE", str(tmp_path / "receipt_keys.json"))
    cal: Calendar = make_local_cal()  # type: ignore[operator]
    agent = cal.agent(1)
    cal.coord.rules.update(cal.user_id, require_approval={"agent_ids": [agent.agent_id]})
    svc = BookingService(agent)
    parked = svc.commit(iso(120), iso(150))
    assert parked.error == "consent_required"  # type: ignore[union-attr]
    cal.coord.approvals.approve(parked.consent_request_id)  # type: ignore[union-attr]
    decided = svc.check_approval(parked.consent_request_id)  # type: ignore[union-attr]
    state = svc.get_booking(decided.booking_id)  # type: ignore[union-attr, arg-type]
    assert isinstance(state, BookingState) and state.receipt and state.receipt.count(".") == 2
    assert "Signed booking receipt" in state.text() and state.receipt in state.text()
