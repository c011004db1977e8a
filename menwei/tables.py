"""The replicated tables of Menwei, declared once: a new table or field is a line here, not new sync code."""
from sync.tables import Catalog, Field, Table

from menwei.gate.labels import normalise_plate

#: Bumped whenever a declaration below changes, with a new revision in menwei/migrations (`python -m
#: menwei.store.migrate "what changed"`) that names it; a node and hub must agree on it to sync.
SCHEMA_VERSION = 6

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
    Field("building_id", "ref", required=True, index=True, refs="buildings"),
    Field("room", required=True, max_length=20),
    Field("label", max_length=40, index=True),
    Field("notes", "text", max_length=2000),
    # Set when a coordinator merged this duplicate into another household: the row stays so that the
    # gate events naming it (append-only, never rewritten) still count for the surviving household.
    Field("merged_into", "ref", index=True, refs="households"),
])

RESIDENTS = Table("residents", fields=[
    Field("compound_id", "ref", required=True),
    Field("household_id", "ref", required=True, index=True, refs="households"),
    Field("name", required=True, max_length=50),
    Field("gender", max_length=4),
    Field("birth_date", "date"),
    Field("phone", max_length=20, pii=True),
    Field("id_number", max_length=18, pii=True, index=True),
    Field("party_member", "bool"),
    Field("notes", "text", max_length=2000),
])

VEHICLES = Table("vehicles", fields=[
    Field("compound_id", "ref", required=True),
    Field("household_id", "ref", index=True, refs="households"),
    Field("plate", required=True, max_length=16, index=True, normalise=normalise_plate),  # as the gate looks it up
    Field("notes", "text", max_length=2000),
])

#: Rules in force from ``effective_from`` (UTC ISO): compound-wide rows have no building_id; a
#: building's row overrides the fields it sets. Empty fields fall back to the compound's, then defaults.
CONTROL_RULES = Table("control_rules", fields=[
    Field("compound_id", "ref", required=True),
    Field("building_id", "ref", index=True, refs="buildings"),
    Field("effective_from", "datetime", required=True),
    Field("level", choices=("open", "semi_closed", "closed", "quarantine")),
    Field("outing_quota", "int", minimum=0, maximum=100),
    Field("outing_days", "int", minimum=1, maximum=30),
    Field("vehicle_policy", choices=("free", "exit_only", "banned")),
    Field("fever_threshold", "float", minimum=36.0, maximum=40.0),
    Field("work_pass_needs_certificate", "bool"),
    Field("notes", "text", max_length=2000),
])

PASSES = Table("passes", fields=[
    Field("compound_id", "ref", required=True),
    Field("kind", required=True, choices=("outing", "work", "vehicle", "visitor")),
    Field("code", required=True, max_length=12, index=True),
    Field("household_id", "ref", index=True, refs="households"),
    Field("resident_id", "ref", refs="residents"),
    Field("vehicle_id", "ref", refs="vehicles"),
    Field("holder_name", max_length=50),
    Field("employer", max_length=100),
    Field("certificate_checked_by", max_length=50),
    Field("reason", max_length=200),
    Field("valid_from", "datetime"),
    Field("valid_until", "datetime"),
    Field("revoked", "bool"),
    Field("revoked_reason", max_length=200),
])

INCIDENTS = Table("incidents", fields=[
    Field("compound_id", "ref", required=True),
    Field("kind", required=True, choices=("fever", "dispute", "forced_entry", "tip", "other")),
    Field("status", required=True, choices=("open", "investigating", "closed")),
    Field("title", required=True, max_length=200),
    Field("notes", "text", max_length=20_000),
    Field("household_id", "ref", refs="households"),
    Field("vehicle_id", "ref", refs="vehicles"),
    Field("gate_event_id", "ref", refs="gate_events"),
    Field("opened_at", "datetime"),
    Field("opened_by", max_length=50),
])

POSTS = Table("posts", fields=[
    Field("compound_id", "ref", required=True),
    Field("name", required=True, max_length=50),
    Field("kind", required=True, choices=("gate", "building_door", "other")),
    Field("node_id", max_length=64),  # the node whose desk serves this post, if any
    Field("building_id", "ref", refs="buildings"),  # a building's door: its desk reads 1702 as this building's room
    Field("notes", "text", max_length=2000),
])

VOLUNTEERS = Table("volunteers", fields=[
    Field("compound_id", "ref", required=True),
    Field("name", required=True, max_length=50),
    Field("phone", max_length=20, pii=True),
    Field("organisation", max_length=100),
    Field("party_member", "bool"),
    Field("notes", "text", max_length=2000),
    Field("inactive", "bool"),  # no longer offered as payer or deliverer; what names them keeps the name
])

#: A shift may cross midnight; times are UTC ISO like every stored time.
SHIFTS = Table("shifts", fields=[
    Field("compound_id", "ref", required=True),
    Field("post_id", "ref", required=True, index=True, refs="posts"),
    Field("volunteer_id", "ref", refs="volunteers"),
    Field("starts_at", "datetime", required=True),
    Field("ends_at", "datetime", required=True),
    Field("checked_in_at", "datetime"),
    Field("checked_out_at", "datetime"),
    Field("notes", "text", max_length=2000),
])

HANDOVERS = Table("handovers", fields=[
    Field("compound_id", "ref", required=True),
    Field("post_id", "ref", required=True, index=True, refs="posts"),
    Field("shift_id", "ref", refs="shifts"),
    Field("volunteer_id", "ref", refs="volunteers"),
    Field("note", "text", required=True, max_length=5000),
    Field("written_at", "datetime", required=True),
])

