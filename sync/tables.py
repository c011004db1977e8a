"""Declarations of replicated tables: one line a field, read by the merge, the wire schema and the SQL adapter."""
import base64 as _b64
import binascii as _binascii
import datetime as _dt
import re as _re
from dataclasses import dataclass, field as _dc_field

#: Field types a replicated column may have, and the JSON values each accepts.
FIELD_TYPES = ("str", "text", "int", "float", "bool", "ref", "date", "datetime", "json")

#: The pseudo-field carrying a row's tombstone; it merges like any other field.
DELETED = "_deleted"
#: Years a date or time may have: outside them it is a typo, and date arithmetic would overflow near 9999.
YEARS = (1900, 2199)
#: How deep a JSON field may nest: serialisers give up past a few hundred levels, so a deeper value
#: would be stored and then fail every sync that carries it.
JSON_DEPTH = 32


def sniff_image(raw):
    """The type of an image by its first bytes: "image/jpeg", "image/png", "image/webp", or None."""
    if raw[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if raw[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    return None


_IMAGE_URL = _re.compile(r"data:(image/(?:jpeg|png|webp));base64")


def image_data_url_problem(value):
    """None if ``value`` is a base64 data: URL of a JPEG, PNG or WebP whose bytes are what it says, else why not."""
    head, comma, data = value.partition(",")
    m = _IMAGE_URL.fullmatch(head)
    if not comma or m is None:
        return "must be a data:image/jpeg, image/png or image/webp;base64 URL"
    try:
        raw = _b64.b64decode(data, validate=True)
    except (_binascii.Error, ValueError):
        return "is not valid base64"
    if sniff_image(raw) != m.group(1):
        return "is not a JPEG, PNG or WebP image of the type it names"
    return None


#: Checks a text field may ask for with ``format``: each returns None or why the value does not fit.
FORMATS = {"image": image_data_url_problem}


def _too_deep(value, limit=JSON_DEPTH):
    """Whether a JSON value nests more than ``limit`` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > limit:
                return True
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return False


@dataclass(frozen=True)
class Field:
    """One replicated column."""

    name: str
    type: str = "str"
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None
    pii: bool = False  # personal data: masked in pages, never logged
    index: bool = False
    #: One spelling for a value typed many ways (a plate: ``赣k·12345`` → ``赣K12345``), applied to every
    #: local write of a string at the replica that makes it, so every replica stores and compares one form.
    normalise: object = _dc_field(default=None, compare=False)
    #: For a "ref": the table whose row it names. A written or pushed row may only name a row of its
    #: own compound (see Table.references and sync.replica); None for an id kept only as a note.
    refs: str | None = None
    #: A further check of a text's content (a key of FORMATS), e.g. "image" for a photo as a data: URL.
    format: str | None = None

    def __post_init__(self):
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"field {self.name}: unknown format {self.format!r}")
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")
        if self.refs is not None and self.type != "ref":
            raise ValueError(f"field {self.name}: only a ref names another table")
        if self.max_length is None and self.type in ("str", "ref"):
            object.__setattr__(self, "max_length", 36 if self.type == "ref" else 200)
        if self.max_length is None and self.type == "text":
            object.__setattr__(self, "max_length", 20_000)
        object.__setattr__(self, "_ok", self._compile())

    def ok(self, value):
        """Return True if ``value`` fits this field (the fast path of ``check``)."""
        return self._ok(value)

    def _compile(self):
        # A specialised test per field: a batch checks tens of thousands of values. Each passes the
        # common valid value quickly and leaves everything else (None included) to the full check.
        slow = lambda v: self.check(v) is None  # noqa: E731
        t, n = self.type, self.max_length
        if self.format is not None:
            return slow
        if self.choices is not None:
            if t == "str" and self.minimum is None and self.maximum is None:
                choices = frozenset(self.choices)
                return lambda v: v in choices if type(v) is str else slow(v)
            return slow
        if t == "float":
            lo = -float("inf") if self.minimum is None else self.minimum
            hi = float("inf") if self.maximum is None else self.maximum
            return lambda v: (type(v) is float and lo <= v <= hi) or slow(v)  # NaN fails, and slow says why
        if self.minimum is not None or self.maximum is not None:
            return slow
        if t in ("str", "text", "ref"):
            return lambda v: (type(v) is str and len(v) <= n and "\x00" not in v) or slow(v)
        if t in ("date", "datetime"):
            parse, (lo, hi) = (_dt.date if t == "date" else _dt.datetime).fromisoformat, YEARS
            n = n or 64

            def ok(v):
                if type(v) is str and len(v) <= n and "\x00" not in v:
                    try:
                        return lo <= parse(v).year <= hi
                    except ValueError:
                        return False
                return slow(v)
            return ok
        if t == "bool":
            return lambda v: type(v) is bool or slow(v)
        if t == "int":
            return lambda v: (type(v) is int and -2 ** 63 <= v < 2 ** 63) or slow(v)
        if t == "json":
            flat = (str, int, float, bool)
            return lambda v: (type(v) in flat and v == v) or (type(v) in (list, dict) and not v) or slow(v)
        return slow

    def check(self, value):
        """Return None if ``value`` fits this field, else a short message saying why not."""
        if value is None:
            return "may not be null" if self.required else None
        t = self.type
        if t in ("str", "text", "ref", "date", "datetime"):
            if type(value) is not str:
                return "must be a string"
            if self.max_length is not None and len(value) > self.max_length:
                return f"longer than {self.max_length} characters"
            if "\x00" in value:  # PostgreSQL refuses NUL in text: it would fail every sync carrying it
                return "may not contain NUL characters"
            if t == "date":
                try:
                    year = _dt.date.fromisoformat(value).year
                except ValueError:
                    return "must be a date YYYY-MM-DD"
            elif t == "datetime":
                try:
                    year = _dt.datetime.fromisoformat(value).year
                except ValueError:
                    return "must be an ISO 8601 date-time"
            if t in ("date", "datetime") and not YEARS[0] <= year <= YEARS[1]:
                return f"year must be between {YEARS[0]} and {YEARS[1]}"
            if self.format is not None:
                problem = FORMATS[self.format](value)
                if problem:
                    return problem
        elif t == "int":
            if type(value) is not int:
                return "must be an integer"
            if not -2 ** 63 <= value < 2 ** 63:  # the databases store 64-bit integers
                return "out of range"
        elif t == "float":
            if type(value) not in (int, float) or value != value:
                return "must be a number"
        elif t == "bool":
            if type(value) is not bool:
                return "must be true or false"
        elif t == "json":
            if not isinstance(value, (dict, list, str, int, float, bool)):
                return "must be JSON"
            if _too_deep(value):
                return f"nested more than {JSON_DEPTH} levels deep"
        if self.minimum is not None and type(value) in (int, float) and value < self.minimum:
            return f"must be at least {self.minimum}"
        if self.maximum is not None and type(value) in (int, float) and value > self.maximum:
            return f"must be at most {self.maximum}"
        if self.choices is not None and value not in self.choices:
            return "must be one of " + ", ".join(map(str, self.choices))
        return None


@dataclass(frozen=True)
class Table:
    """A replicated table.

    ``scope`` names the field holding the compound a row belongs to (``"id"`` for the compound
    table itself, None for shared reference rows every node receives). Append-only tables (gate
    events) merge as a union of immutable rows; the others merge per field, last writer wins.
    """

    name: str
    fields: tuple
    scope: str | None = "compound_id"
    append_only: bool = False
    indexes: tuple = ()  # extra multi-column indexes, e.g. (("household_id", "at"),)
    #: What a node may write: True when rows are made and changed only at the hub (a node's writes and
    #: pushes of this table are refused; they still reach the node by pull).
    hub_only: bool = False
    by_name: dict = _dc_field(default=None, compare=False, repr=False)
    references: tuple = _dc_field(default=(), compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "normalisers", {f.name: f.normalise for f in self.fields if f.normalise})
        object.__setattr__(self, "references", tuple(f for f in self.fields if f.refs is not None))
        if self.scope not in (None, "id") and self.scope not in self.by_name:
            raise ValueError(f"table {self.name}: scope field {self.scope!r} is not declared")

    @property
    def field_names(self):
        """Names of the declared fields, in order."""
        return tuple(f.name for f in self.fields)

    def scope_of(self, row_id, data):
        """Return the scope (compound id) of a row from its id and field values."""
        if self.scope is None:
            return None
        if self.scope == "id":
            return row_id
        return data.get(self.scope)

    def creates(self, data):
        """Whether a change writing ``data`` to a row nobody has would make a whole row (every required field)."""
        return all(data.get(f.name) is not None for f in self.fields if f.required)

    def normalised(self, data):
        """``data`` with every string value of a field that declares a normaliser in its one spelling."""
        if not self.normalisers or not any(k in data for k in self.normalisers):
            return data
        return {k: (self.normalisers[k](v) if k in self.normalisers and isinstance(v, str) else v)
                for k, v in data.items()}

    def check_data(self, data, creating):
        """Return {field: message} for every problem in a row write (empty when it is valid)."""
        if not creating:
            by_name = self.by_name
            for name, value in data.items():
                f = by_name.get(name)
                if f is None or not f._ok(value):
                    break
            else:
                return {}
        errors = {}
        for name, value in data.items():
            f = self.by_name.get(name)
            if f is None:
                if name == DELETED and not self.append_only:
                    if type(value) is not bool:
                        errors[name] = "must be true or false"
                    continue
                errors[name] = "unknown field"
                continue
            msg = f.check(value)
            if msg:
                errors[name] = msg
        if creating:
            for f in self.fields:
                if f.required and data.get(f.name) is None and f.name not in errors:
                    errors[f.name] = "is required"
        return errors


class Catalog:
    """The set of replicated tables a replica knows, by name."""

    def __init__(self, tables, schema_version):
        self.tables = {t.name: t for t in tables}
        self.schema_version = schema_version
        for t in tables:
            for f in t.references:
                if f.refs not in self.tables or self.tables[f.refs].scope != "compound_id":
                    raise ValueError(f"{t.name}.{f.name} names {f.refs!r}, not a table of a compound")

    def __getitem__(self, name):
        return self.tables[name]

    def __contains__(self, name):
        return name in self.tables

    def __iter__(self):
        return iter(self.tables.values())
