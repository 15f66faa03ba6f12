"""Connections as the operator: the role that may trim audit streams (archiving).

On a Redis you run, the operator's credentials come in the URL you pass. On a
protected embedded engine the operator's password is the 0600 file
``audit-operator.secret`` in its data folder (see store/acl.py); before the engine
is protected the default user is still an administrator.
"""

from __future__ import annotations

from pathlib import Path

import redis

from ..store.acl import OPERATOR, operator_secret
from ..store.embedded import embedded_socket_path


def admin_client(data_dir: Path) -> redis.Redis:
    """A client of the embedded engine in ``data_dir`` with the rights to trim and ACL."""
    secret = operator_secret(data_dir)
    return redis.Redis(
        unix_socket_path=str(embedded_socket_path(data_dir)),
        username=OPERATOR if secret else None,
        password=secret,
        decode_responses=True,
    )
