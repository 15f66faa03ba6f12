"""EVALSHA packed in one step for a plain redis-py client: the sync client's script call.

redis-py's ``Script.__call__`` goes through the generic command path: every one of a
claim's ~25 KEYS and ARGV passes its encoder (a chain of ``isinstance`` checks) before
hiredis packs them, plus per-command bookkeeping. Measured on the in-process commit,
that was about as much Python as packing the claim itself (``bench/py_cost.py``).
:class:`PackedScript` packs the whole command with one ``hiredis.pack_command`` call
and keeps what matters of redis-py's path, through redis-py's own connection objects:

* the connection comes from the client's pool and goes back to it, as for any command;
* the connection's ``Retry`` runs the send and read: a refused or reset connection is
  dropped and the call sent again on a fresh one, a timeout is not retried
  (``store/connect.py`` says why), exactly as redis-py retries a command;
* a NOSCRIPT reply (a restarted server, SCRIPT FLUSH) loads the script and sends the
  call again, as ``Script.__call__`` does;
* error replies raise redis-py's exception classes (its parser makes them), and the
  reply is decoded as the client's ``decode_responses`` says.

Arguments hiredis cannot pack (a ``bytearray``, a ``bool``) go through redis-py's
``Script`` instead, which converts or refuses them as before. Clients other than a
plain pooled ``redis.Redis`` (a Cluster, which routes by key; a single-connection
client) keep redis-py's ``Script``: :func:`register` decides.

:meth:`PackedScript.call_packed` sends a call whose KEYS and ARGV come packed
already (``calls.Call.wire``, see :mod:`.resp`) after a kept head, by the same rules.

A transition also built as a Function library (``scripts.FUNCTION_TRANSITIONS``) goes
out as FCALL, packed the same way, under the rules of :mod:`.functions`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import hiredis
import redis
from redis.exceptions import NoScriptError

from .functions import FunctionLibrary, falls_back, functions_enabled
from .resp import command_head


def packs(client: Any) -> bool:
    """Whether ``client`` is a plain pooled ``redis.Redis`` (redis-py 6 or later)."""
    return (
        type(client) is redis.Redis
        and getattr(client, "connection", None) is None
        and redis.VERSION >= (6,)
    )


def register(client: Any, source: str, function: FunctionLibrary | None = None) -> Any:
    """A script object for ``source`` on ``client``: :class:`PackedScript` where
    :func:`packs` allows it, else redis-py's ``Script``. Both are called as
    ``script(keys=[...], args=[...])`` and have ``sha`` and ``script``. ``function``:
    the same transition as a Function library, called by FCALL where the server can."""
    if packs(client):
        return PackedScript(client, source, function)
    return client.register_script(source)


class PackedScript:
    """One Lua script on one plain client, called by SHA (or as a Redis Function) with
    the command packed at once."""

    def __init__(
        self, client: redis.Redis, source: str, function: FunctionLibrary | None = None
    ) -> None:
        self.registered_client = client
        #: The source, loaded again on NOSCRIPT (and by ``/readyz``).
        self.script = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self._generic = client.register_script(source)
        #: The Function library this call goes out as; None once the server or the
        #: user turned out not to allow Functions (then EVALSHA, for good).
        self.function = function if functions_enabled() else None

    def __call__(self, keys: Sequence[Any] | None = (), args: Sequence[Any] | None = ()) -> Any:
        """FCALL or EVALSHA with ``keys`` and ``args``: the reply, or redis-py's error."""
        keys, args = keys or (), args or ()
        function = self.function
        head = ("FCALL", function.function) if function is not None else ("EVALSHA", self.sha)
        try:
            packed = hiredis.pack_command((*head, len(keys), *keys, *args))
        except TypeError:
            return self._generic(keys=list(keys), args=list(args))
        if function is not None:
            done, reply = self._fcall(function, packed)
            if done:
                return reply
            packed = hiredis.pack_command(("EVALSHA", self.sha, len(keys), *keys, *args))
        return self._evalsha(packed)

    def call_packed(self, numkeys: int, entries: int, wire: bytes) -> Any:
        """:meth:`__call__` of a call whose ``entries`` KEYS (the first ``numkeys``) and
        ARGV come packed already (``calls.Call.wire``): only the head is added."""
        function = self.function
        if function is not None:
            head = command_head("FCALL", function.function, numkeys, entries)
            done, reply = self._fcall(function, head + wire)
            if done:
                return reply
        return self._evalsha(command_head("EVALSHA", self.sha, numkeys, entries) + wire)

    def _evalsha(self, packed: bytes) -> Any:
        """The reply to the packed EVALSHA, the script loaded again if the server lost it."""
        try:
            return self._send(packed)
        except NoScriptError:
            self.registered_client.script_load(self.script)
            return self._send(packed)

    def _fcall(self, function: FunctionLibrary, packed: bytes) -> tuple[bool, Any]:
        """(True, reply) from the packed FCALL, or (False, None): send it by EVALSHA."""
        try:
            return True, self._send(packed)
        except redis.ResponseError as error:
            if falls_back(error):
                self.function = None
                return False, None
        try:
            self.registered_client.function_load(function.source, replace=True)
            return True, self._send(packed)
        except redis.ResponseError as error:
            if falls_back(error):
                self.function = None
            return False, None

    def _send(self, packed: bytes) -> Any:
        """Send one packed command on a pooled connection and read its reply.

        The connection's ``Retry`` drops a failed connection and sends again (only the
        errors it was made to retry; ``store/connect.py``), and the connection goes back
        to the pool whatever happens, as in redis-py's ``execute_command``.
        """
        pool = self.registered_client.connection_pool
        conn = pool.get_connection()
        try:
            return conn.retry.call_with_retry(
                lambda: _round_trip(conn, packed), lambda _error: conn.disconnect()
            )
        finally:
            # A server in maintenance (redis-py's notifications) asks for a new connection.
            reconnect = getattr(conn, "should_reconnect", None)
            if reconnect is not None and reconnect():
                conn.disconnect()
                conn.connect()
            pool.release(conn)


def _round_trip(conn: Any, packed: bytes) -> Any:
    conn.send_packed_command((packed,))
    return conn.read_response()


__all__ = ["PackedScript", "packs", "register"]
