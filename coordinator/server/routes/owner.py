"""Owner (session) endpoints for the owner's own settings: profile (timezone), rules and
the arbitration window."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from ..auth import Coord, Owner
from ..responses import error_responses
from ..schemas import ClosedIn, WireIn

router = APIRouter(prefix="/v1", tags=["owner"])
_ERRORS = error_responses(401, 403, 404, 422)


class Profile(WireIn):
    timezone: str = Field(min_length=1, max_length=64)


class RulesPatch(ClosedIn):
    """Only the rules given change; ``null`` clears one."""

    working_hours: Any = None
    buffer_before_min: Any = None
    buffer_after_min: Any = None
    focus_blocks: Any = None
    min_lead_minutes: Any = None
    daily_cap: Any = None
    require_approval: Any = None
    max_hold_ttl_seconds: Any = None


@router.get("/me/profile", responses=_ERRORS)
def get_profile(owner: Owner, coord: Coord) -> dict[str, str]:
    return {
        "user_id": owner.user_id,
        "email": owner.email,
        "timezone": coord.owners.get(owner.user_id).timezone,
    }


@router.put("/me/profile", responses=_ERRORS)
def put_profile(body: Profile, owner: Owner, coord: Coord) -> dict[str, str]:
    """Set the IANA zone every wall-clock rule is read in."""
    coord.owners.set_timezone(owner.user_id, body.timezone)
    return get_profile(owner, coord)


class ArbitrationWindow(ClosedIn):
    """``null`` goes back to the coordinator's window (``--window-ms``)."""

    arbitration_window_ms: int | None = Field(ge=0, le=10_000)


@router.get("/dashboard/arbitration-window", responses=_ERRORS)
def get_arbitration_window(owner: Owner, coord: Coord) -> dict[str, int | None]:
    """How long a lower-ranked winner waits for a better agent; ``default_ms`` applies
    while ``arbitration_window_ms`` is null."""
    return {
        "arbitration_window_ms": coord.owners.arbitration_window(owner.user_id),
        "default_ms": coord.settings.arbitration_window_ms,
    }


@router.put("/dashboard/arbitration-window", responses=_ERRORS)
def put_arbitration_window(
    body: ArbitrationWindow, owner: Owner, coord: Coord
) -> dict[str, int | None]:
    """Applies from the next contested write on this calendar."""
    coord.owners.set_arbitration_window(owner.user_id, body.arbitration_window_ms)
    return get_arbitration_window(owner, coord)


@router.get("/dashboard/rules", responses=_ERRORS)
def get_rules(owner: Owner, coord: Coord) -> dict[str, Any]:
    return coord.rules.get(owner.user_id).model_dump(mode="json")


@router.patch("/dashboard/rules", responses=_ERRORS)
def patch_rules(body: RulesPatch, owner: Owner, coord: Coord) -> dict[str, Any]:
    """Bumps ``rules_version``: outstanding availability etags become stale."""
    patch = {k: getattr(body, k) for k in body.model_fields_set}
    return coord.rules.update(owner.user_id, **patch).model_dump(mode="json")
