"""The Rules page: time zone, working hours, buffers, focus blocks, lead time, daily cap,
the approval gate and the arbitration window.

Each form calls its ``/v1`` route function (``routes.owner``: ``put_profile``,
``patch_rules``, ``put_arbitration_window``); a refusal is shown next to the field the
API names. The form state (``RulesForm``) is plain text per input, so a refused form
comes back exactly as the owner typed it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ..routes import owner as owner_routes
from ..routes import owner_agents
from .pages import (
    ActionViewer,
    FormErrors,
    PageViewer,
    Viewer,
    first,
    form_data,
    render,
    see_other,
    submit,
)

router = APIRouter()
WEEKDAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
#: Spans per day the grid edits (the API takes up to 12; the page says when there are more).
GRID_SPANS = 2
NUMBERS = (
    "buffer_before_min",
    "buffer_after_min",
    "min_lead_minutes",
    "daily_cap",
    "max_hold_ttl_seconds",
)
TIMEZONES = sorted(available_timezones())


def form_from_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """The inputs' text for the rules as stored."""
    hours = rules.get("working_hours")
    state: dict[str, Any] = {"wh_on": hours is not None, "wh": {}, "wh_more": []}
    for day, _ in WEEKDAYS:
        spans = (hours or {}).get(day) if hours is not None else None
        if hours is None:  # a suggestion while the rule is off
            spans = [("09:00", "17:00")] if day not in ("sat", "sun") else None
        cells: dict[str, Any] = {"on": bool(spans)}
        for i in range(GRID_SPANS):
            span = spans[i] if spans and i < len(spans) else ("", "")
            cells[f"s{i + 1}"], cells[f"e{i + 1}"] = span[0], span[1]
        if spans and len(spans) > GRID_SPANS:
            state["wh_more"].append(day)
        state["wh"][day] = cells
    for name in NUMBERS:
        state[name] = "" if rules.get(name) is None else f"{rules[name]:g}"
    gate = rules.get("require_approval")
    state["ra_on"] = gate is not None
    gate = gate or {}
    state["ra_above"] = "" if gate.get("above_minutes") is None else str(gate["above_minutes"])
    state["ra_outside"] = bool(gate.get("outside_working_hours"))
    state["ra_ttl"] = f"{gate.get('ttl_seconds', 1800):g}"
    state["ra_agents"] = list(gate.get("agent_ids") or [])
    return state


def form_from_post(data: dict[str, list[str]]) -> dict[str, Any]:
    """The inputs' text as submitted."""
    state: dict[str, Any] = {"wh_on": first(data, "wh_on") == "on", "wh": {}, "wh_more": []}
    for day, _ in WEEKDAYS:
        cells: dict[str, Any] = {"on": first(data, f"wh-{day}") == "on"}
        for i in range(1, GRID_SPANS + 1):
            cells[f"s{i}"] = first(data, f"wh-{day}-s{i}")
            cells[f"e{i}"] = first(data, f"wh-{day}-e{i}")
        state["wh"][day] = cells
    for name in NUMBERS:
        state[name] = first(data, name)
    state["ra_on"] = first(data, "ra_on") == "on"
    state["ra_above"] = first(data, "ra_above")
    state["ra_outside"] = first(data, "ra_outside") == "on"
    state["ra_ttl"] = first(data, "ra_ttl")
    state["ra_agents"] = data.get("ra_agents", [])
    return state


def _int(text: str, field: str, errors: FormErrors) -> int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        errors.add(field, "must be a whole number")
        return None


def patch_from_form(state: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    """The ``PATCH /v1/dashboard/rules`` body the form stands for (every rule it shows)."""
    patch: dict[str, Any] = {}
    if state["wh_on"]:
        hours: dict[str, list[list[str]]] = {}
        for day, label in WEEKDAYS:
            cells = state["wh"][day]
            if not cells["on"]:
                continue
            spans = []
            for i in range(1, GRID_SPANS + 1):
                start, end = cells[f"s{i}"], cells[f"e{i}"]
                if start or end or i == 1:
                    if not (start and end):
                        errors.add("working_hours", f"{label}: give a start and an end")
                    spans.append([start, end])
            hours[day] = spans
        patch["working_hours"] = hours
    else:
        patch["working_hours"] = None
    for name in NUMBERS:
        patch[name] = _int(state[name], name, errors)
    if state["ra_on"]:
        gate: dict[str, Any] = {"outside_working_hours": state["ra_outside"]}
        gate["above_minutes"] = _int(state["ra_above"], "require_approval", errors)
        gate["agent_ids"] = state["ra_agents"] or None
        try:
            gate["ttl_seconds"] = float(state["ra_ttl"] or 1800)
        except ValueError:
            errors.add("require_approval", "wait time must be a number of seconds")
        patch["require_approval"] = gate
    else:
        patch["require_approval"] = None
    return patch


def _page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    state: dict[str, Any] | None = None,
    **extra: Any,
) -> Response:
    coord = request.app.state.coordinator
    rules = owner_routes.get_rules(viewer.session, coord)
    window = owner_routes.get_arbitration_window(viewer.session, coord)
    return render(
        request,
        "rules.html",
        viewer,
        status=status,
        title="Rules",
        active="rules",
        rules=rules,
        form=state or form_from_rules(rules),
        window=window,
        agents=owner_agents.list_agents(viewer.session, coord),
        weekdays=WEEKDAYS,
        spans=range(1, GRID_SPANS + 1),
        timezones=TIMEZONES,
        errors=errors or FormErrors(),
        **extra,
    )


