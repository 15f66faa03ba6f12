"""Owner endpoints to register, list and remove webhook endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from ..auth import Coord, Owner
from ..responses import error_responses
from ..schemas import WireIn

router = APIRouter(prefix="/v1/dashboard/webhooks", tags=["webhooks"])
_ERRORS = error_responses(401, 404, 422)


class WebhookIn(WireIn):
    url: str = Field(min_length=8, max_length=2000)
    events: list[str] | None = None
    secret: str | None = Field(default=None, min_length=16, max_length=200)


class WebhookOut(BaseModel):
    endpoint_id: str
    url: str
    events: list[str]
    #: Returned when the endpoint is created only; it signs every delivery.
    secret: str | None = None


@router.post("", status_code=201, response_model=WebhookOut, responses=_ERRORS)
def register(body: WebhookIn, owner: Owner, coord: Coord) -> WebhookOut:
    ep = coord.webhooks.register(owner.user_id, body.url, events=body.events, secret=body.secret)
    return WebhookOut(
        endpoint_id=ep.endpoint_id, url=ep.url, events=list(ep.events), secret=ep.secret
    )


@router.get("", response_model=list[WebhookOut], responses=_ERRORS)
def list_endpoints(owner: Owner, coord: Coord) -> list[WebhookOut]:
    return [
        WebhookOut(endpoint_id=e.endpoint_id, url=e.url, events=list(e.events))
        for e in coord.webhooks.list(owner.user_id)
    ]


@router.delete("/{endpoint_id}", status_code=204, responses=_ERRORS)
def delete(
    endpoint_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
    owner: Owner,
    coord: Coord,
) -> Response:
    coord.webhooks.delete(owner.user_id, endpoint_id)
    return Response(status_code=204)
