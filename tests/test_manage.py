"""The coordinator's management page: nodes, control rules, passes and accounts, in a real browser."""
from openpyxl import Workbook

from conftest import LiveServer


def test_browser_register_and_revoke_a_node_publish_a_rule_issue_passes_and_add_an_account(gate, browser, tmp_path):
    hub = gate.hub
    page = browser.new_page()
    try:
        hub.sign_in(page, gate.cluster.server.url, "coordinator", "/manage")
        page.wait_for_selector("#nodes tr[data-node=east-gate]")
        # Upload the property office's register: a new household in building 20.
        wb = Workbook()
        wb.active.append(["楼栋", "房号", "姓名", "电话"])
        wb.active.append(["20", "901", "孙七", "13900001111"])
        wb.save(tmp_path / "register.xlsx")
        page.set_input_files("#import-register input[name=file]", str(tmp_path / "register.xlsx"))
        page.click("#import-register button[type=submit]")
        page.wait_for_selector("#status:has-text('新增 1 created')")
        assert [r["name"] for r in hub.api("GET", "/rows/residents", query_string={"name": "孙七"}).get_json()["rows"]] \
            == ["孙七"]
        # Register a new gate laptop: the page shows its one-time enrolment code.
        page.fill("#add-node input[name=id]", "north-gate")
        page.fill("#add-node input[name=label]", "北门")
        page.click("#add-node button[type=submit]")
        page.wait_for_selector("#enrol-code:has-text('menwei node enroll')")
        code = page.inner_text("#enrol-code").split("--code ")[1].strip()
        assert hub.rt.registry.enroll(code, "north-gate") is not None  # the code shown works
        page.wait_for_selector("#nodes tr[data-node=north-gate]")
        page.on("dialog", lambda d: d.accept())
        page.click("#nodes tr[data-node=north-gate] button.revoke")
        page.wait_for_selector("#nodes tr[data-node=north-gate]:has-text('revoked')")
        assert hub.rt.registry.get("north-gate")["revoked"]
        # Publish a rule for building 20: closed, outings counted over three days; the preview names
        # exactly what changes, and the row states only that (the quota of one is inherited).
        page.select_option("#add-rule select[name=building_id]", gate.b20)
        page.wait_for_selector("#rule-in-force:has-text('开放 open')")
        page.select_option("#add-rule select[name=level]", "closed")
        page.fill("#add-rule input[name=outing_days]", "3")
        page.click("#add-rule button[type=submit]")
        page.wait_for_selector("#rule-preview:not([hidden])")
        assert page.inner_text("#rule-changes").splitlines() == ["级别 level: 开放 open → 封闭 closed",
                                                                 "天数 days: 2 → 3"]
        page.click("#publish-rule")
        page.wait_for_selector("#rules td:has-text('3 天 days')")
        rules = hub.api("GET", "/rows/control_rules", query_string={"building_id": gate.b20}).get_json()["rows"]
        assert [(r["level"], r["outing_quota"], r["outing_days"]) for r in rules] == [("closed", None, 3)]
        page.wait_for_selector("#rule-in-force:has-text('每户 1 次 / 3 天')")
        assert "封闭 closed" in page.inner_text("#rule-in-force")
        # Issue an outing pass to every household of building 20, then open the print sheet.
        page.select_option("#batch-passes select[name=building_id]", gate.b20)
        page.click("#batch-passes button[type=submit]")
        page.wait_for_selector("#print-link:not([hidden])")
        assert "issued 2" in page.inner_text("#status")  # 1702 and the household just imported
        passes = hub.api("GET", "/rows/passes", query_string={"household_id": gate.h1702}).get_json()["rows"]
        assert len(passes) == 1
        # Revoke it by its code, with a reason.
        page.fill("#revoke-pass input[name=code]", passes[0]["code"].lower())
        page.fill("#revoke-pass input[name=reason]", "遗失 lost")
        page.click("#revoke-pass button[type=submit]")
        page.wait_for_selector("#status:has-text('revoked')")
        assert hub.api("GET", f"/rows/passes/{passes[0]['id']}").get_json()["revoked"] is True
        # A new gate operator account, which then signs in at the east gate after a sync.
        page.fill("#add-account input[name=username]", "zhou")
        page.fill("#add-account input[name=display_name]", "周阿姨")
        page.select_option("#add-account select[name=role]", "operator")
        page.fill("#add-account input[name=password]", "门卫-zhou-2020")
        page.click("#add-account button[type=submit]")
        page.wait_for_selector("#accounts tr[data-username=zhou]")
        gate.sync()
        r = gate.east.app.test_client().post("/api/v1/auth/login", json={"username": "zhou", "password": "门卫-zhou-2020"})
        assert r.status_code == 200
    finally:
        page.close()


def test_management_page_at_a_node_has_no_node_registry(gate, browser):
    server = LiveServer(gate.east.app)
    page = browser.new_page()
    try:
        gate.east.sign_in(page, server.url, "coordinator", "/manage")
        page.wait_for_selector("#rules")
        assert page.locator("#nodes").count() == 0
    finally:
        page.close()
        server.stop()
