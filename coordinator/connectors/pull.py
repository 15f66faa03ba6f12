"""One pull: read what changed on the remote calendar and apply it in one script call.

The plan is computed here from the adapter's answer and what the last pull saw
(href -> ETag and block keys); ``connector_apply.lua`` then moves the external busy
blocks, evicts or flags bookings by the owner's policy and stores the new sync state,
all in one atomic step. Recurring events are expanded up to the horizon; once a day
the whole calendar is expanded again so the horizon moves forward.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from ..bookings import Bookings
from ..buckets import from_ms
from ..store.errors import store_errors
from .adapters.base import CalendarAdapter, PullResult
from .errors import ConnectorError, FeedMalformed, FeedTooLarge
from .ical import InstanceBudget, busy_instances, parse_calendar
from .models import Connector, SyncReport

DAY_MS = 24 * 3600 * 1000
#: Instances this far in the past are still pulled (a meeting running now).
LOOKBACK_MS = DAY_MS


def server_now_ms(engine: Bookings, user_id: str) -> int:
    """The Redis server's clock (the one the scripts judge by), from the calendar's node."""
    with store_errors("time"):
        return engine.store.server_now_ms(user_id)


def plan(
    c: Connector,
    result: PullResult,
    seen: dict[str, dict[str, Any]],
    now_ms: int,
    tz: ZoneInfo,
) -> tuple[dict[str, Any], SyncReport]:
    """The script's plan for ``result`` given ``seen`` (href -> {etag, blocks})."""
    lo, hi = from_ms(now_ms - LOOKBACK_MS), from_ms(now_ms + c.horizon_days * DAY_MS)
    remove: set[str] = set()
    add: dict[str, dict[str, Any]] = {}
    hrefs: dict[str, str] = {}
    report = SyncReport(c.connector_id, result.full, len(result.changed))
    budget = InstanceBudget()  # for the whole pull, not per object (see ical.py)
    for obj in result.changed:
        try:
            cal = parse_calendar(obj.ics, obj.href)
            busy = busy_instances(cal, lo, hi, tz, c.owner_email, budget)
        except FeedTooLarge as exc:
            raise FeedTooLarge(f"{obj.href}: {exc.detail}") from None
        except FeedMalformed:
            if c.kind == "ics":
                raise
            continue  # one broken object on a CalDAV server must not stop the others
        blocks = {}
        for b in busy:
            blk = b.block(c.connector_id, c.show_summary)
            blocks[blk["k"]] = blk
        old = set((seen.get(obj.href) or {}).get("blocks") or [])
        remove |= old - set(blocks)
        add.update(blocks)
        hrefs[obj.href] = json.dumps({"etag": obj.etag, "blocks": sorted(blocks)})
    drop = [h for h in result.deleted if h in seen]
    for h in drop:
        remove |= set(seen[h].get("blocks") or [])
    remove -= set(add)
    report.added, report.removed = len(add), len(remove)
    return {
        "remove": sorted(remove),
        "add": list(add.values()),
        "hrefs": hrefs,
        "drop_hrefs": drop,
    }, report


def pull_once(
    engine: Bookings,
    c: Connector,
    adapter: CalendarAdapter,
    fetched: PullResult | None = None,
    *,
    lease_token: str | None = None,
) -> SyncReport:
    """Pull ``c`` now and apply the result; raises the adapter's typed errors.

    ``fetched``: a full listing already made (``add`` validates with one), used as is.
    ``lease_token``: the sync lease this pull holds; if it was lost while the remote
    answered, nothing is applied and this raises ``connector_busy`` (see ``apply``).
    """
    r, k = engine.redis, engine.keys
    uid, cid = c.user_id, c.connector_id
    with store_errors("connector state"):
        state = r.hgetall(k.connector_state(uid, cid))
        raw_seen = r.hgetall(k.connector_hrefs(uid, cid))
        tz_name = r.hget(k.owner(uid), "timezone") or "UTC"
    seen = {h: json.loads(v) for h, v in raw_seen.items()}
    now = server_now_ms(engine, uid)
    horizon = now + c.horizon_days * DAY_MS
    rehorizon = int(state.get("horizon_ms") or 0) < horizon - DAY_MS
    token = None if rehorizon else state.get("sync_token")
    known = {} if rehorizon else {h: v.get("etag") for h, v in seen.items()}
    result = fetched if fetched is not None else adapter.pull(token, known)
    if fetched is not None:
        rehorizon = True
    if result.full:  # a complete listing: whatever we saw before and it lacks is gone
        result = replace(result, deleted=sorted(set(seen) - result.listed))
    steps, report = plan(c, result, seen, now, ZoneInfo(tz_name))
    steps["state"] = {
        "sync_token": result.token or "",
        "last_pull_ms": str(now),
        "last_error": "",
        "last_error_code": "",
    }
    if rehorizon:
        steps["state"]["horizon_ms"] = str(horizon)
    reply = apply(engine, c, steps, lease_token)
    # cjson encodes an empty list as {}: normalise.
    report.evicted = list(reply.get("evicted") or [])
    report.conflicts = list(reply.get("conflicts") or [])
    return report


def apply(
    engine: Bookings, c: Connector, steps: dict[str, Any], lease_token: str | None = None
) -> dict[str, Any]:
    """One ``connector_apply`` script call for ``c``.

    With ``lease_token`` the script applies only while the connector's sync lease still
    holds that token: a pull that outlived its lease (another pull took it since) would
    otherwise land an older listing on a newer one. Refused: :class:`ConnectorError`
    ``connector_busy``, and nothing changed."""
    with store_errors("connector apply"):
        reply = engine.calls.connector_apply(
            user_id=c.user_id,
            connector_id=c.connector_id,
            policy=c.policy,
            plan=steps,
            lease_token=lease_token,
        )
    if reply.get("error") == "connector_busy":
        raise ConnectorError(
            f"connector {c.connector_id} lost its sync lease to another pull; nothing was applied",
            error="connector_busy",
            status=409,
        )
    return reply
