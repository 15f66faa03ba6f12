"""What the server tells its operators: Prometheus metrics and one log line per request.

``Observe`` is a pure ASGI middleware (no per-request task or body copy): it
gives each request an id (the client's ``X-Request-ID`` or a new one, echoed
back), times it, and records route, status and outcome. Outcomes of the domain
(commits, conflicts by reason, evictions, waits, refusals) are counted where they
are decided: the booking route and the error handlers call :func:`count_write`
and :func:`count_refusal`.

Metrics are off unless enabled (``serve --metrics`` mounts ``GET /metrics``;
``--metrics-port`` serves them on a port of their own). The request log goes to
the ``coordinator.access`` logger at INFO (``--log-level info``), as JSON lines
with ``--log-format json``.
"""

from __future__ import annotations

import gc
import json
import logging
import time
import uuid
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..models import Booking

access_log = logging.getLogger("coordinator.access")

REGISTRY = CollectorRegistry(auto_describe=True)


def _counter(name: str, doc: str, *labels: str) -> Counter:
    return Counter(name, doc, list(labels), registry=REGISTRY)


REQUESTS = _counter(
    "agentdraft_http_requests_total",
    "HTTP requests by route template, method and status",
    "route",
    "method",
    "status",
)
LATENCY = Histogram(
    "agentdraft_http_request_seconds",
    "HTTP request latency by route template",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
WRITES = _counter("agentdraft_writes_total", "Bookings won, by mode (commit or hold)", "mode")
CONFLICTS = _counter("agentdraft_conflicts_total", "Writes that lost (409), by reason", "reason")
EVICTIONS = _counter("agentdraft_evictions_total", "Bookings displaced by a better write")
WINDOW_WAITS = Histogram(
    "agentdraft_arbitration_wait_seconds",
    "How long winning writes waited out the arbitration window (only those that waited)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
RULE_REFUSALS = _counter(
    "agentdraft_rule_refusals_total", "Writes refused by an owner rule", "rule"
)
RATE_LIMITED = _counter("agentdraft_rate_limited_total", "Requests refused by a key's token bucket")
WEBHOOK_DELIVERIES = _counter(
    "agentdraft_webhook_deliveries_total",
    "Webhook POSTs made by this process's dispatcher (serve --dispatch), by outcome",
    "outcome",
)
STORE_ERRORS = _counter(
    "agentdraft_store_errors_total", "Requests that failed because Redis did not answer"
)


#: The writes counter of each mode, looked up once (``labels`` locks and hashes per call).
_WRITES_BY_MODE = {mode: WRITES.labels(mode) for mode in ("commit", "hold")}


def count_write(mode: str, booking: Booking) -> None:
    count_plain_write(mode)
    if booking.displaced:
        EVICTIONS.inc(len(booking.displaced))
    if booking.waited_ms > 0:
        WINDOW_WAITS.observe(booking.waited_ms / 1000)


def count_plain_write(mode: str) -> None:
    """:func:`count_write` of a win that displaced nothing and waited no window."""
    (_WRITES_BY_MODE.get(mode) or WRITES.labels(mode)).inc()


def count_refusal(status: int, body: dict[str, Any]) -> None:
    """Count a typed error answer by what it means."""
    code = str(body.get("error", ""))
    if (status == 409 and "winning_booking_id" in body) or code == "external_event":
        CONFLICTS.labels(code).inc()
    elif status == 429:
        RATE_LIMITED.inc()
    elif status == 503:
        STORE_ERRORS.inc()
    elif "rule" in body:
        RULE_REFUSALS.labels(str(body["rule"])).inc()


class OutboxDepth:
    """Scrape-time gauge: webhook events read by no dispatcher yet or not acknowledged."""

    def __init__(self, coord: Any) -> None:
        self.coord = coord

    def collect(self) -> Any:
        from ..webhooks.dispatcher import GROUP

        gauge = GaugeMetricFamily(
            "agentdraft_webhook_outbox_depth", "Webhook events not yet acknowledged by a dispatcher"
        )
        depth = 0
        r = self.coord.redis
        try:
            for user_id in self.coord.webhooks.owners():
                stream = self.coord.store.keys.prefix(user_id) + "outbox"
                groups = {g["name"]: g for g in r.xinfo_groups(stream)} if r.exists(stream) else {}
                group = groups.get(GROUP)
                if group is None:
                    depth += int(r.xlen(stream)) if r.exists(stream) else 0
                else:
                    depth += int(group.get("pending") or 0) + int(group.get("lag") or 0)
        except Exception:  # a scrape must not fail because the store is away
            return
        gauge.add_metric([], depth)
        yield gauge


class Heap:
    """Scrape-time gauges of the garbage collector's view of the heap (server/heap.py).

    ``frozen`` counts the start-up objects no collection walks any more; ``tracked``
    the objects a full collection still walks. A worker whose start-up heap was not
    frozen shows ``frozen`` at 0 and ``tracked`` in the hundreds of thousands.
    """

    def collect(self) -> Any:
        frozen = GaugeMetricFamily(
            "agentdraft_gc_frozen_objects",
            "Objects frozen after start-up, never walked by the garbage collector",
        )
        frozen.add_metric([], gc.get_freeze_count())
        tracked = GaugeMetricFamily(
            "agentdraft_gc_tracked_objects",
            "Objects the garbage collector tracks outside the frozen ones (a full "
            "collection walks them all)",
        )
        tracked.add_metric([], len(gc.get_objects()))
        return [frozen, tracked]


REGISTRY.register(Heap())


def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


#: Set in the scope of a request the front door (server/front.py) has observed already
#: and hands to the full app, so it gets one request id and one log line.
OBSERVED = "agentdraft.observed"


class Observe:
    """Request id, timing, metrics and the access log line, for every HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: bool) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or OBSERVED in scope:
            await self.app(scope, receive, send)
            return
        logging_on = access_log.isEnabledFor(logging.INFO)
        if not (self.metrics or logging_on):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if self.metrics:
                REQUESTS.labels(route, scope["method"], str(status)).inc()
                LATENCY.labels(route).observe(elapsed)
            if logging_on:
                self._log(scope, request_id, route, status, elapsed)

    def _log(self, scope: Scope, request_id: str, route: str, status: int, elapsed: float) -> None:
        state = scope.get("state") or {}
        entry = {
            "request_id": request_id,
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "outcome": state.get("outcome") or ("ok" if status < 400 else "error"),
            "agent_id": state.get("agent_id"),
            "ms": round(elapsed * 1000, 2),
        }
        access_log.info("request", extra={"fields": entry})


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, separators=(",", ":"), default=str)


class KeyValues(logging.Formatter):
    """Plain text with the request's fields as ``key=value`` pairs."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None) or {}
        pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return f"{line} {pairs}" if pairs else line


def configure_logging(level: str, *, json_lines: bool) -> None:
    """Give the ``coordinator`` loggers one stderr handler in the chosen format."""
    root = logging.getLogger("coordinator")
    root.setLevel(level.upper() if level.lower() != "trace" else "DEBUG")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(KeyValues("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.propagate = False


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and 0 < len(value) <= 128 and value.isascii():
            text = value.decode()
            if text.isprintable():
                return text
    return uuid.uuid4().hex
