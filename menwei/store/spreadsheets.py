"""Spreadsheets: reading the property office's (.xlsx or .csv) into a header map and plain string rows, and
writing reports and exports safely (no cell a spreadsheet program would run as a formula)."""
import csv
import io
import pathlib
import re
from urllib.parse import quote

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


#: Bounds on one register read, so that any upload within the size limit is read in seconds and bounded
#: memory whatever it claims (a 5 kB workbook may declare a merged area of two million cells).
MAX_ROWS = 20_000  # four times the ~4,500 residents of a large compound
MAX_COLS = 60
MAX_UNZIPPED = 64 * 1024 * 1024  # bytes a workbook may unpack to


def read_rows(path, sheet=None):
    """Return every row of the file as a list of cleaned strings (row numbers are list index + 1).

    Raises ValueError saying what is wrong with a file that is not a readable register.
    """
    path = pathlib.Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
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
        rows = []
        for row in csv.reader(io.StringIO(text)):
            if len(rows) == MAX_ROWS:
                raise ValueError(f"it has more than {MAX_ROWS:,} rows: split it into several files")
            rows.append([clean(v) for v in row[:MAX_COLS]])
        return rows
    raise ValueError(f"cannot read {path.suffix or 'this'} files: use .xlsx or .csv")


def _read_xlsx(path, sheet):
    """Rows of a workbook's sheet, streamed and bounded, each merged range's value copied into its cells."""
    import zipfile
    from openpyxl import load_workbook
    try:
        with zipfile.ZipFile(path) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED:
                raise ValueError(f"the workbook unpacks to more than {MAX_UNZIPPED >> 20} MB")
    except zipfile.BadZipFile:
        raise ValueError("it is not an .xlsx workbook (not a zip file): save it again as .xlsx") from None
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged workbook: all mean the same here
        raise ValueError(f"it is not a readable .xlsx workbook ({type(e).__name__})") from None
    try:
        if sheet and sheet not in wb.sheetnames:
            raise ValueError(f"it has no sheet {sheet!r}")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = []
        for row in ws.iter_rows(max_row=MAX_ROWS + 1, max_col=MAX_COLS, values_only=True):
            if len(rows) == MAX_ROWS:
                raise ValueError(f"it has more than {MAX_ROWS:,} rows: split it into several files")
            rows.append([clean(v) for v in row])
        merged = _merged_ranges(path, ws._worksheet_path)
    finally:
        wb.close()
    budget = MAX_ROWS * MAX_COLS  # cells merged ranges may fill, all ranges together
    for min_col, min_row, max_col, max_row in merged:
        if min_row > len(rows) or min_col > MAX_COLS:
            continue
        first = rows[min_row - 1]
        value = first[min_col - 1] if min_col <= len(first) else ""
        for r in range(min_row, min(max_row, len(rows)) + 1):
            row, last = rows[r - 1], min(max_col, MAX_COLS)
            budget -= last - min_col + 1
            if budget < 0:
                raise ValueError("its merged cells cover more than a register can hold")
            if len(row) < last:
                row.extend([""] * (last - len(row)))
            row[min_col - 1:last] = [value] * (last - min_col + 1)
    return rows


def _merged_ranges(path, sheet_path):
    """The merged ranges of a sheet as (min_col, min_row, max_col, max_row), read from its XML as a stream."""
    import zipfile
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.xml.functions import iterparse  # defused XML where defusedxml is installed
    out = []
    try:
        with zipfile.ZipFile(path) as z, z.open(sheet_path) as fh:
            sheet_data = None
            for event, el in iterparse(fh, events=("start", "end")):
                if event == "start":
                    if el.tag.endswith("}sheetData"):
                        sheet_data = el
                elif el.tag.endswith("}row") and sheet_data is not None:
                    sheet_data.remove(el)  # each row dropped once read: memory stays flat however long the sheet
                elif el.tag.endswith("}mergeCell") and el.get("ref"):
                    try:
                        bounds = range_boundaries(el.get("ref"))
                    except (ValueError, TypeError):
                        continue
                    if None not in bounds:
                        out.append(bounds)
    except (KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f"it is not a readable .xlsx workbook ({type(e).__name__})") from None
    return out


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


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(filename):
    """A Content-Disposition value for a download (RFC 6266): a plain ASCII name, and the real one as filename*.

    The name may hold what someone typed (a compound id, a date): percent-encoded, it can neither break
    the header nor fail to encode.
    """
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download(data, filename, mimetype=XLSX):
    """A response sending ``data`` (a binary file object) as the download ``filename``."""
    from flask import send_file
    resp = send_file(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = attachment(filename)
    resp.headers["Cache-Control"] = "no-store"
    return resp


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
    """Write [(title, header, rows)] as one .xlsx workbook to the binary file ``out`` (rows may be a generator).

    Every .xlsx Menwei writes goes through here: no text cell is ever stored as a formula.
    """
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    for title, header, rows in sheets:
        # Excel forbids []:*?/\ in sheet names, and two sheets of one name; 31 characters at most
        name = re.sub(r"[\[\]:*?/\\]", "_", title)[:28] or "sheet"
        ws = wb.create_sheet(name if name not in wb.sheetnames else f"{name} {len(wb.sheetnames) + 1}")
        if header:
            ws.append([xlsx_cell(ws, h, bold=True) for h in header])
        for row in rows:
            ws.append([xlsx_cell(ws, v) for v in row])
    wb.save(out)
