"""Thai text sorted in Thai order on both databases: `thai(column)` in an ORDER BY.

PostgreSQL has the collation "thai" (ICU th-TH, made by migration 0013); SQLite gets one of the
same name on every connection, from app.domain.thai_sort.
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.domain import thai_sort

THAI = "thai"


def thai(expression):
    """The expression, compared in Thai dictionary order."""
    return expression.collate(THAI)


@event.listens_for(Engine, "connect")
def _thai_on_sqlite(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_collation(THAI, thai_sort.compare)
