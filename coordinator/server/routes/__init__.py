"""The HTTP routers, one module per resource; ``server/app.py`` mounts them."""
