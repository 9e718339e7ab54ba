"""What every page reads of a few small reference tables (roles' permissions, the unit tree, the
rules' ranks and levels), kept by the app process between requests.

Each group of tables has a stamp (app/models/reference_stamp.py) that the database renews on any
write to them, from any server, screen, import or psql. A request reads the stamps once, in one
statement, and uses what the process kept only under the stamp it read; else it reads the tables
again. What a transaction reads after it wrote is kept under the stamp its own write made: a stamp
of a transaction that rolls back is never committed, so nothing kept under it is ever used again.
"""
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import Engine, Pool, event, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from app.models.reference_stamp import REFERENCE_TABLES, ReferenceStamp

T = TypeVar("T")

_STAMPS = "sitthi.reference_stamps"
# (database, group, key) -> (stamp, value). Values are plain data, never ORM rows (those belong to
# one session), and never changed once kept.
_KEPT: dict[tuple, tuple[int, object]] = {}


def kept(session: Session, group: str, key: Hashable, read: Callable[[], T]) -> T:
    """read(), or what it gave earlier under the group's current stamp."""
    stamp = _stamp(session, group)
    if stamp is None:  # a database not migrated this far: read every time
        return read()
    where = (session.get_bind().url, group, key)
    found = _KEPT.get(where)
    if found is not None and found[0] == stamp:
        return found[1]
    value = read()
    _KEPT[where] = (stamp, value)
    return value


def stamp_columns() -> list:
    """The stamps as columns another statement can carry (the request's first one does)."""
    return [select(ReferenceStamp.stamp).where(ReferenceStamp.name == group).scalar_subquery()
            .label(f"stamp_{group}") for group in REFERENCE_TABLES]


def remember_stamps(session: Session, values) -> None:
    """The stamps as those columns gave them, for the rest of this transaction."""
    stamps = {group: value for group, value in zip(REFERENCE_TABLES, values, strict=True) if value is not None}
    if stamps:
        session.info[_STAMPS] = (stamps, dict(_writes(session)))


def _stamp(session: Session, group: str) -> int | None:
    """The group's stamp as this transaction sees it: read once, and again after this
    transaction wrote to the group's tables (its own write renewed it)."""
    known, writes = session.info.get(_STAMPS), _writes(session)
    if known is None or group not in known[0] or known[1].get(group, 0) != writes.get(group, 0):
        known = (dict(session.execute(select(ReferenceStamp.name, ReferenceStamp.stamp)).all()), dict(writes))
        session.info[_STAMPS] = known
    return known[0].get(group)


def _writes(session: Session) -> dict[str, int]:
    return session.connection().info.get(_WRITES, {})


_GROUP_OF = {table: group for group, tables in REFERENCE_TABLES.items() for table in tables}
# group -> INSERT, UPDATE and DELETE statements sent to its tables in the connection's transaction,
# whoever sent them (an ORM flush, a session's or a connection's bulk statement). Text SQL is not
# seen: the stamps it renews are read by the next transaction.
_WRITES = "sitthi.reference_writes"


@event.listens_for(Engine, "before_execute")
def _count_reference_writes(conn, clauseelement, *_args) -> None:
    if isinstance(clauseelement, UpdateBase):
        group = _GROUP_OF.get(getattr(getattr(clauseelement, "table", None), "name", None))
        if group is not None:
            writes = conn.info.setdefault(_WRITES, {})
            writes[group] = writes.get(group, 0) + 1


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_writes(conn) -> None:
    conn.info.pop(_WRITES, None)


@event.listens_for(Pool, "reset")
def _forget_writes_of_returned_connection(dbapi_connection, connection_record, reset_state) -> None:
    connection_record.info.pop(_WRITES, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_stamps(session, *_args) -> None:
    """Each transaction reads the stamps anew."""
    session.info.pop(_STAMPS, None)
