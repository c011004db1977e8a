"""The OpenAPI 3.1 documents of hub and node: valid, public, and listing every API route the app has."""
import pytest
from openapi_spec_validator import validate

from menwei.web.openapi import openapi_path
from menwei.tables import CATALOG


@pytest.fixture(params=["hub", "node"])
def side(request, cluster):
    """The hub app, or the east-gate node app, of a running cluster."""
    return cluster.hub.app if request.param == "hub" else cluster.nodes["east-gate"].app


def _doc(app):
    r = app.test_client().get("/api/openapi.json")  # no token, no session: the document is public
    assert r.status_code == 200 and r.mimetype == "application/json"
    return r.get_json()


def test_the_document_is_valid_openapi_3_1(side):
    doc = _doc(side)
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation of the 3.1 schema or its rules (unique operation ids, …)


def test_every_api_and_sync_route_and_method_is_in_the_document(side):
    doc = _doc(side)
    documented = {(p, m.upper()) for p, ops in doc["paths"].items() for m in ops}
    routes = {(openapi_path(r.rule), m) for r in side.url_map.iter_rules() if r.rule.startswith(("/api/", "/sync/"))
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert len(routes) > 45
    assert not routes - documented, f"routes missing from the document: {sorted(routes - documented)}"
    pages = {p for p in doc["paths"] if not p.startswith(("/api/", "/sync/"))}
    assert not pages


def test_access_rules_become_security_requirements(side):
    paths = _doc(side)["paths"]
    signed_in = [{"coordinatorToken": []}, {"sessionCookie": []}]
    assert paths["/api/v1/rows/{name}"]["post"]["security"] == signed_in
    assert paths["/api/v1/gate/checks"]["post"]["x-roles"] == ["coordinator", "operator"]
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    assert paths["/api/openapi.json"]["get"]["security"] == []
    if side.config["ROLE"] == "hub":
        assert paths["/sync/v1/push"]["post"]["security"] == [{"nodeToken": []}]
        assert paths["/sync/v1/enroll"]["post"]["security"] == []
        assert paths["/api/v1/nodes/{node_id}/revoke"]["post"]["x-roles"] == ["coordinator"]
    else:
        assert not any(p.startswith("/sync/") for p in paths)


def test_request_bodies_come_from_the_views_marshmallow_schemas(side):
    paths = _doc(side)["paths"]
    check = paths["/api/v1/gate/checks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(check["required"]) == {"direction", "temperature"}
    assert check["properties"]["temperature"]["minimum"] == 34.0 and check["additionalProperties"] is False
    fill = paths["/api/v1/roster/fill"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    start = fill["properties"]["start_date"]
    assert start["type"] == "string" and start["format"] == "date" and start["x-maximum"] == "2199-12-31"
    date = paths["/api/v1/basket/orders"]["get"]["parameters"][0]
    assert date["name"] == "date" and date["required"] is True
    resolve = paths["/api/v1/conflicts/{conflict_id}/resolve"]["post"]
    assert resolve["parameters"][0]["schema"]["type"] == "integer"
    if side.config["ROLE"] == "hub":
        push = paths["/sync/v1/push"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        tables = push["properties"]["changes"]["items"]["properties"]["table"]["enum"]
        assert tables == [t.name for t in CATALOG]
        pull = {p["name"] for p in paths["/sync/v1/pull"]["get"]["parameters"]}
        assert {"cursor", "limit", "schema_version"} <= pull


def test_row_api_bodies_carry_every_field_of_every_table(side):
    doc = _doc(side)
    schemas, paths = doc["components"]["schemas"], doc["paths"]
    for table in CATALOG:
        create = schemas[f"{table.name}.create"]
        expected = {f.name for f in table.fields} - {"password_hash"}
        assert set(create["properties"]) - {"id"} == expected, table.name
        assert set(create["required"]) == {f.name for f in table.fields if f.required}
        assert f"/api/v1/rows/{table.name}" in paths
        single = paths[f"/api/v1/rows/{table.name}/{{row_id}}"]
        assert ("patch" in single) == (not table.append_only and table.name != "accounts")
    temp = schemas["gate_events.create"]["properties"]["temperature"]
    assert temp["minimum"] == 30.0 and temp["maximum"] == 45.0
    assert schemas["residents.create"]["properties"]["birth_date"]["format"] == "date"
    assert "personal data" in schemas["residents.create"]["properties"]["id_number"]["description"]


def test_a_route_added_later_appears_without_editing_the_generator(tmp_path):
    from flask import Blueprint
    from conftest import hub_database_url
    from hub import create_app
    from menwei.web.auth import allow
    app = create_app({"DATABASE_URL": hub_database_url(tmp_path), "ADMIN_TOKEN": "x"}, instance_path=str(tmp_path))
    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/api/v1/extra/<int:n>/thing", "thing", allow("viewer")(lambda n: {"n": n}), methods=["PUT"])
    app.register_blueprint(extra)
    op = _doc(app)["paths"]["/api/v1/extra/{n}/thing"]["put"]
    assert op["x-roles"] == ["coordinator", "viewer"] and op["parameters"][0]["name"] == "n"
