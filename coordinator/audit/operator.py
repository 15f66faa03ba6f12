"""Connections as the operator: the role that may trim audit streams (archiving).

On a Redis you run, the operator's credentials come in the URL you pass. On a
protected embedded engine the operator's password is the 0600 file
``audit-operator.secret`` in its data folder (see store/acl.py); before the engine
is protected the default user is still an administrator.
"""

from __future__ import annotations

from ..store.embedded import admin_client

__all__ = ["admin_client"]
