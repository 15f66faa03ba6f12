"""The owner's dashboard: server-rendered pages under ``/dashboard``.

Pages are Jinja2 templates (``templates/``) with htmx and SortableJS vendored in
``static/`` (pinned files, no CDN, no build step). They are built on the JSON API:
every handler that changes state calls the very function the ``/v1`` route calls
(``routes/owner_agents.py``, ``routes/owner.py``, ``routes/auth.py`` …), so the
dashboard is a second *view*, never a second way to change state. One module per
page family (``signin``, ``agents_page``, ``rules_page``); ``nav`` lists the
sections, ``pages`` holds what every page shares (rendering, owner, CSRF).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .pages import STATIC
from .router import install_handlers, router


def install(app: FastAPI) -> None:
    """Mount the pages and their static files on ``app``."""
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.include_router(router)
    install_handlers(app)
