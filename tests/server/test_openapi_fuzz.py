"""Fuzz every operation of the served OpenAPI document: no 5xx, no malformed error body.

Requests carry a real agent key and owner session so they get past auth and
reach validation and the engine; schemathesis generates both valid and invalid
inputs from the document itself.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis")


def test_no_operation_answers_5xx_or_an_untyped_error(http_server, http_coord) -> None:
    from schemathesis import GenerationMode

    owner = http_coord.owners.create()
    key = http_coord.agents.create(owner.user_id, name="fuzz", priority=1).api_key
    with httpx.Client(base_url=http_server.url) as web:
        token = web.post("/v1/auth/magic-link", json={"email": "fuzz@example.com"}).json()
        web.post("/v1/auth/verify", json={"token": token["dev_token"]})
        cookie = "; ".join(f"{k}={v}" for k, v in web.cookies.items())

    schema = schemathesis.openapi.from_url(f"{http_server.url}/openapi.json")
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 10
    seen: dict[int, int] = {}

    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=15,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy(generation_mode=mode))
            def check(case) -> None:
                headers = dict(case.headers or {})
                headers.setdefault("Authorization", f"Bearer {key}")
                headers["Cookie"] = cookie
                r = case.call(base_url=http_server.url, headers=headers)
                seen[r.status_code] = seen.get(r.status_code, 0) + 1
                assert r.status_code < 500, (case.method, case.path, r.status_code, r.text)
                if r.status_code >= 400:
                    body = r.json()
                    assert isinstance(body.get("error"), str) and body["error"], r.text
                    assert isinstance(body.get("detail"), str) and body["detail"], r.text

            try:
                check()
            except Unsatisfiable:
                # An operation with no inputs (e.g. /healthz) has no invalid form.
                assert mode == GenerationMode.NEGATIVE
    # The run exercised successes and several kinds of refusal, not just one path.
    assert any(s < 300 for s in seen) and len([s for s in seen if s >= 400]) >= 2, seen
