"""The hub's console in a real headless Chromium (Debian's, driven by Playwright): sign-in, dashboard, daily report."""
import pytest
from openpyxl import load_workbook

from conftest import CHROMIUM, HAVE_CHROMIUM, PASSWORD, LiveServer

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"Chromium not found at {CHROMIUM}: scripts/test.sh installs it")


@pytest.fixture
def console(gate, browser):
    """The hub served over HTTP after a morning at east gate, and a fresh browser page that records what it fetches."""
    gate.check(resident_id=gate.zhang, direction="out")
    gate.check(resident_id=gate.wang, direction="out")
    gate.cluster.base.advance(3_600_000)
    gate.check(resident_id=gate.wang, direction="in")
    gate.check(resident_id=gate.li, direction="out", temperature=38.5)  # a fever: refused
    gate.check(visitor={"name": "快递员", "reason": "送货"}, direction="in")
    gate.sync()
    server = LiveServer(gate.hub.app)
    page = browser.new_page(accept_downloads=True)
    outside = []
    page.on("request", lambda req: None if req.url.startswith(server.url) else outside.append(req.url))
    page.gate, page.url_base = gate, server.url
    yield page
    page.close()
    server.stop()
    assert outside == [], f"the console fetched from outside the hub: {outside}"


def _tile(page, key):
    return page.inner_text(f"#totals [data-key={key}] .v")


def test_a_wrong_password_is_shown_and_the_right_one_lands_on_the_dashboard(console):
    hub = console.gate.hub
    assert hub.api("POST", "/accounts", json={"username": "lin", "password": PASSWORD, "role": "coordinator"}).status_code == 201
    console.goto(console.url_base + "/")
    console.wait_for_url("**/login?next=/")
    console.fill("#username", "lin")
    console.fill("#password", "not-the-password")
    console.click("button[type=submit]")
    expect(console.locator("[role=alert]")).to_contain_text("wrong username or password")
    console.fill("#username", "lin")
    console.fill("#password", PASSWORD)
    console.click("button[type=submit]")
    console.wait_for_url(console.url_base + "/")
    expect(console.locator("h1")).to_contain_text("看板 Dashboard")
    expect(console.locator(".account-bar")).to_contain_text("lin")
    expect(console.locator("nav.menwei-nav a[aria-current=page]")).to_have_text("看板 Dashboard")


def test_the_dashboard_shows_the_figures_of_the_crossings(console):
    console.gate.hub.sign_in(console, console.url_base, "viewer")
    assert (_tile(console, "out"), _tile(console, "in"), _tile(console, "denied")) == ("2", "2", "1")
    assert (_tile(console, "fevers"), _tile(console, "visitors"), _tile(console, "currently_out")) == ("1", "1", "1")
    expect(console.locator("#totals [data-key=fevers]")).to_have_class("tile alarm")
    east = console.locator("#per-gate tr[data-gate=east-gate]")
    expect(east.locator("[data-key=out]")).to_have_text("2")
    expect(console.locator(f"#per-building tr[data-building='{console.gate.b20}'] [data-key=fevers]")).to_have_text("1")
    expect(console.locator("#reasons tr[data-reason=fever]")).to_contain_text("1")
    assert console.locator("svg.chart").count() == 3
    assert console.locator("#chart-temperatures svg rect").count() >= 2  # 36.5 °C and 38.5 °C
    # Choosing building 1 narrows the figures to its household's crossings: 王五 out and back in, no fever.
    console.select_option("#filters select[name=building_id]", console.gate.b1)
    console.click("#filters button[type=submit]")
    console.wait_for_url(f"**building_id={console.gate.b1}**")
    assert (_tile(console, "out"), _tile(console, "in"), _tile(console, "fevers")) == ("1", "1", "0")


def test_download_the_daily_report_and_open_it(console, tmp_path):
    console.gate.hub.sign_in(console, console.url_base, "coordinator")
    console.click("text=日报 Daily report 2020-02-03")
    console.wait_for_url("**/reports/daily?**")
    expect(console.locator("h1")).to_contain_text("2020-02-03")
    with console.expect_download() as download:
        console.click("#xlsx")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "menwei-daily-2020-02-03.xlsx"
    wb = load_workbook(path)
    summary = {row[0]: row[1] for row in wb.worksheets[0].iter_rows(values_only=True) if row and row[0]}
    assert (summary["出门 People out"], summary["进门 People in"], summary["发热 Fevers"]) == (2, 2, 1)
    assert summary["外来人员 Non-residents"] == 1 and summary["发热 fever"] == 1
    gates = list(wb["门岗 Gates"].iter_rows(values_only=True))
    assert [g[:3] for g in gates if g[0] == "east-gate"] == [("east-gate", 2, 2)]
