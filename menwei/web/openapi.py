"""GET /api/openapi.json: an OpenAPI 3.1 document of this app's API, generated from its own routes.

The paths come from the URL map (every /api and /sync route, its methods and path parameters), who
may call them from the access rules on the views, request bodies from the marshmallow schemas the
views validate with (declared next to the view with ``@accepts``), and the generic row API's bodies
from the table declarations. Nothing is written by hand twice, so the document cannot drift.
"""
import functools
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema

from sync.wire import MAX_ID, MAX_INT, ChangeList, EnrollRequest, PullQuery, push_request_schema

from menwei.web.auth import ANYONE_SIGNED_IN, TABLE_WRITERS, public
from menwei.web.errors import ApiError

bp = Blueprint("openapi", __name__)
DOC_PATH = "/api/openapi.json"
_FIELD_TYPES = {"str": "string", "text": "string", "ref": "string", "int": "integer", "float": "number",
                "bool": "boolean", "date": "string", "datetime": "string"}
_FORMATS = {"date": "date", "datetime": "date-time"}
_CONVERTERS = {"IntegerConverter": {"type": "integer", "minimum": 0},
               "PathConverter": {"type": "string", "minLength": 1},
               "UnicodeConverter": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}}
_ERROR = {"description": "refused: the message says why and `fields` names the fields at fault",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_SECURITY = {
    "coordinatorToken": {"type": "http", "scheme": "bearer",
                         "description": "the coordinator API token (`menwei hub init` shows it once)"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "a browser session from POST /api/v1/auth/login; writes also need "
                                     "the X-CSRF-Token header it answered with"},
    "nodeToken": {"type": "http", "scheme": "bearer", "description": "a gate node's own sync token"},
}


def accepts(body=None, query=None):
    """Declare a view's input once: it is validated here, handed to the view, and documented in OpenAPI.

    ``body`` (a marshmallow schema) loads the JSON body of every call but a GET and hands the result to
    the view as its ``body`` argument; a bad body is a 400 naming the fields. ``query`` is either a
    schema, loaded from the query string and handed over as ``query``, or a map of each parameter's
    JSON schema (``required: True`` inside marks it required) that the view reads with the helpers
    that check it (``int_arg``, ``periods.bounds``).
    """
    body_schema = body() if isinstance(body, type) else body
    query_schema = query() if isinstance(query, type) else query if isinstance(query, Schema) else None

    def mark(view):
        @functools.wraps(view)
        def validated(*args, **kwargs):
            if body_schema is not None and request.method != "GET":
                kwargs["body"] = body_schema.load(json_body())
            if query_schema is not None:
                kwargs["query"] = query_schema.load(request.args)
            return view(*args, **kwargs)
        validated.menwei_body = body
        validated.menwei_query = query if query_schema is not None else (query or {})
        return validated
    return mark


def json_body():
    """The request's JSON body as an object: {} when there is none; a 400 when it is not a JSON object."""
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise ApiError(400, "body must be JSON (Content-Type: application/json)", fields={"body": "not JSON"})
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object", fields={"body": "not an object"})
    return body


def field_schema(f, nullable=True):
    """The JSON schema of one replicated field, with the bounds its declaration checks."""
    s = {} if f.type == "json" else {"type": _FIELD_TYPES[f.type]}
    if f.type in _FORMATS:
        s["format"] = _FORMATS[f.type]
    if f.max_length is not None and f.type in ("str", "text", "ref"):
        s["maxLength"] = f.max_length
    if f.minimum is not None:
        s["minimum"] = f.minimum
    if f.maximum is not None:
        s["maximum"] = f.maximum
    if f.choices is not None:
        s["enum"] = list(f.choices)
    if f.pii:
        s["description"] = "personal data: masked in answers, never logged"
    if nullable and not f.required and "type" in s:
        s["type"] = [s["type"], "null"]
        if "enum" in s:
            s["enum"] = s["enum"] + [None]
    return s


def _row_schemas(table):
    """The create and change bodies of a table, for /api/v1/rows/<table>."""
    props = {f.name: field_schema(f) for f in table.fields if f.name != "password_hash"}
    create = {"type": "object", "additionalProperties": False,
              "properties": {"id": {"type": "string", "format": "uuid",
                                    "description": "optional: a client-chosen UUID makes a retried create safe"},
                             **props},
              "required": [f.name for f in table.fields if f.required]}
    change = {"type": "object", "additionalProperties": False, "minProperties": 1,
              "properties": props}
    return create, change


def _change_list(catalog):
    """What a push's ``changes`` holds: field-level writes of the catalog's tables."""
    return {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "required": ["seq", "hlc", "table", "id", "data"],
        "properties": {"seq": {"type": "integer", "minimum": 1}, "hlc": {"type": "integer", "minimum": 0},
                       "table": {"type": "string", "enum": [t.name for t in catalog]},
                       "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
                       "data": {"type": "object", "minProperties": 1},
                       "prev": {"type": ["object", "null"], "description": "field versions overwritten"}}}}


