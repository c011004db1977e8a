"""schemathesis against the OpenAPI documents of hub and node, in-process: no 5xx, every refusal JSON.

Each operation of the document gets generated requests, valid and invalid, sent to the WSGI app as the
coordinator (sync routes with a node's own token); a server error or an answer that is not a JSON error
fails the test with the request that caused it. `-m slow` runs many more examples per operation.
"""
import logging
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from conftest import ADMIN

AUTH = {"Authorization": f"Bearer {ADMIN}"}
EXAMPLES = int(os.environ.get("MENWEI_FUZZ_EXAMPLES", 3))


class _Errors(logging.Handler):
    """Collects the app's 'unhandled error' log records (an exception that escaped a view)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _node_token(cluster):
    """A sync token of a node registered only for fuzzing, so the real gates' sequences stay intact."""
    hub = cluster.hub
    code = hub.api("POST", "/nodes", json={"id": "fuzz-gate", "compound_id": cluster.compound_id}).get_json()["code"]
    r = hub.http.post("/sync/v1/enroll", json={"code": code, "node_id": "fuzz-gate"})
    assert r.status_code == 200, r.get_data()
    return r.get_json()["token"]


def _check(case, response):
    status = response.status_code
    what = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]!r}"
    assert status < 500, f"{status} from {what}: {response.text[:300]}"
    if status >= 400 and case.path.startswith(("/api/", "/sync/")):
        body = response.json()
        assert isinstance(body, dict) and body.get("error"), f"{status} without a JSON error from {what}"


def fuzz(app, token_for_sync, examples):
    """Send ``examples`` generated requests per operation and mode; return (requests sent, failures)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    sent, failures = [0], []
    for result in schema.get_all_operations():
        op = result.ok()
        headers = {"Authorization": f"Bearer {token_for_sync}"} if op.path.startswith("/sync/") else AUTH
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=(Phase.explicit, Phase.generate, Phase.shrink),
                      suppress_health_check=list(HealthCheck))
            def run(case):
                sent[0] += 1
                _check(case, case.call(headers=headers))
            try:
                run()
            except AssertionError as e:
                failures.append(str(e).splitlines()[0])
            except Exception as e:  # noqa: BLE001 - a generation problem is a failure of the document
                failures.append(f"{op.method.upper()} {op.path} ({mode.value}): {type(e).__name__}: {e}"[:400])
    return sent[0], failures


def _run(cluster, side, examples):
    app = cluster.hub.app if side == "hub" else cluster.nodes["east-gate"].app
    token = _node_token(cluster)
    errors = _Errors()
    app.logger.addHandler(errors)
    try:
        sent, failures = fuzz(app, token, examples)
    finally:
        app.logger.removeHandler(errors)
    print(f"{side}: {sent} generated requests")
    assert not failures, "\n".join(failures)
    assert not errors.records, [r.getMessage() for r in errors.records]
    return sent


@pytest.mark.parametrize("side", ["hub", "node"])
def test_generated_requests_never_get_a_server_error(gate, side):
    assert _run(gate.cluster, side, examples=EXAMPLES) > 300


@pytest.mark.slow
@pytest.mark.parametrize("side", ["hub", "node"])
def test_many_generated_requests_never_get_a_server_error(gate, side):
    assert _run(gate.cluster, side, examples=60) > 5000
