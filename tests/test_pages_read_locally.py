"""Pages a coordinator reads: times in the compound's local time, never UTC; chart labels large enough to read."""
import pytest

from conftest import CHROMIUM, HAVE_CHROMIUM, LiveServer


@pytest.fixture
def synced(gate):
    """East gate's morning, synced: the cluster's clock stands at 2020-02-03 03:20 UTC, 11:20 in Xinyu."""
    gate.check(resident_id=gate.zhang, direction="out")
    gate.check(resident_id=gate.li, direction="out", temperature=38.5)
    gate.sync()
    return gate


@pytest.mark.parametrize("path, local", [
    ("/", "02-03 11:20"),                                   # "out now" as of
    ("/", "2020-02-03 11:20"),                              # each node's last sync
    ("/reports/daily?date=2020-02-03", "2020-02-03 11:20"),
    ("/audit", "2020-02-03 11:20"),
])
def test_pages_show_times_in_the_compounds_local_time(synced, path, local):
    r = synced.hub.http.get(path)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and local in html
    assert "UTC" not in html and "2020-02-03 03:20" not in html


@pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"Chromium not found at {CHROMIUM}: scripts/test.sh installs it")
def test_chart_labels_read_at_least_12_pixels_high_on_a_desk_screen(synced, browser):
    server = LiveServer(synced.hub.app)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    try:
        synced.hub.sign_in(page, server.url, "viewer")
        heights = page.eval_on_selector_all(
            "svg.chart text", "ts => ts.map(t => t.getBoundingClientRect().height).filter(h => h > 0)")
        assert len(heights) > 10 and min(heights) >= 12, heights
        cut = page.eval_on_selector_all("svg.chart", "svgs => svgs.flatMap(s => [...s.querySelectorAll('text')]"
                                        ".filter(t => t.getBoundingClientRect().left < s.getBoundingClientRect().left - 1)"
                                        ".map(t => t.textContent))")
        assert cut == []  # no label starts left of its chart
    finally:
        page.close()
        server.stop()


def test_the_audit_names_referenced_rows_and_shows_stored_times_locally(synced):
    synced.hub_row("passes", kind="outing", code="PASS88", household_id=synced.h1702,
                   valid_until="2020-02-06T16:00:00.000Z")
    html = synced.hub.http.get("/audit?table=passes").get_data(as_text=True)
    assert 'household_id=<span class="value">20-1702</span>' in html
    assert synced.h1702 not in html  # the household's id is shown as its room
    assert "2020-02-07 00:00" in html and "2020-02-06T16:00" not in html


def test_the_audit_says_where_the_person_behind_a_nodes_change_is_recorded(synced):
    html = synced.hub.http.get("/audit?table=incidents").get_data(as_text=True)  # the fever, opened at the gate
    assert "recorded at east-gate" in html and ">?<" not in html


def test_the_audit_names_the_compound_and_says_when_no_one_was_signed_in(synced):
    with synced.hub.app.app_context():  # a command at the hub, as `menwei hub import-residents` writes
        synced.hub.replica.write([("buildings", "b-cli", {"compound_id": synced.cluster.compound_id, "number": "7"})],
                                 create=True)
    html = synced.hub.http.get("/audit?table=buildings").get_data(as_text=True)
    assert 'compound_id=<span class="value">绿景水岸小区</span>' in html
    assert "no one signed in (a command or an import)" in html
