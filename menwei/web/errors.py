"""One error type for the whole app and one handler that renders it as JSON or HTML."""
import datetime as dt

import orjson
from flask import jsonify, render_template_string, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError, validate
from werkzeug.exceptions import BadRequest, HTTPException

from sync.replica import WriteError
from sync.tables import YEARS

#: The dates a form field may name (the years the tables accept): past them, date arithmetic overflows.
SANE_DATE = validate.Range(dt.date(YEARS[0], 1, 1), dt.date(YEARS[1], 12, 31),
                           error=f"year must be between {YEARS[0]} and {YEARS[1]}")

_PAGE = """<!doctype html><html lang="zh"><meta charset="utf-8"><title>{{ status }}</title>
<link rel="stylesheet" href="/assets/error.css">
<body><h1>{{ status }}</h1><p>{{ message }}</p>
<p><a href="/">返回首页 / Home</a></p></body></html>"""


class ApiError(Exception):
    """A request that cannot be served: an HTTP status, a message, and the fields at fault."""

    def __init__(self, status, message, fields=None, code=None, **extra):
        super().__init__(message)
        self.status, self.message, self.fields, self.code, self.extra = status, message, fields, code, extra


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but request bodies are read with orjson.

    orjson refuses what the standard parser lets through and the database would choke on later: lone
    surrogates (not storable as UTF-8), NaN and Infinity, and nesting deep enough to exhaust the stack.
    """

    def loads(self, s, **kwargs):
        """Parse JSON text strictly (orjson); any problem is a ValueError, which Flask answers with a 400."""
        return orjson.loads(s)


def _nul_field(value, name):
    """The name of the first field holding a NUL character, or None (PostgreSQL cannot store or compare NUL)."""
    if isinstance(value, str):
        return name if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return name
        found = _nul_field(item, key if isinstance(key, str) else name)
        if found:
            return found
    return None


def check_json_body():
    """Before an API call: a JSON body must parse and be an object, and no input may hold NUL, else a 400."""
    if not request.path.startswith("/api/"):
        return None
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            raise ApiError(400, f"{key!r} holds a NUL character", fields={key: "NUL character"})
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return None
    if not request.get_data(cache=True):
        return None  # no body at all: the view says which fields it needs
    try:
        body = request.get_json()
    except BadRequest:
        raise ApiError(400, "body is not valid JSON (UTF-8, no NaN, nesting at most 1024 deep)",
                       fields={"body": "not valid JSON"}) from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object", fields={"body": "not an object"})
    bad = _nul_field(body, "body")
    if bad:
        raise ApiError(400, f"{bad!r} holds a NUL character", fields={bad: "NUL character"})
    return None


def int_arg(name, default, low, high):
    """A whole-number query argument between ``low`` and ``high``, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", fields={name: "not an integer"}) from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}", fields={name: "out of range"})
    return value


def _wants_json():
    p = request.path
    return p.startswith(("/api/", "/sync/")) or request.accept_mimetypes.best == "application/json"


def _render(status, message, fields=None, code=None, extra=None):
    if _wants_json():
        body = {"error": message, "status": status}
        if fields:
            body["fields"] = fields
        if code:
            body["code"] = code
        body.update(extra or {})
        return jsonify(body), status
    return render_template_string(_PAGE, status=status, message=message), status


def register_error_handlers(app):
    """Install the handlers that turn errors into JSON (API) or a page (browser)."""

    @app.errorhandler(ApiError)
    def _api_error(e):
        return _render(e.status, e.message, e.fields, e.code, e.extra)

    @app.errorhandler(WriteError)
    def _write_error(e):
        return _render(e.status, str(e), e.errors or None)

    @app.errorhandler(ValidationError)
    def _validation_error(e):
        msgs = e.messages if isinstance(e.messages, dict) else {"_": e.messages}
        first = next(iter(msgs), "body")
        return _render(400, f"请检查填写的内容 please check what was entered: {first}", msgs)

    @app.errorhandler(HTTPException)
    def _http_error(e):
        message = e.description
        if e.code == 413:
            message = "request body too large"
        return _render(e.code, message)

    @app.errorhandler(Exception)
    def _unexpected(e):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "internal error; the request was not applied")
