"""Owner endpoints for calendar connectors: connect, list, read with status, sync, remove.

Credentials go in once (``POST``) and never come back out: every response carries the
connector without its password or token.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from ...connectors.models import Connector, ConnectorStatus
from ...connectors.registry import sync_wait_seconds
from ...errors import NotFound
from ..auth import Coord, Owner
from ..responses import error_responses
from ..schemas import WireIn

router = APIRouter(prefix="/v1/dashboard/connectors", tags=["connectors"])
_ERRORS = error_responses(401, 404, 409, 422)
ConnectorId = Annotated[str, Path(pattern=r"^cxn_[0-9a-f]{16}$")]


class ConnectorIn(WireIn):
    kind: Literal["caldav", "ics"] = "caldav"
    url: str = Field(min_length=8, max_length=2000)
    username: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=4096)
    bearer_token: str | None = Field(default=None, max_length=8192)
    calendar: str | None = Field(default=None, max_length=500)
    mode: Literal["two_way", "read_only", "write_only"] = "two_way"
    policy: Literal["evict", "keep"] = "evict"
    horizon_days: int = Field(default=60, ge=1, le=366)
    max_staleness_seconds: int = Field(default=300, ge=1, le=30 * 86400)
    stale: Literal["allow", "refuse"] = "allow"
    show_summary: bool = False
    owner_email: str | None = Field(default=None, max_length=320)
    verify_tls: bool = True


class ConnectorWithStatus(BaseModel):
    connector: Connector
    status: ConnectorStatus


def _owned(coord: Any, owner: Any, connector_id: str) -> Connector:
    c: Connector = coord.connectors.get(connector_id)
    if c.user_id != owner.user_id:  # another owner's connector does not exist for you
        raise NotFound(f"no connector {connector_id}", error="connector_not_found")
    return c


@router.post("", status_code=201, response_model=Connector, responses=_ERRORS)
def add(body: ConnectorIn, owner: Owner, coord: Coord) -> Connector:
    fields = body.model_dump()
    kind = fields.pop("kind")
    return coord.connectors.add(owner.user_id, kind, **fields)  # type: ignore[no-any-return]


@router.get("", response_model=list[Connector], responses=_ERRORS)
def list_connectors(owner: Owner, coord: Coord) -> list[Connector]:
    return coord.connectors.list(owner.user_id)  # type: ignore[no-any-return]


@router.get("/{connector_id}", response_model=ConnectorWithStatus, responses=_ERRORS)
def get(connector_id: ConnectorId, owner: Owner, coord: Coord) -> ConnectorWithStatus:
    c = _owned(coord, owner, connector_id)
    return ConnectorWithStatus(connector=c, status=coord.connectors.status(connector_id))


@router.delete("/{connector_id}", status_code=204, responses=_ERRORS)
def remove(connector_id: ConnectorId, owner: Owner, coord: Coord) -> Response:
    """Disconnect: the connector's busy blocks leave the calendar; pushed events stay. A
    pull already running is waited for (like ``sync``); still busy then: 409."""
    _owned(coord, owner, connector_id)
    coord.connectors.remove(connector_id)
    return Response(status_code=204)


@router.post("/{connector_id}/sync", responses=_ERRORS)
def sync(connector_id: ConnectorId, owner: Owner, coord: Coord) -> dict[str, Any]:
    """Pull now; a pull already running is waited for (up to 15 s, or
    ``AGENTDRAFT_CONNECTOR_SYNC_WAIT``), then this one runs, so the answer reflects the
    calendar as it is now. Still busy then: 409."""
    _owned(coord, owner, connector_id)
    report = coord.connectors.sync(connector_id, wait_seconds=sync_wait_seconds())
    return dict(report.__dict__)
