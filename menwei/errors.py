"""One error type for the whole app and one handler that renders it as JSON or HTML."""
from flask import jsonify, render_template_string, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from sync.replica import WriteError

_PAGE = """<!doctype html><html lang="zh"><meta charset="utf-8"><title>{{ status }}</title>
<body style="font-family:sans-serif;margin:3em"><h1>{{ status }}</h1><p>{{ message }}</p>
<p><a href="/">返回首页 / Home</a></p></body></html>"""


class ApiError(Exception):
    """A request that cannot be served: an HTTP status, a message, and the fields at fault."""

    def __init__(self, status, message, fields=None, code=None, **extra):
        super().__init__(message)
        self.status, self.message, self.fields, self.code, self.extra = status, message, fields, code, extra


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
        return _render(400, f"invalid field {first!r}", msgs)

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
