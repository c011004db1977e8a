"""Menwei's replication core: hybrid logical clocks, per-field last-writer-wins merge and a change log.

The algorithm modules (clock, merge, changelog, tables) import no Flask, requests or SQLAlchemy;
the adapters beside them (sql_store, http_server, http_client) are thin and separate.
"""
