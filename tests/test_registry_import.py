"""Importing the property office's register: messy sheets, re-imports, and newer edits left alone."""
import csv

import pytest
from openpyxl import Workbook

from menwei.cli import main
from menwei.demo.data import id_check_digit



def _id(first17):
    return first17 + id_check_digit(first17)


ZHANG, LI, WANG = _id("36050219800101123"), _id("36050219850505222"), _id("36050219900909333")


def _xlsx(path, rows, merged=()):
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for rng in merged:
        ws.merge_cells(rng)
    wb.save(path)
    return str(path)


def _csv(path, rows, encoding="utf-8-sig"):
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


@pytest.fixture
def hub_dir(tmp_path, runner):
    d = str(tmp_path / "hub")
    runner.invoke(main, ["hub", "init", "--data-dir", d])
    from hub.cli import hub_app
    app = hub_app(d)
    app.config["ADMIN_TOKEN"] = "t"
    r = app.test_client().post("/api/v1/rows/compounds", json={"name": "绿景水岸小区"},
                               headers={"Authorization": "Bearer t"})
    assert r.status_code == 201
    return d


def _import(runner, hub_dir, path, *extra):
    return runner.invoke(main, ["hub", "import-residents", path, "--compound", "绿景水岸小区", "--data-dir", hub_dir,
                                *extra])


def _residents(hub_dir):
    from hub.cli import hub_app
    app = hub_app(hub_dir)
    rt = app.extensions["menwei"]
    with rt.store.read() as tx:
        rows = tx.rows("SELECT r.name, h.label, r.phone, r.id_number, r.party_member, r.id FROM residents r "
                       "JOIN households h ON h.id = r.household_id ORDER BY h.label, r.name")
    return rows


def test_messy_xlsx_with_title_merged_headers_blank_rows_and_full_width_digits(runner, hub_dir, tmp_path):
    path = _xlsx(tmp_path / "登记表.xlsx", [
        ["绿景水岸小区住户登记表", None, None, None, None, None],
        ["住址", None, "姓名", "联系电话", "身份证号码", "政治面貌"],
        ["楼栋", "房号", None, None, None, None],
        ["２０栋", "１７０２室", "张三", "138 1234 5678", ZHANG, "中共党员"],
        [None, None, None, None, None, None],
        ["20", "1702", "李四", "13900000000", LI, "群众"],
        ["1", "101", "王五", "", WANG, ""],
        ["", "", "", "", "", ""],
    ], merged=["A1:F1", "A2:B2", "C2:C3", "D2:D3", "E2:E3", "F2:F3"])
    result = _import(runner, hub_dir, path)
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 residents created" in result.output and "2 blank rows skipped" in result.output
    assert "2 households and 2 buildings created" in result.output
    rows = _residents(hub_dir)
    assert [(r[0], r[1], r[2], bool(r[4])) for r in rows] == [
        ("王五", "1-101", None, False), ("张三", "20-1702", "13812345678", True), ("李四", "20-1702", "13900000000", False)]


def test_bad_rows_are_refused_with_row_numbers_and_reasons_and_the_rest_imported(runner, hub_dir, tmp_path):
    path = _csv(tmp_path / "r.csv", [
        ["楼栋", "房号", "姓名", "电话", "身份证号"],
        ["20", "1702", "张三", "13812345678", ZHANG],
        ["20", "1702", "", "13812345678", ""],
        ["20", "", "李四", "", ""],
        ["20", "1703", "赵六", "", "360502198001011230"],
        ["20", "1704", "钱七", "", ZHANG],
    ])
    result = _import(runner, hub_dir, path)
    assert result.exit_code == 0, result.output
    assert "5 rows: 1 residents created" in result.output and "4 refused" in result.output
    assert "row 3 refused: no name" in result.output
    assert "row 4 refused: no building and room" in result.output
    assert "row 5 refused: ID number is not a valid" in result.output
    assert "row 6 refused: same ID number as row 2" in result.output


def test_duplicate_rooms_written_differently_make_one_household(runner, hub_dir, tmp_path):
    path = _csv(tmp_path / "r.csv", [["住址", "姓名"], ["20-1702", "张三"], ["20栋1702室", "李四"],
                                      ["20 - 1702", "王五"]])
    result = _import(runner, hub_dir, path)
    assert "3 residents created" in result.output and "1 households" in result.output, result.output
    assert {r[1] for r in _residents(hub_dir)} == {"20-1702"}


def test_gb18030_csv_and_mapped_header(runner, hub_dir, tmp_path):
    path = _csv(tmp_path / "gbk.csv", [["楼栋", "房号", "户主"], ["20", "1702", "张三"]], encoding="gb18030")
    assert "no header row" in _import(runner, hub_dir, path).output
    result = _import(runner, hub_dir, path, "--map", "户主=name")
    assert result.exit_code == 0 and "1 residents created" in result.output


