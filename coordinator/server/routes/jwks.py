"""``GET /.well-known/jwks.json``: the public keys that verify this server's receipts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from ..auth import Coord
from ..responses import json_response

router = APIRouter(tags=["receipts"])


@router.get("/.well-known/jwks.json")
def jwks(coord: Coord) -> Response:
    """Ed25519 keys (OKP JWKs); a rotated-out key stays until its receipts expire.

    No authentication: anyone holding a receipt may verify it offline.
    """
    keys: dict[str, Any] = coord.receipts.jwks()
    return json_response(keys, headers={"Cache-Control": "public, max-age=300"})
