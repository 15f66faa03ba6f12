"""The vendored browser files are the pinned ones, served by the package, never a CDN."""

from __future__ import annotations

import hashlib
import re

import httpx

from coordinator.server.dashboard.pages import STATIC, templates
from tests.server.conftest import HttpServer

PINNED = {
    "htmx-2.0.11.min.js": "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
    "sortable-1.15.7.min.js": "bf4241bc73fef7f11c59a283a69fe8051cdd31c6d8ff5a2b9ba219e7831fcf76",
}


def test_vendored_files_match_their_pinned_hashes_and_are_served(
    dashboard_server: HttpServer,
) -> None:
    notes = (STATIC / "VENDORED.md").read_text()
    for name, digest in PINNED.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest
        assert digest in notes
        served = httpx.get(f"{dashboard_server.url}/dashboard/static/{name}")
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == digest


def test_templates_load_nothing_from_another_host() -> None:
    for name in templates.list_templates():
        source = (STATIC.parent / "templates" / name).read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", source), name


def test_pages_forbid_framing_and_foreign_scripts(dashboard_server: HttpServer) -> None:
    page = httpx.get(f"{dashboard_server.url}/dashboard/sign-in")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
