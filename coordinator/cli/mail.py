"""``coordinator mail``: ``serve`` runs the SMTP receiver and the outbound dispatcher until
stopped; ``dkim-keygen`` (cli/mail_dkim.py) makes the signing key and its DNS record."""

from __future__ import annotations

import argparse
import os

from .common import Subparsers, open_coordinator, store_args
from .mail_dkim import register_keygen


def cmd_mail_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    if args.domain:
        os.environ["AGENTDRAFT_MAIL_DOMAIN"] = args.domain
    if args.listen:
        os.environ["AGENTDRAFT_MAIL_LISTEN"] = args.listen
    if args.smarthost:
        os.environ["AGENTDRAFT_MAIL_SMARTHOST"] = args.smarthost
    from ..mail.config import MailConfig
    from ..mail.runner import MailRunner

    config = MailConfig.from_env()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_coordinator(args) as coord:
        runner = MailRunner(
            coord, config, receive=not args.no_receive, dispatch=not args.no_dispatch
        ).start()
        port = runner.receiver.port if runner.receiver is not None else None
        print(
            f"coordinator mail: domain {config.domain}"
            + (f", receiving on {config.listen_host}:{port}" if port else "")
            + (
                f", delivering via {config.smarthost.host}:{config.smarthost.port}"
                if runner.dispatch and config.smarthost
                else ", not delivering (no smarthost)"
            ),
            flush=True,
        )
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            runner.stop()
    return 0


def register(sub: Subparsers) -> None:
    mail = sub.add_parser("mail", help="the agents' mail: SMTP receiver and dispatcher")
    msub = mail.add_subparsers(dest="mail_command", required=True)
    serve = msub.add_parser(
        "serve", help="receive mail for the agents and deliver their outbox (README Mailbox)"
    )
    store_args(serve)
    serve.add_argument("--domain", help="the agents' mail domain ($AGENTDRAFT_MAIL_DOMAIN)")
    serve.add_argument("--listen", help="host:port to receive on ($AGENTDRAFT_MAIL_LISTEN)")
    serve.add_argument("--smarthost", help="host:port to relay through")
    serve.add_argument("--no-receive", action="store_true", help="deliver only")
    serve.add_argument("--no-dispatch", action="store_true", help="receive only")
    serve.set_defaults(func=cmd_mail_serve)
    register_keygen(msub)
