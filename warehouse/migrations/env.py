"""Alembic environment: always handed a live connection by warehouse.migrate."""
from alembic import context

from warehouse.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, include_schemas=True,
                  version_table_schema="audit")
with context.begin_transaction():
    context.run_migrations()
