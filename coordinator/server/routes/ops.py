"""Operations endpoints: ``/healthz`` (the process answers) and ``/readyz`` (it can serve).

``/healthz`` never touches the store, so a load balancer does not restart a
healthy process because Redis is away. ``/readyz`` answers 503 until the store
answers, every Lua script is loaded in it (a restarted Redis has none: they are
loaded again here, so readiness comes back by itself) and the background
threads run (proposal timer, connector sync, webhook dispatcher with ``serve
--dispatch``, the store watch); the body says which check failed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ... import __version__
from ...coordinator import Coordinator

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while the process runs; it does not check the store (see ``/readyz``)."""
    return {"status": "ok", "version": __version__}


def _scripts_loaded(coord: Coordinator) -> bool:
    """Load any script the store lacks (a restarted Redis has none); ``True`` once all are."""
    scripts = [
        getattr(coord.store.scripts, f.name) for f in dataclasses.fields(coord.store.scripts)
    ]
    present = coord.redis.script_exists(*[s.sha for s in scripts])
    for script, ok in zip(scripts, present, strict=True):
        if not ok:
            coord.redis.script_load(script.script)
    return True


def thread_alive(worker: Any) -> bool:
    """Whether a background worker's thread runs (timer, sync worker, dispatcher, watch)."""
    thread = getattr(worker, "_thread", None)
    return bool(thread is not None and thread.is_alive())


def readiness(coord: Coordinator, background: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each check by name: ``True`` or the reason it failed.

    ``background`` names the workers this server started (connector sync, webhook
    dispatcher, store watch); each must still be running.
    """
    checks: dict[str, Any] = {}
    try:
        checks["store"] = bool(coord.redis.ping())
    except Exception as exc:  # any failure to reach the store is "not ready"
        checks["store"] = f"unreachable: {type(exc).__name__}"
    if checks["store"] is True:
        try:
            checks["scripts"] = _scripts_loaded(coord)
        except Exception as exc:
            checks["scripts"] = f"not loaded: {type(exc).__name__}"
    else:
        checks["scripts"] = "store unreachable"
    workers = dict(background or {})
    if coord.settings.run_proposal_timer:
        workers = {"proposal_timer": coord.proposals.timers, **workers}
    for name, worker in workers.items():
        checks[name] = thread_alive(worker) or "not running"
    return checks


@router.get("/readyz", responses={503: {"description": "a check failed; the body says which"}})
def readyz(request: Request) -> JSONResponse:
    """200 when the store answers, the scripts are loaded and the background threads run."""
    checks = readiness(request.app.state.coordinator, request.app.state.background)
    ok = all(v is True for v in checks.values())
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    if not ok:
        body |= {
            "error": "not_ready",
            "detail": "; ".join(f"{k}: {v}" for k, v in checks.items() if v is not True),
        }
    return JSONResponse(body, status_code=200 if ok else 503)
