"""The replicated tables of Menwei, declared once: a new table or field is a line here, not new sync code."""
from sync.tables import Catalog, Field, Table

#: Bumped whenever a declaration below changes; a node and hub must agree on it to sync.
SCHEMA_VERSION = 1

COMPOUNDS = Table("compounds", scope="id", fields=[
    Field("name", required=True, max_length=100),
    Field("city", max_length=50),
    Field("district", max_length=50),
    Field("address", max_length=200),
])

BUILDINGS = Table("buildings", fields=[
    Field("compound_id", "ref", required=True, index=True),
    Field("number", required=True, max_length=20),
    Field("name", max_length=50),
    Field("floors", "int", minimum=1, maximum=200),
])

HOUSEHOLDS = Table("households", fields=[
    Field("compound_id", "ref", required=True, index=True),
    Field("building_id", "ref", required=True, index=True),
    Field("room", required=True, max_length=20),
    Field("label", max_length=40, index=True),
    Field("notes", "text", max_length=2000),
])

RESIDENTS = Table("residents", fields=[
    Field("compound_id", "ref", required=True),
    Field("household_id", "ref", required=True, index=True),
    Field("name", required=True, max_length=50),
    Field("gender", max_length=4),
    Field("birth_date", "date"),
    Field("phone", max_length=20, pii=True),
    Field("id_number", max_length=18, pii=True, index=True),
    Field("party_member", "bool"),
    Field("notes", "text", max_length=2000),
])

# Gate events are the bulk of all traffic (a million a month): every index here slows every sync.
GATE_EVENTS = Table("gate_events", append_only=True, fields=[
    Field("compound_id", "ref", required=True),
    Field("gate", required=True, max_length=64),
    Field("direction", required=True, choices=("in", "out")),
    Field("at", "datetime", required=True),
    Field("resident_id", "ref"),
    Field("household_id", "ref", index=True),
    Field("person_name", max_length=50),
    Field("decision", required=True, choices=("allowed", "denied")),
    Field("reasons", "json"),
    Field("temperature", "float", minimum=30.0, maximum=45.0),
    Field("operator", max_length=50),
    Field("notes", "text", max_length=2000),
])

CATALOG = Catalog([COMPOUNDS, BUILDINGS, HOUSEHOLDS, RESIDENTS, GATE_EVENTS], SCHEMA_VERSION)
