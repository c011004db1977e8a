"""The pass sheet as it comes out of a printer: every QR code decodes to its pass, rooms in door order."""
import pytest

from conftest import CHROMIUM, HAVE_CHROMIUM, LiveServer

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"Chromium not found at {CHROMIUM}: scripts/test.sh installs it")
zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp decodes the printed QR codes: pip install -e '.[test]'")
pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 renders the printed PDF: pip install -e '.[test]'")


def test_the_printed_pass_sheet_decodes_to_every_pass_in_door_order(gate, browser, tmp_path):
    for room in ("1001", "101", "102", "902"):  # 20-1702 is there already
        gate.hub_row("households", building_id=gate.b20, room=room, label=f"20-{room}")
    issued = gate.hub.api("POST", "/gate/passes/batch", json={"building_id": gate.b20}).get_json()["issued"]
    codes = {p["household_id"]: p["code"] for p in issued}
    labels = {r[0]: r[1][gate.hub.rt.catalog["households"].field_names.index("label")]
              for r in gate.hub.table("households").items()}
    expected = [codes[h] for h in sorted(codes, key=lambda h: [int(x) for x in labels[h].split("-")])]
    assert [labels[h] for h in sorted(codes, key=lambda h: expected.index(codes[h]))] == \
        ["20-101", "20-102", "20-902", "20-1001", "20-1702"]

    server = LiveServer(gate.hub.app)
    page = browser.new_page()
    try:
        gate.hub.sign_in(page, server.url, "coordinator", f"/passes/print?building_id={gate.b20}")
        assert page.locator(".card .compound").first.inner_text() == "绿景水岸小区"
        pdf = tmp_path / "passes.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
    finally:
        page.close()
        server.stop()

    found = []  # (page, top, left, text) of every QR code on the printed sheet
    doc = pdfium.PdfDocument(str(pdf))
    for n in range(len(doc)):
        image = doc[n].render(scale=200 / 72).to_pil()  # 200 dpi, as a phone camera or scanner sees it
        for code in zxingcpp.read_barcodes(image):
            pos = code.position
            found.append((n, round(pos.top_left.y / 50), pos.top_left.x, code.text))
            width_mm = (pos.top_right.x - pos.top_left.x) / 200 * 25.4
            assert width_mm >= 25, f"{code.text}: a QR code {width_mm:.0f} mm wide is hard to scan at the gate"
    assert [text for *_, text in sorted(found)] == [f"MENWEI:{c}" for c in expected]