def _converter(conv):
    """The JSON schema of a werkzeug path converter, with its bounds."""
    schema = dict(_CONVERTERS.get(type(conv).__name__, {"type": "string"}))
    if schema["type"] == "integer":
        schema.update({k: v for k, v in (("minimum", conv.min), ("maximum", conv.max)) if v is not None})
    return schema


def _security(endpoint, access):
    if endpoint.startswith(("sync.", "sync_recovery.")) and endpoint != "sync.enroll":
        return [{"nodeToken": []}]
    if access == "public" or access is None:
        return []
    return [{"coordinatorToken": []}, {"sessionCookie": []}]


def _summary(view):
    doc = (view.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else view.__name__.replace("_", " ")


def _operation(app, rule, method, view, catalog):
    access = getattr(view, "menwei_access", None)
    op = {"operationId": f"{rule.endpoint}.{method}".replace(".", "_"), "summary": _summary(view),
          "tags": [rule.endpoint.split(".")[0]], "security": _security(rule.endpoint, access),
          "responses": {"2XX": {"description": "done", "content": {"application/json": {"schema": {}}}},
                        "4XX": _ERROR}}
    if access not in (None, "public"):
        op["x-roles"] = sorted(access)
    params = [{"in": "path", "name": arg, "required": True, "schema": _converter(rule._converters[arg])}
              for arg in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule)]  # in path order
    query, body = getattr(view, "menwei_query", {}), getattr(view, "menwei_body", None)
    if rule.endpoint.startswith("api.") and "name" in rule.arguments:  # the generic row API
        params[0]["schema"] = {"type": "string", "enum": [t.name for t in catalog]}
        kind = {"api.create_row": "create", "api.update_row": "change"}.get(rule.endpoint)
        if kind:
            body = {"anyOf": [{"$ref": f"#/components/schemas/{t.name}.{kind}"} for t in catalog]}
    if rule.endpoint in ("sync.pull", "sync_recovery.own_changes"):
        params.append({"in": "query", "schema": PullQuery})
        if rule.endpoint == "sync_recovery.own_changes":
            params.append({"in": "query", "name": "after", "required": False,
                           "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INT}})
    elif rule.endpoint == "sync.push":
        body = push_request_schema(catalog, app.config["MAX_BATCH"])
    elif rule.endpoint == "sync.enroll":
        body = EnrollRequest
    if isinstance(query, (Schema, type)):
        params.append({"in": "query", "schema": query})
    for name, schema in (query.items() if method == "GET" and isinstance(query, dict) else ()):
        schema = dict(schema)
        params.append({"in": "query", "name": name, "required": schema.pop("required", False), "schema": schema})
    if params:
        op["parameters"] = params
    if body is not None and method != "GET":
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _rows_paths(spec, catalog):
    """Concrete paths per table: the generic row API with each table's own fields."""
    for table in catalog:
        create, change = _row_schemas(table)
        spec.components.schema(f"{table.name}.create", create)
        spec.components.schema(f"{table.name}.change", change)
        writable = table.name != "accounts"
        roles = sorted(ANYONE_SIGNED_IN if table.name != "accounts" else ())
        filters = [{"in": "query", "name": f.name, "schema": {"type": "string"}} for f in table.fields
                   if not f.pii and f.name != "password_hash"]
        page = [{"in": "query", "name": "after", "schema": {"type": "string"}},
                {"in": "query", "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}]
        ref = {"$ref": f"#/components/schemas/{table.name}.create"}
        ops = {"get": _row_op(table, "list", "List rows (personal data masked)", roles, filters + page)}
        if writable:
            ops["post"] = _row_op(table, "create", "Create a row", _writers(table), [], ref)
        spec.path(path=f"/api/v1/rows/{table.name}", operations=ops)
        ops = {"get": _row_op(table, "get", "One row (personal data masked)", roles, [])}
        if writable and not table.append_only:
            ops["patch"] = _row_op(table, "change", "Change fields of a row", _writers(table), [],
                                   {"$ref": f"#/components/schemas/{table.name}.change"})
            ops["delete"] = _row_op(table, "delete", "Delete a row (a replicated tombstone)", _writers(table), [])
        row_id = {"in": "path", "name": "row_id", "required": True, "schema": {"type": "string", "minLength": 1}}
        for op in ops.values():
            op["parameters"] = [row_id]
        spec.path(path=f"/api/v1/rows/{table.name}/{{row_id}}", operations=ops)


def _writers(table):
    return sorted(TABLE_WRITERS.get(table.name, set()) | {"coordinator"})


def _row_op(table, verb, summary, roles, params, body=None):
    op = {"operationId": f"rows_{table.name}_{verb}", "summary": f"{summary} of {table.name}", "tags": ["rows"],
          "security": [{"coordinatorToken": []}, {"sessionCookie": []}], "x-roles": roles, "parameters": params,
          "responses": {"2XX": {"description": "done", "content": {"application/json": {"schema": {}}}},
                        "4XX": _ERROR}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def openapi_path(rule):
    """A werkzeug rule as an OpenAPI path: ``/rows/<name>/<int:n>`` → ``/rows/{name}/{n}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def build_document(app):
    """Build the OpenAPI 3.1 document of ``app`` (a hub or a node) as a dict."""
    catalog = app.extensions["menwei"].catalog
    role = app.config["ROLE"]
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)  # inline: no name clashes
    spec = APISpec(f"Menwei {role} API", str(catalog.schema_version), "3.1.0", plugins=[plugin], info={
        "description": f"The JSON API of a Menwei {role}. Errors are JSON with `error`, `status` and, for bad "
                       "input, `fields` naming each field at fault.", "x-schema-version": catalog.schema_version})
    plugin.converter.add_attribute_function(
        lambda self, field, **_kw: _change_list(catalog) if isinstance(field, ChangeList) else {})
    for name, scheme in _SECURITY.items():
        if name != "nodeToken" or role == "hub":
            spec.components.security_scheme(name, scheme)
    spec.components.schema("Error", {"type": "object", "required": ["error", "status"], "properties": {
        "error": {"type": "string"}, "status": {"type": "integer"}, "code": {"type": "string"},
        "fields": {"description": "field name → what is wrong with it"}}})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(("/api/", "/sync/")):
            continue  # pages and static files are for browsers
        view = app.view_functions[rule.endpoint]
        ops = {m.lower(): _operation(app, rule, m, view, catalog) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})}
        spec.path(path=openapi_path(rule.rule), operations=ops)
    _rows_paths(spec, catalog)
    doc = spec.to_dict()
    doc.setdefault("components", {}).setdefault("schemas", {})
    return doc


@bp.get(DOC_PATH)
@public
def openapi_json():
    """This app's OpenAPI 3.1 document (built once from its routes)."""
    doc = current_app.extensions.get("menwei_openapi")
    if doc is None:
        doc = current_app.extensions["menwei_openapi"] = build_document(current_app)
    return jsonify(doc)

