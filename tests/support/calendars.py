"""Real CalDAV servers and an ICS feed server for the connector tests, on loopback ports.

Radicale (htpasswd, storage in a temp folder) and Xandikos (no auth) run as processes
started here and polled until they answer, never slept on; a ``ThreadingHTTPServer``
serves an ICS file. Each is stopped (and can be restarted on the same port and data,
to test an outage) by the test that owns it.
"""

from __future__ import annotations

import atexit
import contextlib
import http.server
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import free_port

READY_TIMEOUT = 20.0
USER, PASSWORD = "alice", "pw-Zq9-kept-secret"


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


class CalDAVServer:
    """One CalDAV server process: ``start``, ``stop``, ``restart`` on the same port and data."""

    kind = "radicale"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.kind}-test-"))
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.stop)
        self.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def args(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = open(self.dir / "server.log", "ab")
        self._proc = subprocess.Popen(
            self.args(), cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.request("OPTIONS", self.base_url, timeout=1.0)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not answer: {self.log_tail()}")
            time.sleep(0.02)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "server.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- a person's calendar app ----------------------------------------------------------
    def client(self) -> Any:
        import caldav

        return caldav.DAVClient(
            url=self.base_url, username=USER, password=PASSWORD, auth_type="basic",
            features=self.kind,
        )  # fmt: skip

    def new_calendar(self) -> Any:
        """A fresh calendar collection (one per test), made by the person's client."""
        cal_id = f"cal-{uuid.uuid4().hex[:10]}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self.principal().make_calendar(name=cal_id, cal_id=cal_id)

    def principal(self) -> Any:
        return self.client().get_principal()


class Radicale(CalDAVServer):
    kind = "radicale"

    def args(self) -> list[str]:
        htpasswd = self.dir / "htpasswd"
        htpasswd.write_text(f"{USER}:{PASSWORD}\n")
        return [
            _bin("radicale"), "--config", "",
            "--server-hosts", f"127.0.0.1:{self.port}",
            "--auth-type", "htpasswd",
            "--auth-htpasswd-filename", str(htpasswd),
            "--auth-htpasswd-encryption", "plain",
            "--storage-filesystem-folder", str(self.dir / "collections"),
            "--logging-level", "warning",
        ]  # fmt: skip


class Xandikos(CalDAVServer):
    kind = "xandikos"

    def args(self) -> list[str]:
        return [
            _bin("xandikos"), "serve", "--defaults", "-d", str(self.dir / "data"),
            "-l", "127.0.0.1", "-p", str(self.port),
        ]  # fmt: skip

    def principal(self) -> Any:
        return self.client().principal(url=self.base_url + "user/")


class FeedServer:
    """Serves one ICS body (replaceable) at ``url`` with an ETag; 304 on a match; a 302 to
    ``location`` when that is set."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.body = b""
        self.status = 200
        self.location: str | None = None
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                if outer.location is not None:
                    self.send_response(302)
                    self.send_header("Location", outer.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = f'"{hash(outer.body) & 0xFFFFFFFF:x}"'
                if outer.status != 200:
                    self.send_response(outer.status)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *_: Any) -> None:
                pass

        self.host = host
        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/feed.ics"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
