"""The agent suite's fixtures, reused: ranked agents on real coordinators.

``cal`` runs on every Redis backend (embedded, server, cluster); ``local_cal`` on the
embedded engine through the in-process client and through the official SDK over
HTTP. Nothing here stands in for the coordinator.
"""

from __future__ import annotations

from tests.agents.conftest import (  # noqa: F401 - fixtures are found by name
    BASE,
    Calendar,
    agents_store,
    at,
    cal,
    iso,
    local_cal,
    local_http_server,
    local_store,
    make_cal,
    make_local_cal,
)
