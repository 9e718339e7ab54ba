"""A request that only read ends its transaction with COMMIT, so PostgreSQL keeps its plans.

psycopg prepares a statement on the server after seeing it five times on a connection, and then
skips planning it (0.9 -> 0.14 ms for a page's first statement at national scale). But it forgets
every prepared statement at each ROLLBACK (DEALLOCATE ALL), and a request ended with one: the
session's close rolls back, so no statement ever reached five. For a transaction that sent only
SELECTs, COMMIT and ROLLBACK leave the database the same; ending it with COMMIT lets the
statements a connection keeps answering stay prepared (1-4 ms of a busy page).

Anything that may have written keeps the rollback: a statement other than a SELECT (an ORM
flush included), rows waiting in the session, or audit rows waiting to be written at commit.
"""
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db
from app.services.audit_chain import rows_waiting

# On the connection while its transaction has sent anything but a SELECT.
_SENT_WRITE = "sitthi.sent_write"


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, _cursor, statement, *_args) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info[_SENT_WRITE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_writes(conn) -> None:
    conn.info.pop(_SENT_WRITE, None)


def only_read(session) -> bool:
    """Whether the session's open transaction has neither sent nor holds anything that could write."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted or rows_waiting(session):
        return False
    return not session.connection().info.get(_SENT_WRITE, False)


def register(app: Flask) -> None:
    @app.teardown_request
    def _commit_what_only_read(error) -> None:
        # Before Flask-SQLAlchemy's teardown closes (and so rolls back) the session.
        session = db.session()
        if error is None and only_read(session):
            session.commit()
