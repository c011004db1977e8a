"""Spreadsheets: reading the property office's (.xlsx or .csv) into a header map and plain string rows, and
writing reports and exports safely (no cell a spreadsheet program would run as a formula)."""
import csv
import io
import pathlib
import re

# Header names seen in property offices' registers, per Menwei field (compared without spaces, lower case).
HEADERS = {
    "building": ["楼栋", "栋", "楼号", "栋号", "楼栋号", "幢", "幢号", "building"],
    "room": ["房号", "房间号", "室号", "门牌号", "门牌", "房屋", "room"],
    "address": ["住址", "房屋地址", "地址", "楼栋房号", "address"],
    "name": ["姓名", "居民姓名", "住户姓名", "name"],
    "phone": ["电话", "手机", "手机号", "手机号码", "联系电话", "联系方式", "phone", "mobile"],
    "id_number": ["身份证号", "身份证", "身份证号码", "证件号码", "证件号", "idnumber", "id"],
    "gender": ["性别", "gender", "sex"],
    "party_member": ["党员", "是否党员", "政治面貌", "party"],
    "notes": ["备注", "notes", "remark"],
}
FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF21 + i: 0x41 + i for i in range(26)} \
    | {0xFF41 + i: 0x61 + i for i in range(26)} | {0xFF0D: 0x2D, 0x3000: 0x20, 0xFF0F: 0x2F}


def clean(value):
    """Render a cell as a trimmed string with full-width digits and letters folded ('' for empty)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 13812345678.0 from a numeric cell
    return str(value).translate(FULLWIDTH).strip()


def _key(text):
    return re.sub(r"[\s:：*（）()]", "", text).lower()


def read_rows(path, sheet=None):
    """Return every row of the file as a list of cleaned strings (row numbers are list index + 1)."""
    path = pathlib.Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook
        wb = load_workbook(path, data_only=True)  # not read-only: merged header cells need their ranges
        ws = wb[sheet] if sheet else wb.worksheets[0]
        for rng in list(ws.merged_cells.ranges):  # give every cell of a merged range its value
            value = ws.cell(rng.min_row, rng.min_col).value
            ws.unmerge_cells(str(rng))
            for row in ws.iter_rows(min_row=rng.min_row, max_row=rng.max_row, min_col=rng.min_col,
                                    max_col=rng.max_col):
                for cell in row:
                    cell.value = value
        return [[clean(v) for v in row] for row in ws.iter_rows(values_only=True)]
    if path.suffix.lower() == ".csv":
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("the CSV file is neither UTF-8 nor GB18030 text")
        return [[clean(v) for v in row] for row in csv.reader(io.StringIO(text))]
    raise ValueError(f"cannot read {path.suffix or 'this'} files: use .xlsx or .csv")


def find_header(rows, mapping=None, scan=10):
    """Find the header row (or two stacked header rows) and return (index of last header row, {col: field})."""
    lookup = {_key(name): field for field, names in HEADERS.items() for name in names}
    lookup.update({_key(k): v for k, v in (mapping or {}).items()})
    best, best_cols = None, {}
    for i, row in enumerate(rows[:scan]):
        cols = {j: lookup[_key(c)] for j, c in enumerate(row) if c and _key(c) in lookup}
        if len(cols) > len(best_cols):
            best, best_cols = i, cols
    if best is None or "name" not in best_cols.values():
        raise ValueError("no header row with a name column (姓名) in the first rows; map columns with --map")
    last = best
    if best + 1 < len(rows):  # a second header row under merged cells, e.g. 住址 over 楼栋 | 房号
        below = {j: lookup[_key(c)] for j, c in enumerate(rows[best + 1]) if c and _key(c) in lookup}
        if below and len(below) >= len([c for c in rows[best + 1] if c]) / 2:
            for j, f in below.items():
                best_cols[j] = f
            last = best + 1
    return last, best_cols


#: A text cell starting with one of these is a formula (or DDE call) to Excel and LibreOffice when opened
#: from a CSV file: such cells get a leading apostrophe (OWASP's advice), shown but never evaluated.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_CHARS = 32_767  # the most one .xlsx cell holds


def csv_safe(value):
    """A value ready for a CSV cell: text that could start a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def xlsx_cell(ws, value, bold=False):
    """A write-only cell for ``ws``: text always stored as text (never a formula), trimmed to what a cell holds."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_MAX_CHARS]
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store "=…" as a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def write_xlsx(sheets, out):
    """Write [(title, header, rows)] as one .xlsx workbook to the binary file ``out`` (rows may be a generator)."""
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title[:31])  # Excel's limit on sheet names
        if header:
            ws.append([xlsx_cell(ws, h, bold=True) for h in header])
        for row in rows:
            ws.append([xlsx_cell(ws, v) for v in row])
    wb.save(out)
