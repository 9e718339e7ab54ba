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

from sqlalchemy import event, select
from sqlalchemy.orm import Session

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
        session.info[_STAMPS] = stamps


def _stamp(session: Session, group: str) -> int | None:
    stamps = session.info.get(_STAMPS)
    if stamps is None or group not in stamps:
        stamps = dict(session.execute(select(ReferenceStamp.name, ReferenceStamp.stamp)).all())
        session.info[_STAMPS] = stamps
    return stamps.get(group)


_GROUP_OF = {table: group for group, tables in REFERENCE_TABLES.items() for table in tables}


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_stamps(session, *_args) -> None:
    """Each transaction reads the stamps anew."""
    session.info.pop(_STAMPS, None)


def _forget(session, tables) -> None:
    """After this transaction writes a reference table, the new stamp its write made is read."""
    stamps = session.info.get(_STAMPS)
    if stamps:
        for table in tables:
            stamps.pop(_GROUP_OF.get(table), None)


@event.listens_for(Session, "before_flush")
def _forget_stamps_of_changed_rows(session, *_args) -> None:
    _forget(session, {getattr(row, "__tablename__", None) for row in (*session.new, *session.dirty, *session.deleted)})


@event.listens_for(Session, "do_orm_execute")
def _forget_stamps_on_bulk_writes(orm_execute_state) -> None:
    if orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete:
        _forget(orm_execute_state.session, {getattr(orm_execute_state.statement.table, "name", None)})
