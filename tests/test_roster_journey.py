"""The roster journey in a real headless Chromium at 1366×768, through the page only: from no posts to a
covered week, one shift removed after confirming, its gap shown — and nothing before now called a gap."""
import pytest

from conftest import CHROMIUM, HAVE_CHROMIUM, LiveServer

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"Chromium not found at {CHROMIUM}: scripts/test.sh installs it")

VOLUNTEERS = ("何智勇", "张青青", "晏小莉")


@pytest.fixture
def roster_page(cluster, browser):
    """The hub's roster page, signed in as a coordinator; the clock stands at 2020-02-03 11:20 in Xinyu."""
    server = LiveServer(cluster.hub.app)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    cluster.hub.sign_in(page, server.url, "coordinator", "/roster")
    page.hub = cluster.hub
    yield page
    page.close()
    server.stop()
    assert errors == [], errors


def _live(hub, table):
    t = hub.rt.catalog[table]
    return [dict(zip(t.field_names, r), id=i) for i, r in hub.table(table).items() if not r[-1]]


def test_roster_journey_from_no_posts_to_a_covered_week_and_a_removed_shift(roster_page):
    page = roster_page
    expect(page.locator(".empty")).to_contain_text("还没有岗位")

    page.fill("#addpost input[name=name]", "东门")
    page.select_option("#addpost select[name=node_id]", "east-gate")
    page.click("#addpost button[type=submit]")
    expect(page.locator("section.post h2")).to_contain_text("东门")
    for name in VOLUNTEERS:
        page.fill("#addvolunteer input[name=name]", name)
        page.click("#addvolunteer button[type=submit]")
        expect(page.locator("#status")).to_contain_text(name)
    expect(page.locator("form.fill label.check")).to_have_count(3)

    # Several volunteers chosen by clicking checkboxes, no Ctrl-click.
    for name in VOLUNTEERS:
        page.locator("form.fill label.check", has_text=name).click()
    page.select_option("form.fill select[name=shift_hours]", "5")
    page.click("form.fill button[type=submit]")
    expect(page.locator("#status")).to_contain_text("32")  # 00–05 and 05–10 were over at 11:20
    expect(page.locator("li.ok")).to_have_count(1)
    expect(page.locator(".timeline .gap")).to_have_count(0)
    expect(page.locator(".timeline .past")).to_have_count(1)
    expect(page.locator(".timeline .shift").first).to_contain_text(VOLUNTEERS[0])

    # Removing asks first: cancelled, nothing goes; confirmed, the shift goes and its gap shows.
    page.click("details.shifts summary")
    row = page.locator("tr[data-shift]", has=page.locator("td:first-child", has_text="02-03 15:00"))
    row.locator("button.remove").click()
    expect(page.locator("#confirmdlg")).to_be_visible()
    expect(page.locator("#confirmwhat")).to_contain_text("02-03 15:00")
    page.click("#confirmdlg button[value=cancel]")
    expect(page.locator("#confirmdlg")).to_be_hidden()
    assert len(_live(page.hub, "shifts")) == 32
    row.locator("button.remove").click()
    page.click("#confirmdlg button[value=remove]")
    expect(page.locator("#status")).to_contain_text("已删除")
    expect(page.locator("li.gap")).to_have_count(1)
    expect(page.locator("li.gap")).to_contain_text("02-03 15:00 – 02-03 20:00")
    expect(page.locator(".timeline .gap")).to_have_count(1)

    shifts = _live(page.hub, "shifts")
    assert len(shifts) == 31
    assert min(s["ends_at"] for s in shifts) > "2020-02-03T03:20:00"  # nothing planned in the past
    names = {v["id"]: v["name"] for v in _live(page.hub, "volunteers")}
    assert {names[s["volunteer_id"]] for s in shifts} == set(VOLUNTEERS)  # all three take turns


def test_roster_journey_a_post_and_a_volunteer_are_renamed_in_the_page(roster_page):
    page = roster_page
    page.fill("#addpost input[name=name]", "东门")
    page.click("#addpost button[type=submit]")
    expect(page.locator("section.post h2")).to_contain_text("东门")
    page.fill("#addvolunteer input[name=name]", "何智")
    page.click("#addvolunteer button[type=submit]")
    expect(page.locator("#status")).to_contain_text("何智")
    page.click("details.edit summary")
    post = page.locator("form.edit[data-table=posts]")
    post.locator("input[name=name]").fill("东门 (正门)")
    post.locator("select[name=node_id]").select_option("east-gate")
    post.locator("button[type=submit]").click()
    expect(page.locator("section.post h2")).to_contain_text("东门 (正门)")
    page.click("details.edit summary")
    vol = page.locator("form.edit[data-table=volunteers]")
    vol.locator("input[name=name]").fill("何智勇")
    vol.locator("input[name=organisation]").fill("区委宣传部")
    vol.locator("button[type=submit]").click()
    expect(page.locator(".setup .volunteers")).to_contain_text("何智勇")
    assert [(p["name"], p["node_id"]) for p in _live(page.hub, "posts")] == [("东门 (正门)", "east-gate")]
    assert [(v["name"], v["organisation"]) for v in _live(page.hub, "volunteers")] == [("何智勇", "区委宣传部")]
