"""Marshmallow schemas of the sync protocol's payloads.

A batch holds up to thousands of changes, and per-row marshmallow loading costs ~50 µs a row, so
the change list is one custom field that checks every change in a tight loop against the table
declarations; the envelope around it is ordinary marshmallow.
"""
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from .tables import DELETED

CHANGE_KEYS = frozenset(("seq", "hlc", "table", "id", "data", "prev", "origin"))
MAX_ID = 64
#: Stamps and sequence numbers are stored as signed 64-bit integers: a larger number is bad input, not a crash.
MAX_INT = 2 ** 63 - 1
#: A clock reading or a count a node reports: well past any real date, far below 64-bit overflow in sums.
MAX_MS = 2 ** 53
SMALL = validate.Range(0, MAX_MS)
#: A node's clock reading: from 1970 (a laptop whose clock battery died still syncs, with the skew alarm)
#: up to the last year a stored date may have; past it the skew sums mean nothing (2 ** 53 was accepted).
CLOCK_MAX_MS = 7_258_118_400_000  # 2200-01-01T00:00:00Z
CLOCK = validate.Range(0, CLOCK_MAX_MS - 1, error="must be a clock reading in ms between 1970 and 2199")
SCHEMA = validate.Range(0, 2 ** 31 - 1)  # the hub keeps it in a 32-bit column
#: ``pending`` is the sender's estimate of its queue; older nodes may send a small negative one.
PENDING = validate.Range(-MAX_MS, MAX_MS)


def _is_int(v):
    return type(v) is int and 0 <= v <= MAX_INT


def _check_version(v):
    return (type(v) is list and len(v) == 2 and _is_int(v[0]) and type(v[1]) is str
            and 0 < len(v[1]) <= MAX_ID)


class ChangeList(fields.Field):
    """A list of changes, each checked against the catalog: table, id, fields and their types."""

    def __init__(self, catalog, max_items, with_origin, **kwargs):
        super().__init__(**kwargs)
        self.catalog, self.max_items, self.with_origin = catalog, max_items, with_origin

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("must be a list of changes")
        if len(value) > self.max_items:
            raise ValidationError(f"at most {self.max_items} changes in one batch, got {len(value)}")
        errors = {}
        tables = self.catalog.tables
        for i, ch in enumerate(value):
            problem = self._check_one(ch, tables)
            if problem:
                errors[i] = problem
                if len(errors) >= 20:
                    break
        if errors:
            raise ValidationError(errors)
        return value

    def _check_one(self, ch, tables):
        if type(ch) is not dict:
            return "must be an object"
        # Fast path: a well-formed change without prev passes these few tests; anything else (an edit
        # carrying the versions it saw included) gets the full check and report.
        table = tables.get(ch.get("table"))
        seq, hlc, rid, data, prev = ch.get("seq"), ch.get("hlc"), ch.get("id"), ch.get("data"), ch.get("prev")
        if (table is not None and type(seq) is int and 0 < seq <= MAX_INT
                and type(hlc) is int and 0 <= hlc <= MAX_INT
                and type(rid) is str and 0 < len(rid) <= MAX_ID and "\x00" not in rid
                and type(data) is dict and data
                and prev is None and len(ch) <= 6 + self.with_origin
                and ch.keys() <= CHANGE_KEYS and ("origin" in ch) == self.with_origin
                and (not self.with_origin or (type(ch["origin"]) is str and 0 < len(ch["origin"]) <= MAX_ID))
                and not table.check_data(data, creating=False)):
            return None
        extra = ch.keys() - CHANGE_KEYS
        if extra:
            return {k: "unknown key" for k in sorted(extra)}
        problems = {}
        if not _is_int(ch.get("seq")) or ch["seq"] == 0:
            problems["seq"] = "must be a positive integer"
        if not _is_int(ch.get("hlc")):
            problems["hlc"] = "must be a non-negative integer"
        if self.with_origin:
            o = ch.get("origin")
            if type(o) is not str or not 0 < len(o) <= MAX_ID:
                problems["origin"] = "must be a replica id"
        elif "origin" in ch:
            problems["origin"] = "is set by the server from the node's token"
        rid = ch.get("id")
        if type(rid) is not str or not 0 < len(rid) <= MAX_ID or "\x00" in rid:  # no NUL: PostgreSQL text
            problems["id"] = "must be a row id"
        table = tables.get(ch.get("table"))
        if table is None:
            problems["table"] = f"unknown table {ch.get('table')!r}"[:120]
            return problems
        data = ch.get("data")
        if type(data) is not dict or not data:
            problems["data"] = "must be a non-empty object"
        else:
            errs = table.check_data(data, creating=False)
            if errs:
                problems["data"] = errs
        prev = ch.get("prev")
        if prev is not None:
            if type(prev) is not dict or table.append_only:
                problems["prev"] = "must be an object of field versions"
            else:
                bad = {k: "must be [hlc, origin] of a written field" for k, v in prev.items()
                       if (k not in table.by_name and k != DELETED) or not _check_version(v)}
                if bad:
                    problems["prev"] = bad
        return problems or None


