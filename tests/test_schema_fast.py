"""Starting without Alembic: a new database made by schema_fast is the one Alembic would make, at the head."""
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from conftest import PG_URL, hub_database_url
from hub import create_app as create_hub
from menwei.store import migrate
from menwei.store import schema_fast
from menwei.store.db import db


def test_the_head_read_from_file_names_is_alembics_head():
    assert schema_fast.head() == migrate.head()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_new_database_is_made_at_the_head_with_the_declared_schema(tmp_path, backend):
    if backend == "postgresql" and not PG_URL:
        pytest.skip("MENWEI_TEST_PG_URL is not set: no PostgreSQL to create the database on "
                    "(scripts/test.sh sets it)")
    url = hub_database_url(tmp_path, fresh=True) if backend == "postgresql" else f"sqlite:///{tmp_path}/hub.db"
    create_hub({"DATABASE_URL": url}, instance_path=str(tmp_path / "hub"))
    engine = create_engine(url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == migrate.head()
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []
    assert migrate.prepare(engine, db.metadata, "hub") == migrate.head()  # Alembic agrees: nothing to do
    engine.dispose()


def test_a_node_starts_without_loading_alembic_new_or_at_the_head(tmp_path):
    code = ("import sys\nfrom node.cli import node_app\n"
            f"node_app({str(tmp_path / 'n')!r})\nnode_app({str(tmp_path / 'n')!r})\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako', 'pygments')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_older_database_still_goes_to_alembic(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    from alembic import command
    with engine.begin() as conn:
        previous = migrate.scripts().get_revision(migrate.head()).down_revision
        command.upgrade(migrate.alembic_config(conn), previous)
    assert schema_fast.ready(engine, db.metadata) is False
    with pytest.raises(schema_fast.SchemaError, match="menwei hub upgrade"):
        create_hub({"DATABASE_URL": url}, instance_path=str(tmp_path / "hub"))
    engine.dispose()
