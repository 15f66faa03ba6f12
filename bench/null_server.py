"""A server that answers every protocol call at once: the client's own latency floor.

Same stack as the coordinator (uvicorn + Starlette), no Redis, no decisions, so
the difference between the two in one run is what the coordinator costs.
Run: python -m bench.null_server PORT
"""

from __future__ import annotations

import sys
from itertools import count

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_ids = count()


async def booking(_: Request) -> JSONResponse:
    return JSONResponse(
        {"booking_id": f"bkg_null{next(_ids)}", "status": "COMMITTED", "audit_event_id": "0-0"},
        status_code=201,
    )


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def read_booking(request: Request) -> JSONResponse:
    return JSONResponse({"booking_id": request.path_params["booking_id"], "status": "COMMITTED"})


async def availability(_: Request) -> JSONResponse:
    return JSONResponse({"user_id": "usr_null", "slots": [], "etag": "0", "rules_version": 0})


app = Starlette(
    routes=[
        Route("/v1/bookings", booking, methods=["POST"]),
        Route("/v1/bookings/{booking_id}", read_booking),
        Route("/v1/availability", availability),
        Route("/healthz", health),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