def test_reimport_updates_instead_of_duplicating_and_keeps_newer_edits(runner, hub_dir, tmp_path):
    rows = [["楼栋", "房号", "姓名", "电话", "身份证号", "备注"],
            ["20", "1702", "张三", "13800000001", ZHANG, "户主"],
            ["20", "1702", "李四", "13800000002", LI, ""]]
    path = _csv(tmp_path / "v1.csv", rows)
    assert "2 residents created" in _import(runner, hub_dir, path).output
    zhang_id = next(r[5] for r in _residents(hub_dir) if r[0] == "张三")
    from hub.cli import hub_app
    app = hub_app(hub_dir)
    app.config["ADMIN_TOKEN"] = "t"
    edit = app.test_client().patch(f"/api/v1/rows/residents/{zhang_id}", json={"phone": "13999999999"},
                                   headers={"Authorization": "Bearer t"})
    assert edit.status_code == 200  # a volunteer corrected 张三's phone in Menwei
    rows[1][3], rows[1][5] = "13800000009", "户主, 已返乡"  # the office's new sheet changes phone and notes
    rows[2][3] = "13800000003"
    again = _import(runner, hub_dir, _csv(tmp_path / "v2.csv", rows))
    assert again.exit_code == 0, again.output
    assert "0 residents created, 2 updated" in again.output
    assert "kept the newer phone of 张三 edited in Menwei" in again.output
    by_name = {r[0]: r for r in _residents(hub_dir)}
    assert len(by_name) == 2
    assert by_name["张三"][2] == "13999999999" and by_name["李四"][2] == "13800000003"
    third = _import(runner, hub_dir, _csv(tmp_path / "v3.csv", rows))
    assert "0 residents created, 0 updated, 2 unchanged" in third.output


@pytest.mark.parametrize("name, content, message", [
    ("r.txt", b"hello", "use .xlsx or .csv"),
    ("r.csv", "楼栋,房号\n20,1702\n".encode(), "no header row"),
])
def test_unreadable_register_exits_non_zero_with_a_message(runner, hub_dir, tmp_path, name, content, message):
    p = tmp_path / name
    p.write_bytes(content)
    result = _import(runner, hub_dir, str(p))
    assert result.exit_code != 0 and message in result.output


def test_bad_map_option_is_refused(runner, hub_dir, tmp_path):
    p = _csv(tmp_path / "r.csv", [["姓名"], ["张三"]])
    result = _import(runner, hub_dir, p, "--map", "户主=shoe_size")
    assert result.exit_code != 0 and "HEADER=FIELD" in result.output


def test_imported_rows_are_masked_in_the_api(runner, hub_dir, tmp_path):
    _import(runner, hub_dir, _csv(tmp_path / "r.csv", [["楼栋", "房号", "姓名", "身份证号"], ["20", "1702", "张三", ZHANG]]))
    from hub.cli import hub_app
    app = hub_app(hub_dir)
    app.config["ADMIN_TOKEN"] = "t"
    rows = app.test_client().get("/api/v1/rows/residents", headers={"Authorization": "Bearer t"}).get_json()["rows"]
    assert rows[0]["id_number"] == ZHANG[:4] + "*" * 10 + ZHANG[-4:]




def test_register_uploaded_over_http_is_imported_and_bad_files_are_refused(app, tmp_path):
    client = app.test_client()
    auth = {"Authorization": "Bearer test-coordinator-token"}
    client.post("/api/v1/rows/compounds", json={"name": "绿景水岸小区"}, headers=auth)
    path = _xlsx(tmp_path / "reg.xlsx", [["楼栋", "房号", "姓名", "电话", "身份证号"],
                                         ["20", "1702", "张三", "13812345678", ZHANG],
                                         ["20", "1702", "李四", "", "123"]])
    with open(path, "rb") as fh:
        r = client.post("/api/v1/registry/import", headers=auth, data={"file": (fh, "登记表.xlsx")})
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert (report["rows"], report["created"], len(report["refused"])) == (2, 1, 1)
    rows = client.get("/api/v1/rows/residents", headers=auth).get_json()["rows"]
    assert [x["name"] for x in rows] == ["张三"] and rows[0]["id_number"] != ZHANG  # shown masked
    r = client.post("/api/v1/registry/import", headers=auth, data={"file": (open(path, "rb"), "reg.pdf")})
    assert r.status_code == 400 and "file" in r.get_json()["fields"]
    r = client.post("/api/v1/registry/import", headers=auth, data={})
    assert r.status_code == 400 and "file" in r.get_json()["fields"]
