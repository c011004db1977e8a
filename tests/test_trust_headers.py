"""Security headers on every page and the pages true to them: no inline script or style (finding: CSP)."""
import re

import pytest

from conftest import PASSWORD

INLINE = [(re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
          (re.compile(r"<style[\s>]", re.I), "<style> element"),
          (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
          (re.compile(r"\son[a-z]+\s*=", re.I), "on…= handler attribute"),
          (re.compile(r"javascript:", re.I), "javascript: URL")]


def _pages(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/sync/", "/assets")) \
                and rule.endpoint != "static" and not rule.rule.endswith((".xlsx", ".csv")):
            yield rule.endpoint, rule.rule


@pytest.mark.parametrize("side", ["hub", "node"])
def test_every_page_sends_a_strict_policy_and_has_no_inline_code_it_would_block(gate, side):
    replica = gate.hub if side == "hub" else gate.east
    gate.hub.api("POST", "/accounts", json={"username": "boss", "password": PASSWORD, "role": "coordinator",
                                            "compound_id": gate.cluster.compound_id})
    gate.east.sync()
    client = replica.app.test_client()
    assert client.post("/api/v1/auth/login", json={"username": "boss", "password": PASSWORD}).status_code == 200
    seen = 0
    for endpoint, url in _pages(replica.app):
        r = client.get(url)
        if r.status_code != 200 or r.mimetype != "text/html":
            continue
        seen += 1
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
        assert r.headers["Referrer-Policy"] == "same-origin" and r.headers["X-Content-Type-Options"] == "nosniff"
        assert "unsafe-inline" not in csp, endpoint
        html = r.get_data(as_text=True)
        found = [what for pattern, what in INLINE if pattern.search(html)]
        assert not found, (endpoint, found)
    assert seen >= 8


def test_api_answers_and_error_pages_carry_the_headers_too(client):
    for r in (client.get("/api/v1/auth/me"), client.get("/no/such/page"), client.get("/login")):
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert not re.search(r"\sstyle\s*=", r.get_data(as_text=True))


def test_the_pages_run_in_chromium_without_a_policy_violation(gate, browser):
    from conftest import LiveServer
    server = LiveServer(gate.east.app)
    page = browser.new_page()
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        gate.east.sign_in(page, server.url, "coordinator", "/manage")
        for path in ("/", "/dashboard", "/exports", "/audit", "/reports/daily", "/manage", "/roster", "/basket"):
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
        assert blocked == []
    finally:
        page.close()
        server.stop()
