"""A throwaway local Radicale for examples, notebooks and benchmarks (offline CalDAV).

Starts ``radicale`` (``pip install radicale``) on a free loopback port with htpasswd
auth and storage in a temp folder, waits until it answers, and stops it on exit.
The test suite has its own (restartable) servers in ``tests/support/calendars.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

USER, PASSWORD = "owner", "local-radicale-password"


@dataclass(frozen=True)
class LocalCalDAV:
    url: str
    username: str
    password: str

    def client(self) -> Any:
        """A ``caldav`` client, as the owner's calendar app would use."""
        import caldav

        client_class: Any = caldav.DAVClient  # resolved lazily by caldav: untyped here
        return client_class(
            url=self.url,
            username=self.username,
            password=self.password,
            auth_type="basic",
            features="radicale",
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_radicale(timeout: float = 20.0) -> Iterator[LocalCalDAV]:
    folder = Path(tempfile.mkdtemp(prefix="radicale-"))
    (folder / "htpasswd").write_text(f"{USER}:{PASSWORD}\n")
    port = _free_port()
    exe = Path(sys.executable).with_name("radicale")
    cmd = [
        str(exe) if exe.exists() else "radicale", "--config", "",
        "--server-hosts", f"127.0.0.1:{port}",
        "--auth-type", "htpasswd", "--auth-htpasswd-encryption", "plain",
        "--auth-htpasswd-filename", str(folder / "htpasswd"),
        "--storage-filesystem-folder", str(folder / "collections"),
        "--logging-level", "error",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("radicale exited at start-up (pip install radicale?)")
            with contextlib.suppress(httpx.HTTPError):
                httpx.request("OPTIONS", url, timeout=1.0)
                break
            if time.monotonic() > deadline:
                raise RuntimeError("radicale did not answer in time")
            time.sleep(0.02)  # polling readiness with a deadline
        yield LocalCalDAV(url, USER, PASSWORD)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)
