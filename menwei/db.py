"""The database extension, created once and bound to each app in its factory."""
from flask_sqlalchemy import SQLAlchemy

from sync.sql_store import build_metadata

from .tables import CATALOG

db = SQLAlchemy(metadata=build_metadata(CATALOG))
