"""Command line: ``python -m coordinator {race,serve,audit,owners,embedded}``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .coordinator import Coordinator


def _open(args: argparse.Namespace, **settings: object) -> Coordinator:
    if args.redis_url:
        return Coordinator.from_url(args.redis_url, **settings)  # type: ignore[arg-type]
    return Coordinator.embedded(args.data_dir, **settings)  # type: ignore[arg-type]


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--redis-url",
        help="redis://, rediss://, unix:// or a Cluster node; default: the embedded engine",
    )
    p.add_argument(
        "--data-dir",
        help="embedded engine folder (default $AGENTDRAFT_DATA_DIR or ~/.agentdraft/data)",
    )


def cmd_race(args: argparse.Namespace) -> int:
    from .race import format_race, run_race

    settings = {}
    if args.window_ms is not None:
        settings["arbitration_window_ms"] = args.window_ms
    with _open(args, **settings) as coord:
        result = run_race(coord, args.agents)
        print(format_race(result))
        return 0 if len(result.winners) == 1 and result.audit_ok else 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    with _open(args) as coord:
        users = [args.user] if args.user else coord.owners.list()
        bad = 0
        for uid in users:
            v = coord.audit.verify(uid)
            if args.json:
                print(json.dumps(v.model_dump(mode="json")))
            else:
                state = "ok" if v.ok else "TAMPERED"
                print(f"{uid}: {state}, {v.entries} entries, head {v.head}")
                for p in v.problems:
                    print(f"  {p.entry_id}: {p.problem}: {p.detail}")
            bad += not v.ok
        return 1 if bad else 0


def cmd_audit_show(args: argparse.Namespace) -> int:
    with _open(args) as coord:
        entries = (
            coord.audit.for_booking(args.user, args.booking)
            if args.booking
            else coord.audit.range(args.user, args.start, args.end, limit=args.limit)
        )
        for e in entries:
            print(json.dumps({"id": e.id, **e.fields}))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    try:
        import uvicorn
    except ImportError:
        print(
            "the HTTP server needs the 'server' extra: pip install 'agentdraft-agents[server]'",
            file=sys.stderr,
        )
        return 2
    if args.redis_url:
        os.environ["AGENTDRAFT_REDIS_URL"] = args.redis_url
    if args.data_dir:
        os.environ["AGENTDRAFT_DATA_DIR"] = args.data_dir
    if args.dev:
        os.environ["AGENTDRAFT_DEV"] = "1"
    if args.window_ms is not None:
        os.environ["AGENTDRAFT_ARBITRATION_WINDOW_MS"] = str(args.window_ms)
    uvicorn.run(
        "coordinator.server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


def cmd_owner_token(args: argparse.Namespace) -> int:
    from .server.sessions import Sessions

    with _open(args) as coord:
        token = Sessions(coord).login_token(args.email)
        print(token)
    return 0


def cmd_webhooks_dispatch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .webhooks.dispatcher import Dispatcher, DispatchSettings

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _open(args) as coord:
        d = Dispatcher(
            coord,
            DispatchSettings(visibility_ms=args.visibility_ms, backoff_base_ms=args.backoff_ms),
        )
        try:
            d.run_forever(stop)
        except KeyboardInterrupt:
            pass
        finally:
            d.close()
    return 0


def cmd_proposals_timer(args: argparse.Namespace) -> int:
    """Fire proposal deadlines (expiry, dead resolvers) until stopped."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _open(args) as coord:
        timers = coord.proposals.timers
        timers.ensure_running()
        print(f"proposal timer running; {timers.pending()} deadline(s) waiting", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_embedded_stop(args: argparse.Namespace) -> int:
    from .store.connect import stop_embedded

    print("stopped" if stop_embedded(args.data_dir) else "no embedded engine was running")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coordinator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    race = sub.add_parser("race", help="N agents race for one slot; prints outcomes and audit")
    _store_args(race)
    race.add_argument("--agents", type=int, default=5)
    race.add_argument(
        "--window-ms",
        type=int,
        default=None,
        help="arbitration window in ms (default: the coordinator's)",
    )
    race.set_defaults(func=cmd_race)

    audit = sub.add_parser("audit", help="query or verify audit streams")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser("verify", help="re-walk the hash chain of one or all calendars")
    _store_args(verify)
    verify.add_argument("--user", help="owner id (default: every owner)")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_audit_verify)
    show = asub.add_parser("show", help="print entries of a calendar or a booking")
    _store_args(show)
    show.add_argument("--user", required=True)
    show.add_argument("--booking")
    show.add_argument("--start")
    show.add_argument("--end")
    show.add_argument("--limit", type=int)
    show.set_defaults(func=cmd_audit_show)

    serve = sub.add_parser("serve", help="run the HTTP server (protocol v0.1)")
    _store_args(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--dev",
        action="store_true",
        help="dev mode: magic-link sign-in returns the token in the body",
    )
    serve.add_argument("--window-ms", type=int, default=None)
    serve.add_argument("--log-level", default="warning")
    serve.set_defaults(func=cmd_serve)

    owners = sub.add_parser("owners", help="owner sign-in credentials")
    osub = owners.add_subparsers(dest="owners_command", required=True)
    token = osub.add_parser("token", help="mint a login token for an owner (creates the owner)")
    _store_args(token)
    token.add_argument("--email", required=True)
    token.set_defaults(func=cmd_owner_token)

    hooks = sub.add_parser("webhooks", help="webhook delivery")
    hsub = hooks.add_subparsers(dest="webhooks_command", required=True)
    dispatch = hsub.add_parser("dispatch", help="deliver outbox events until stopped")
    _store_args(dispatch)
    dispatch.add_argument(
        "--visibility-ms",
        type=int,
        default=30_000,
        help="reclaim an unacknowledged event after this idle time",
    )
    dispatch.add_argument("--backoff-ms", type=int, default=1_000)
    dispatch.set_defaults(func=cmd_webhooks_dispatch)

    props = sub.add_parser("proposals", help="multi-slot proposals")
    psub = props.add_subparsers(dest="proposals_command", required=True)
    timer = psub.add_parser(
        "timer",
        help="fire proposal deadlines until stopped "
        "(serve and every proposal-creating process run one already)",
    )
    _store_args(timer)
    timer.set_defaults(func=cmd_proposals_timer)

    emb = sub.add_parser("embedded", help="manage the embedded engine")
    esub = emb.add_subparsers(dest="embedded_command", required=True)
    stop = esub.add_parser("stop", help="shut down the embedded engine of a data folder")
    stop.add_argument("--data-dir")
    stop.set_defaults(func=cmd_embedded_stop)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