def push_request_schema(catalog, max_changes):
    """Build the schema of POST /sync/v1/push bodies for this catalog."""

    class PushRequest(Schema):
        class Meta:
            unknown = RAISE

        node_id = fields.String(required=True, validate=validate.Length(1, MAX_ID))
        schema_version = fields.Integer(required=True, strict=True, validate=SCHEMA)
        clock_ms = fields.Integer(required=True, strict=True, validate=CLOCK)
        pending = fields.Integer(load_default=None, strict=True, validate=PENDING)
        changes = ChangeList(catalog, max_changes, with_origin=False, required=True)

    return PushRequest()


def pull_response_schema(catalog, max_changes):
    """Build the schema a node checks GET /sync/v1/pull answers with."""

    class PullResponse(Schema):
        class Meta:
            unknown = EXCLUDE

        changes = ChangeList(catalog, max_changes, with_origin=True, required=True)
        cursor = fields.Integer(required=True, strict=True)
        more = fields.Boolean(required=True)
        hub_clock_ms = fields.Integer(required=True, strict=True)
        schema_version = fields.Integer(required=True, strict=True)
        node_seq = fields.Integer(load_default=None, strict=True)  # the hub's highest change from this node

    return PullResponse()


class RefusedChange(Schema):
    """One change of a push the hub refused by its write policy, and why (field → message)."""

    class Meta:
        unknown = EXCLUDE

    seq = fields.Integer(required=True, strict=True)
    table = fields.String(required=True, validate=validate.Length(1, 64))
    id = fields.String(required=True, validate=validate.Length(1, MAX_ID))
    code = fields.String(required=True, validate=validate.Length(1, 64))
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields", load_default=dict)


class PushResponse(Schema):
    """What the hub answers a push with, once its transaction has committed."""

    class Meta:
        unknown = EXCLUDE

    acked_seq = fields.Integer(required=True, strict=True)
    applied = fields.Integer(required=True, strict=True)
    duplicates = fields.Integer(required=True, strict=True)
    conflicts = fields.Integer(required=True, strict=True)
    hub_clock_ms = fields.Integer(required=True, strict=True)
    skew_ms = fields.Integer(required=True, strict=True)
    # rows this push edited that the hub deleted and compacted away: the node drops them as well
    buried = fields.List(fields.Tuple((fields.String(validate=validate.Length(1, MAX_ID)),
                                       fields.String(validate=validate.Length(1, MAX_ID)))), load_default=list)
    # changes the hub's write policy refused (sync.policy): acknowledged, never merged; the node parks them
    refused = fields.List(fields.Nested(RefusedChange), load_default=list)


class PullQuery(Schema):
    """Query string of GET /sync/v1/pull."""

    class Meta:
        unknown = EXCLUDE

    cursor = fields.Integer(load_default=0, validate=validate.Range(0, MAX_INT))
    limit = fields.Integer(load_default=5000, validate=validate.Range(min=1, max=20_000))
    clock_ms = fields.Integer(load_default=None, validate=CLOCK)
    schema_version = fields.Integer(required=True, validate=SCHEMA)
    pending = fields.Integer(load_default=None, validate=PENDING)