ORDER_STATUSES = ("requested", "bought", "partly_bought", "packed", "at_building", "delivered", "refused")

#: One household's order for one delivery day, from one line of the building's chain (接龙).
ORDERS = Table("orders", fields=[
    Field("compound_id", "ref", required=True),
    Field("household_id", "ref", index=True, refs="households"),  # empty while the room typed could not be matched
    Field("room_text", max_length=40),
    Field("name", max_length=50),
    Field("delivery_date", "date", required=True, index=True),
    Field("status", required=True, choices=ORDER_STATUSES),
    Field("source_line", "text", max_length=2000),
    Field("pending_line", "text", max_length=2000),  # the resident edited their line: confirm to apply
    Field("notes", "text", max_length=2000),
    Field("flagged", "bool"),
    Field("paid_by", "ref", refs="volunteers"),  # the volunteer who paid for it at the till
    Field("missing", "text", max_length=2000),
    Field("bags", "int", minimum=0, maximum=50),
    Field("delivered_by", max_length=50),
    Field("delivered_at", "datetime"),
    Field("refused_reason", max_length=200),
])

ORDER_LINES = Table("order_lines", fields=[
    Field("compound_id", "ref", required=True),
    Field("order_id", "ref", required=True, index=True, refs="orders"),
    Field("position", "int", minimum=0, maximum=1000),
    Field("item", required=True, max_length=50),
    Field("quantity", "float", minimum=0, maximum=10_000),
    Field("unit", max_length=10),
    Field("note", max_length=200),
    Field("bought_quantity", "float", minimum=0, maximum=10_000),
    Field("price", "float", minimum=0, maximum=100_000),  # yuan paid for this line
    Field("missing", "bool"),
])

RECEIPTS = Table("receipts", fields=[
    Field("compound_id", "ref", required=True),
    Field("volunteer_id", "ref", required=True, refs="volunteers"),
    Field("delivery_date", "date", required=True),
    Field("total", "float", required=True, minimum=0, maximum=1_000_000),
    Field("notes", "text", max_length=2000),
    # a data: URL of the till receipt, ~2 MB at most: JPEG, PNG or WebP, checked by its bytes wherever it is written
    Field("photo", "text", max_length=3_000_000, format="image"),
])

REPAYMENTS = Table("repayments", fields=[
    Field("compound_id", "ref", required=True),
    Field("household_id", "ref", required=True, refs="households"),
    Field("volunteer_id", "ref", required=True, refs="volunteers"),
    Field("amount", "float", required=True, minimum=0.01, maximum=1_000_000),
    Field("paid_at", "datetime", required=True),
    Field("received_by", max_length=50),
])

# Gate events are the bulk of all traffic (a million a month): every index here slows every sync.
# The one index serves the outing-quota question every check asks: this household's outings since …
GATE_EVENTS = Table("gate_events", append_only=True, indexes=(("household_id", "at"),), fields=[
    Field("compound_id", "ref", required=True),
    Field("gate", required=True, max_length=64),
    Field("direction", required=True, choices=("in", "out")),
    Field("at", "datetime", required=True),
    Field("resident_id", "ref", refs="residents"),
    Field("household_id", "ref", refs="households"),
    Field("vehicle_id", "ref", refs="vehicles"),
    Field("pass_id", "ref", refs="passes"),
    Field("purpose", choices=("outing", "return", "work", "vehicle", "visitor", "other")),
    Field("person_name", max_length=50),
    Field("person_id_number", max_length=18, pii=True),
    Field("person_phone", max_length=20, pii=True),
    Field("reason", max_length=200),
    Field("decision", required=True, choices=("allowed", "denied")),
    Field("reasons", "json"),
    Field("temperature", "float", minimum=30.0, maximum=45.0),
    Field("health_code", choices=("green", "yellow", "red"), max_length=6),  # 健康码 colour shown (since 4)
    Field("operator", max_length=50),
    Field("notes", "text", max_length=2000),
])

#: People who sign in at the hub or a node. Replicated within the compound so a gate laptop that is offline
#: still knows its operators; only a password hash (scrypt) travels, and no API answer ever shows it.
#: Made and changed only at the hub: a stolen gate laptop's token must not be able to mint a coordinator.
ACCOUNTS = Table("accounts", hub_only=True, fields=[
    Field("compound_id", "ref", required=True, index=True),
    Field("username", required=True, max_length=40, index=True),
    Field("display_name", max_length=50),
    Field("role", required=True, choices=("coordinator", "operator", "volunteer", "viewer")),
    Field("password_hash", required=True, max_length=300),
    Field("active", "bool"),
])

#: A coordinator's acknowledgement of a violation found by reconciliation (kind + key name the finding).
VIOLATION_ACKS = Table("violation_acks", fields=[
    Field("compound_id", "ref", required=True, index=True),
    Field("kind", required=True, max_length=40),
    Field("key", required=True, max_length=300, index=True),
    Field("note", "text", required=True, max_length=2000),
    Field("acked_by", max_length=40),
    Field("acked_at", "datetime", required=True),
])

CATALOG = Catalog([COMPOUNDS, BUILDINGS, HOUSEHOLDS, RESIDENTS, VEHICLES, CONTROL_RULES, PASSES, INCIDENTS,
                   POSTS, VOLUNTEERS, SHIFTS, HANDOVERS, ORDERS, ORDER_LINES, RECEIPTS, REPAYMENTS, GATE_EVENTS,
                   ACCOUNTS, VIOLATION_ACKS],
                  SCHEMA_VERSION)
