"""The database: its extension, schema checks, Alembic migrations, backups and spreadsheet files."""