class EnrollRequest(Schema):
    """Body of POST /sync/v1/enroll."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Length(4, 100))
    node_id = fields.String(load_default=None, validate=validate.Length(1, MAX_ID))


class SnapshotRows(fields.Field):
    """The rows of one snapshot page, checked against the declaration of the page's table.

    Mutable rows' versions arrive as stored ([[hlc, origin, [fields]], …]) and load as {field: [hlc, origin]}.
    """

    def __init__(self, catalog, max_items, **kwargs):
        super().__init__(**kwargs)
        self.catalog, self.max_items = catalog, max_items

    def _deserialize(self, value, attr, data, **kwargs):
        table = self.catalog.tables.get(data.get("table")) if isinstance(data, dict) else None
        if table is None:
            raise ValidationError("rows of an unknown table")
        if not isinstance(value, list) or len(value) > self.max_items:
            raise ValidationError(f"must be a list of at most {self.max_items} rows")
        errors = {}
        for i, row in enumerate(value):
            problem = self._check(table, row)
            if problem:
                errors[i] = problem
                if len(errors) >= 20:
                    break
        if errors:
            raise ValidationError(errors)
        return value

    def _check(self, table, row):
        if type(row) is not dict or type(row.get("id")) is not str or not 0 < len(row["id"]) <= MAX_ID:
            return "must be an object with a row id"
        if table.append_only:
            if row.keys() != {"id", "origin", "seq", "hlc", "data"} or not _check_version([row["hlc"], row["origin"]]) \
                    or not _is_int(row["seq"]) or type(row["data"]) is not dict:
                return "must have id, origin, seq, hlc and data"
            return table.check_data(row["data"], creating=False) or None
        values, stored = row.get("values"), row.get("versions")
        if row.keys() != {"id", "values", "versions"} or type(values) is not dict or type(stored) is not list:
            return "must have id, values and versions"
        versions = {}
        for group in stored:
            if type(group) is not list or len(group) != 3 or not _check_version(group[:2]) \
                    or type(group[2]) is not list:
                return {"versions": "must be [[hlc, origin, [fields]], …]"}
            for name in group[2]:
                if name not in table.by_name and name != DELETED:
                    return {"versions": f"unknown field {name!r}"[:120]}
                versions[name] = [group[0], group[1]]
        if not values.keys() <= versions.keys():
            return {"values": "a value without a version"}
        errs = table.check_data(values, creating=False)
        if errs:
            return {"values": errs}
        row["versions"] = versions
        return None


class SnapshotNext(Schema):
    """Where the next snapshot page starts."""

    class Meta:
        unknown = RAISE

    table = fields.String(required=True)
    after = fields.Raw(required=True, allow_none=True)


def snapshot_page_schema(catalog, max_rows):
    """Build the schema a node checks GET /sync/v1/snapshot answers with."""

    class SnapshotPage(Schema):
        class Meta:
            unknown = EXCLUDE

        table = fields.String(required=True, validate=validate.OneOf(list(catalog.tables)))
        after = fields.Raw(required=True, allow_none=True)
        cursor = fields.Integer(strict=True, validate=validate.Range(min=0))
        seen = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True))
        next = fields.Nested(SnapshotNext, required=True, allow_none=True)
        schema_version = fields.Integer(required=True, strict=True)
        rows = SnapshotRows(catalog, max_rows, required=True)

    return SnapshotPage()


class SnapshotQuery(Schema):
    """Query string of GET /sync/v1/snapshot: where the page starts (no table: a new snapshot)."""

    class Meta:
        unknown = EXCLUDE

    table = fields.String(load_default=None)
    after = fields.String(load_default=None, validate=validate.Length(1, MAX_ID))
    limit = fields.Integer(load_default=2000, validate=validate.Range(min=1, max=20_000))
    schema_version = fields.Integer(required=True, validate=SCHEMA)
    clock_ms = fields.Integer(load_default=None, validate=CLOCK)
    pending = fields.Integer(load_default=None, validate=PENDING)