@router.get("/rules")
def rules(request: Request, viewer: PageViewer) -> Response:
    return _page(request, viewer, saved=request.query_params.get("saved"))


def _saved(what: str) -> Response:
    return see_other(f"/dashboard/rules?saved={what}")


@router.post("/rules")
async def save_rules(request: Request, viewer: ActionViewer) -> Response:
    state = form_from_post(await form_data(request))
    errors = FormErrors()
    patch = patch_from_form(state, errors)
    if submit(errors, owner_routes.patch_rules, owner_routes.RulesPatch, patch, viewer, request):
        return _saved("rules")
    return _page(request, viewer, status=422, errors=errors, state=state)


@router.post("/rules/timezone")
async def save_timezone(request: Request, viewer: ActionViewer) -> Response:
    zone = first(await form_data(request), "timezone")
    errors = FormErrors()
    data = {"timezone": zone}
    if submit(errors, owner_routes.put_profile, owner_routes.Profile, data, viewer, request):
        return _saved("timezone")
    return _page(request, viewer, status=422, errors=errors, typed_zone=zone)


@router.post("/rules/window")
async def save_window(request: Request, viewer: ActionViewer) -> Response:
    raw = first(await form_data(request), "arbitration_window_ms")
    errors = FormErrors()
    data = {"arbitration_window_ms": _int(raw, "arbitration_window_ms", errors)}
    fn, model = owner_routes.put_arbitration_window, owner_routes.ArbitrationWindow
    if submit(errors, fn, model, data, viewer, request):
        return _saved("window")
    return _page(request, viewer, status=422, errors=errors, typed_window=raw)


def _set_focus(request: Request, viewer: Viewer, blocks: list[dict[str, Any]]) -> Response:
    errors = FormErrors()
    patch = {"focus_blocks": blocks or None}
    if submit(errors, owner_routes.patch_rules, owner_routes.RulesPatch, patch, viewer, request):
        return _saved("focus")
    return _page(request, viewer, status=422, errors=errors)


def _current_blocks(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    rules = owner_routes.get_rules(viewer.session, request.app.state.coordinator)
    return [dict(b) for b in rules.get("focus_blocks") or []]


@router.post("/rules/focus")
async def add_focus(request: Request, viewer: ActionViewer) -> Response:
    """Add one focus block: weekly (weekday, times) or one-off (local date and times)."""
    data = await form_data(request)
    kind = first(data, "kind")
    title = first(data, "title") or None
    block: dict[str, Any]
    if kind == "weekly":
        block = {
            "weekday": first(data, "weekday"),
            "start": first(data, "start_time"),
            "end": first(data, "end_time"),
        }
    else:
        errors = FormErrors()
        start = _local(first(data, "start_at"), viewer.timezone, errors)
        end = _local(first(data, "end_at"), viewer.timezone, errors)
        if errors:
            return _page(request, viewer, status=422, errors=errors)
        block = {"start": start, "end": end}
    block["title"] = title
    blocks = [_editable(b) for b in _current_blocks(request, viewer)]
    return _set_focus(request, viewer, [*blocks, block])


@router.post("/rules/focus/{index}/remove")
def remove_focus(
    index: Annotated[int, Path(ge=0, le=1000)], request: Request, viewer: ActionViewer
) -> Response:
    blocks = [_editable(b) for b in _current_blocks(request, viewer)]
    if index < len(blocks):
        del blocks[index]
    return _set_focus(request, viewer, blocks)


def _editable(block: dict[str, Any]) -> dict[str, Any]:
    """A stored block in the shape the API takes back."""
    out: dict[str, Any] = {k: block[k] for k in ("start", "end", "title") if k in block}
    if block.get("kind") == "weekly":
        out["weekday"] = block["weekday"]
    return out


def _local(text: str, tz: str, errors: FormErrors) -> str | None:
    """A ``datetime-local`` value read in the owner's zone, as ISO 8601 with its offset."""
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        errors.add("focus_blocks", "give a date and a time for the start and the end")
        return None
    return naive.replace(tzinfo=ZoneInfo(tz)).isoformat()
