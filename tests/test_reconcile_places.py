"""Gates are named in words (东门), not by node id (east-gate), wherever a page shows one: the desk's fever
banner, the dashboard's per-gate table and gate filter, reconciliation's nodes and violations (place_name)."""
import re

import pytest

from conftest import CHROMIUM, HAVE_CHROMIUM, LiveServer
from test_reconcile import outage  # noqa: F401  (the fixture: two gates offline while rules are broken)

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"Chromium not found at {CHROMIUM}: scripts/test.sh installs it")
NODE_ID = re.compile(r"east-gate|building-20")


def _name_the_posts(g):
    g.hub_row("posts", name="东门", kind="gate", node_id="east-gate")
    g.hub_row("posts", name="20栋门", kind="building_door", node_id="building-20", building_id=g.b20)
    g.cluster.sync_all()


def test_the_fever_banner_at_the_desk_names_the_gate(gate, browser):
    _name_the_posts(gate)
    gate.check(resident_id=gate.li, direction="out", temperature=38.6)
    server = LiveServer(gate.east.app)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    try:
        gate.east.sign_in(page, server.url, "operator")
        expect(page.locator("#alerts .alert")).to_contain_text("李四 · 20-1702 · 38.6 °C · 东门")
        assert not NODE_ID.search(page.inner_text("#alerts"))
    finally:
        page.close()
        server.stop()
    (incident,) = gate.east.api("GET", "/rows/incidents").get_json()["rows"]
    assert "at 东门" in incident["title"]


def test_the_dashboard_and_reconciliation_name_the_gates(outage, browser):  # noqa: F811
    g = outage
    _name_the_posts(g)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    try:
        g.hub.sign_in(page, g.cluster.server.url, "coordinator", "/")  # today at the hub: the outage's day
        expect(page.locator("#per-gate tr[data-gate=east-gate] td").first).to_have_text("东门")
        expect(page.locator("#per-gate tr[data-gate=building-20] td").first).to_have_text("20栋门")
        assert page.locator("select[name=gate] option").all_inner_texts() == ["全部 all", "20栋门", "东门"]
        expect(page.locator("#nodes tr[data-node=east-gate] td").first).to_have_text("东门")
        assert not NODE_ID.search(page.inner_text("#per-gate") + page.inner_text("#nodes"))
        page.goto(g.cluster.server.url + "/reconcile")
        expect(page.locator("#nodes tr[data-node=east-gate] a")).to_have_text("东门")
        assert sorted(page.locator("select[name=node] option").all_inner_texts()[1:]) == ["20栋门", "东门"]
        expect(page.locator("#violations tr[data-kind=out_twice]")).to_contain_text("20栋门")
        expect(page.locator("#violations tr[data-kind=duplicate_room] button.merge").first).to_contain_text("东门")
        assert not NODE_ID.search(page.inner_text("#nodes") + page.inner_text("#violations"))
    finally:
        page.close()
