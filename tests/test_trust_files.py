"""Files in and out as an attacker sends them: download names, broken and amplifying workbooks (findings 5, 9)."""
import io
import resource
import time
import zipfile

import pytest
from openpyxl import Workbook
from werkzeug.http import parse_options_header

from menwei.demo.data import id_check_digit

AUTH = {"Authorization": "Bearer test-coordinator-token"}
ZHANG = "36050219800101123" + id_check_digit("36050219800101123")


@pytest.fixture
def hub(app):
    """The hub's test client with one compound."""
    client = app.test_client()
    client.post("/api/v1/rows/compounds", json={"name": "绿景水岸小区"}, headers=AUTH)
    return client


def _register(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _with_merge(xlsx, ref):
    """The workbook with one <mergeCell ref=…> added to its first sheet, as a hand-made file would have."""
    src, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/>'
                                    '</mergeCells>'.encode())
            dst.writestr(item, data)
    return out.getvalue()


def _import(client, data, name="登记表.xlsx"):
    return client.post("/api/v1/registry/import", headers=AUTH, data={"file": (io.BytesIO(data), name)})


@pytest.mark.parametrize("compound_id", ["名", 'a";x=', "a\\b", "%0d%0aX: y"])
def test_an_export_names_its_file_whatever_the_compound_id_says(hub, compound_id):
    r = hub.get("/api/v1/export/residents.csv", query_string={"compound_id": compound_id}, headers=AUTH)
    assert r.status_code == 200
    header = r.headers["Content-Disposition"]
    kind, params = parse_options_header(header)
    assert kind == "attachment" and set(params) == {"filename"} and params["filename"].endswith(".csv")
    fallback = header.split(";")[1].strip()
    assert fallback.startswith('filename="menwei-residents-') and fallback.count('"') == 2 and fallback.isascii()
    assert "filename*=UTF-8''" in header and "\n" not in header


@pytest.mark.parametrize("data,name", [(b"PK\x03\x04 not really a zip", "登记表.xlsx"), (b"hello", "reg.xlsx"),
                                       (b"", "empty.xlsx")])
def test_a_broken_workbook_is_a_400_naming_the_file(hub, data, name):
    r = _import(hub, data, name)
    assert r.status_code == 400, r.get_data()[:300]
    assert name in r.get_json()["error"] and name in r.get_json()["fields"]["file"]


def test_a_workbook_zip_without_a_sheet_is_a_400(hub):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    assert _import(hub, buf.getvalue()).status_code == 400


def test_a_small_workbook_claiming_a_huge_merged_area_imports_in_seconds(hub):
    data = _with_merge(_register([["楼栋", "房号", "姓名", "身份证号"], ["20", "1702", "张三", ZHANG],
                                  ["20", "1703", "李四", ""]]), "A3:T100002")
    assert len(data) < 10_000
    before, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    r = _import(hub, data)
    took, grew_mb = time.monotonic() - t0, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.status_code in (200, 400), r.get_json()
    assert took < 3 and grew_mb < 50, (took, grew_mb)


def test_merged_cells_still_fill_their_range(hub):
    data = _with_merge(_register([["楼栋", "房号", "姓名", "身份证号"], ["20", "1702", "张三", ZHANG],
                                  [None, "1703", "李四", ""]]), "A2:A3")
    r = _import(hub, data)
    assert r.status_code == 200 and r.get_json()["created"] == 2, r.get_json()
    labels = {x["label"] for x in hub.get("/api/v1/rows/households", headers=AUTH).get_json()["rows"]}
    assert labels == {"20-1702", "20-1703"}


def test_a_register_with_more_rows_than_an_import_takes_is_refused_whole(hub):
    from menwei.store.spreadsheets import MAX_ROWS
    text = "楼栋,房号,姓名\n" + "".join(f"1,{i},名{i}\n" for i in range(MAX_ROWS + 5))
    r = _import(hub, text.encode(), "big.csv")
    assert r.status_code == 400 and "rows" in r.get_json()["error"]
    assert hub.get("/api/v1/rows/residents", headers=AUTH).get_json()["rows"] == []
