"""``coordinator receipts rotate``: a new kid signs, and old keys stay published until
their receipts expire, so a receipt signed before a rotation still verifies after it."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coordinator.receipts import SigningKeys


def _cli(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "coordinator", "receipts", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _public(jwks: dict[str, Any], kid: str) -> Ed25519PublicKey:
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def test_rotate_signs_with_the_published_next_key_and_keeps_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "receipt_keys.json"
    keys = SigningKeys(path, 3600)
    old_kid, old_private = keys.current()
    signed_before = old_private.sign(b"a receipt issued before the rotation")
    published = {k["kid"] for k in keys.jwks()["keys"]}
    assert old_kid in published and len(published) == 2  # signing + the announced next key

    state = _cli("rotate", "--key-file", str(path), "--keep-seconds", "3600")
    new_kid = state["signing_kid"]
    assert state["previous_kid"] == old_kid and new_kid != old_kid
    assert new_kid in published  # verifiers had it cached before it signed anything
    assert old_kid in state["published_kids"] and new_kid in state["published_kids"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # This process (like every serve worker reading the file) signs with the new kid now.
    assert keys.current()[0] == new_kid
    _public(keys.jwks(), old_kid).verify(signed_before, b"a receipt issued before the rotation")
    assert _cli("keys", "--key-file", str(path))["signing_kid"] == new_kid


def test_a_key_rotated_out_longer_ago_than_receipts_live_leaves_the_jwks(tmp_path: Path) -> None:
    path = tmp_path / "receipt_keys.json"
    first, _ = SigningKeys(path, 3600).current()
    _cli("rotate", "--key-file", str(path))
    data = json.loads(path.read_text())
    for k in data["keys"]:
        if k["kid"] == first:
            k["retired"] = 1  # rotated out in 1970: every receipt it signed has expired
    path.write_text(json.dumps(data))
    state = _cli("rotate", "--key-file", str(path), "--keep-seconds", "3600")
    assert first not in state["published_kids"]
    assert len(state["published_kids"]) == 3  # the key before, the signing one, the next


def test_the_key_file_comes_from_the_environment_or_the_data_folder(tmp_path: Path) -> None:
    by_env = tmp_path / "env" / "keys.json"
    state = _cli("rotate", env={"AGENTDRAFT_RECEIPT_KEY_FILE": str(by_env)})
    assert state["key_file"] == str(by_env) and by_env.exists()
    state = _cli(
        "keys", "--data-dir", str(tmp_path / "data"), env={"AGENTDRAFT_RECEIPT_KEY_FILE": ""}
    )
    assert state["key_file"] == str(tmp_path / "data" / "receipt_keys.json")
