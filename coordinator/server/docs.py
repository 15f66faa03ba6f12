"""The API's documentation: the OpenAPI document's security schemes and formats, and /docs.

The document FastAPI derives from the routes is completed here, once, when it is
first asked for, so the request path pays nothing for it:

- agent routes (``Authorization: Bearer avs_live_…``) carry the ``agentKey``
  scheme and owner routes (the session cookie) the ``ownerSession`` scheme, in
  place of the raw header and cookie parameters, so Swagger UI shows an
  Authorize button;
- times taken as text (``start``, ``range_end``, …) are marked ``date-time``;
- fields without a description get the one in :data:`FIELD_DOCS`.

Swagger UI is served from files shipped in the package (``static/swagger-ui``),
never from a CDN, so ``/docs`` works offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from .sessions import COOKIE

STATIC = Path(__file__).parent / "static" / "swagger-ui"
TIME_FIELDS = frozenset(
    {"start", "end", "start_time", "end_time", "expires_at", "range_start", "range_end"}
)
SCHEMES = {
    "agentKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An agent's API key (avs_live_…), issued by its owner.",
    },
    "ownerSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "The owner's session, set by POST /v1/auth/verify.",
    },
}
FIELD_DOCS = {
    "start": "Start of the slot: ISO 8601 with an offset (naive times are refused).",
    "end": "End of the slot (exclusive): ISO 8601 with an offset.",
    "start_time": "Start of the slot: ISO 8601 with an offset.",
    "end_time": "End of the slot (exclusive): ISO 8601 with an offset.",
    "expires_at": "When it lapses unless acted on.",
    "range_start": "Start of the range to search, ISO 8601 with an offset.",
    "range_end": "End of the range to search, ISO 8601 with an offset.",
    "booking_id": "The booking's id (bkg_… for commits, hld_… for holds).",
    "agent_id": "An agent's id (agt_…).",
    "user_id": "The owner's id (usr_…): the calendar.",
    "priority": "The agent's rank for its owner: 1 is the highest.",
    "status": "Current state.",
    "mode": "commit (a booking) or hold (expires unless promoted).",
    "audit_event_id": "The audit stream entry that recorded this change.",
    "created_at": "When it was created (server clock).",
    "etag": "Pass back as availability_etag to refuse a write chosen from stale rules.",
    "availability_etag": "The etag of the availability answer this write was chosen from.",
    "error": "Machine-readable error code.",
    "detail": "A sentence saying what went wrong and what to do.",
    "idempotency_key": "Repeat a write safely: the same key returns the same result.",
    "metadata": "Free-form JSON stored with the booking.",
    "title": "A short title.",
    "winning_booking_id": "The booking that holds the slot.",
    "plaintext_key": "The API key, shown this once only.",
}


def _mark_time(schema: dict[str, Any]) -> None:
    if schema.get("type") == "string" and "format" not in schema:
        schema["format"] = "date-time"
    for member in schema.get("anyOf", ()):
        _mark_time(member)


def _complete_properties(properties: dict[str, Any]) -> None:
    for name, prop in properties.items():
        if name in TIME_FIELDS:
            _mark_time(prop)
        if name in FIELD_DOCS and "description" not in prop:
            prop["description"] = FIELD_DOCS[name]


def _complete_operation(op: dict[str, Any]) -> None:
    kept = []
    for param in op.get("parameters", ()):
        where, name = param.get("in"), param.get("name", "").lower()
        if where == "header" and name == "authorization":
            op["security"] = [{"agentKey": []}]
            continue
        if where == "cookie" and name == COOKIE:
            op["security"] = [{"ownerSession": []}]
            continue
        if name in TIME_FIELDS:
            _mark_time(param.get("schema", {}))
        if name in FIELD_DOCS and "description" not in param:
            param["description"] = FIELD_DOCS[name]
        kept.append(param)
    if "parameters" in op:
        op["parameters"] = kept


def openapi_document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        for path in doc.get("paths", {}).values():
            for op in path.values():
                if isinstance(op, dict):
                    _complete_operation(op)
        components = doc.setdefault("components", {})
        for schema in components.get("schemas", {}).values():
            _complete_properties(schema.get("properties", {}))
        components["securitySchemes"] = SCHEMES
        app.openapi_schema = doc
    return app.openapi_schema


def install(app: FastAPI) -> None:
    """Serve ``/docs`` from local files and complete the OpenAPI document."""
    app.mount("/docs/static", StaticFiles(directory=STATIC), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )

    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
