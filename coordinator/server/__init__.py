"""HTTP server for protocol v0.1 (install the ``server`` extra).

``python -m coordinator serve`` runs it; ``create_app(coord)`` embeds it.
"""

from .app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
