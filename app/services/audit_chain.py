"""The audit trail as a chain: each row carries the hash of the row before it.

Whoever writes audit rows (the services through the ORM, the set-based jobs and imports through
multi-row INSERTs), the rows a transaction wrote are *sealed* just before it commits: under one
lock for the whole table (an advisory lock on PostgreSQL; SQLite has one writer at a time), each
gets the next `chain_seq`, the `row_hash` of the row sealed before it as `prev_hash`, and its own
`row_hash`: SHA-256 of that previous hash and every recorded column of the row. The lock is held
only from sealing to commit, so a long import does not hold up everyone else's writes.

A row changed afterwards no longer matches its hash; a row deleted leaves a gap in the sequence
and a link that points at nothing; a row added by hand, outside the app, has no place in the
chain. `verify` walks the chain in order, in batches, and names the first row that breaks it.
On PostgreSQL a trigger also refuses UPDATE (but the seal), DELETE and TRUNCATE (migration 0011).

No Flask here.
"""
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import JSON, bindparam, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.models import AuditEvent

CHAIN_COLUMNS = ("prev_hash", "row_hash", "chain_seq")
ANALYZED_COLUMNS = ("id", "occurred_at", "action", "actor_id", "on_behalf_of_id", "object_type", "object_id",
                    "unit_id", "job_run_id", "chain_seq")
# One lock for the whole chain (an arbitrary 64-bit key: "sitthi audit").
CHAIN_LOCK = 0x5177_4155_4449_54
_WRITTEN = "sitthi.audit_ids"
_PENDING = "sitthi.audit_rows"
BATCH = 5_000
# Written sealed at commit from this many rows (PostgreSQL): written first and sealed after, the
# 230,000 rows of a personnel import were each rewritten by the seal (5 s of its 28).
WRITTEN_AT_COMMIT = 1_000


# -- what a transaction wrote -----------------------------------------------------------------
def add_rows(session: Session, rows: list[dict]) -> None:
    """Write these audit rows (each names occurred_at), to be sealed when the transaction commits.

    A large batch on PostgreSQL (WRITTEN_AT_COMMIT rows or more) is kept until commit and only
    then written, sealed: until then the transaction itself does not read it back.
    """
    if not rows:
        return
    if len(rows) >= WRITTEN_AT_COMMIT and session.get_bind().dialect.name == "postgresql":
        session.info.setdefault(_PENDING, []).extend(rows)
        return
    table = AuditEvent.__table__
    ids = session.execute(insert(table).returning(table.c.id), rows).scalars().all()
    _note(session, ids)


def rows_waiting(session: Session) -> bool:
    """Whether audit rows wait for this transaction's commit: written but not sealed, or held."""
    return bool(session.info.get(_WRITTEN) or session.info.get(_PENDING))


def _note(session: Session, ids: Iterable[int]) -> None:
    session.info.setdefault(_WRITTEN, []).extend(ids)


@event.listens_for(Session, "after_flush")
def _note_orm_rows(session: Session, _context) -> None:
    ids = [row.id for row in session.new if isinstance(row, AuditEvent)]
    if ids:
        _note(session, ids)


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    session.flush()  # rows added but not yet sent are sealed with the rest
    ids = session.info.pop(_WRITTEN, None)
    pending = session.info.pop(_PENDING, None)
    if ids or pending:
        seal(session, sorted(set(ids or ())), pending or [])


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_PENDING, None)


# -- sealing -----------------------------------------------------------------------------------
def seal(session: Session, ids: list[int], pending: list[dict] = ()) -> None:
    """Give these rows (in id order) their place, link and hash in the chain; then write the
    `pending` rows (PostgreSQL), each with its place, link and hash from the start."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    table = AuditEvent.__table__
    last = connection.execute(
        select(table.c.chain_seq, table.c.row_hash).where(table.c.chain_seq.is_not(None))
        .order_by(table.c.chain_seq.desc()).limit(1)).first()
    seq, previous = (last.chain_seq, last.row_hash) if last else (0, "")
    for start in range(0, len(ids), BATCH):
        rows = connection.execute(select(table).where(table.c.id.in_(ids[start:start + BATCH]))
                                  .order_by(table.c.id)).mappings().all()
        links = []
        for row in rows:
            seq += 1
            row_hash = row_digest(previous, row)
            links.append({"b_id": row["id"], "b_seq": seq, "b_prev": previous, "b_hash": row_hash})
            previous = row_hash
        connection.execute(
            update(table).where(table.c.id == bindparam("b_id"))
            .values(chain_seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), row_hash=bindparam("b_hash")),
            links)
    if pending:
        _write_sealed(connection, pending, seq, previous)


def _write_sealed(connection, pending: list[dict], seq: int, previous: str) -> None:
    """COPY the rows in, each with an id from the table's sequence and its link and hash, in the
    order given (the order they were written in)."""
    table = AuditEvent.__table__
    data = [column.name for column in table.columns if column.name not in CHAIN_COLUMNS]
    documents = [position for position, name in enumerate(data) if isinstance(table.c[name].type, JSON)]
    # One array, not a row per id: 230,000 rows through the result machinery cost a third of a second.
    ids = connection.execute(text("SELECT array_agg(nextval(pg_get_serial_sequence('audit_event', 'id'))) "
                                  "FROM generate_series(1, :n)"), {"n": len(pending)}).scalar_one()
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, \
            cursor.copy(f"COPY audit_event ({', '.join((*data, *CHAIN_COLUMNS))}) FROM STDIN") as copy:
        for new_id, given in zip(sorted(ids), pending, strict=True):
            row = {name: given.get(name) for name in data}
            row["id"] = new_id
            seq += 1
            row_hash = row_digest(previous, row)
            values = list(row.values())
            for position in documents:
                if values[position] is not None:
                    values[position] = json.dumps(values[position], ensure_ascii=False)
            # In CHAIN_COLUMNS' order: prev_hash, row_hash, chain_seq.
            copy.write_row([*values, previous, row_hash, seq])
            previous = row_hash
    # PostgreSQL plans blind after a bulk load until it has statistics (FAB5.md); inside the
    # transaction, so they are right the moment it commits. Only the columns the trail's lists
    # filter and sort on: the texts, documents and hashes took most of the time (1.3 s at 230,000).
    connection.exec_driver_sql(f"ANALYZE audit_event ({', '.join(ANALYZED_COLUMNS)})")


def row_digest(previous: str, row: Mapping) -> str:
    """SHA-256 of the previous row's hash and this row's recorded columns (nulls left out, so a
    column added later, empty on older rows, leaves their hashes as they were)."""
    fields = {name: value if value.__class__ in _AS_THEY_ARE else _canonical(value)
              for name, value in row.items() if value is not None and name not in CHAIN_COLUMNS}
    payload = _PAYLOAD.encode({"previous": previous, "row": fields})
    return hashlib.sha256(payload.encode()).hexdigest()


# What json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":")) writes, with one
# encoder made once (json.dumps makes one per call when given options: a third of a seal's time).
_PAYLOAD = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_AS_THEY_ARE = frozenset({str, int})


def _canonical(value):
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@functools.lru_cache(maxsize=256)
def _utc_text(value: datetime) -> str:
    """Rows written together share their time: an import's 230,000 rows spent 0.2 s on it."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


# -- verifying ---------------------------------------------------------------------------------
@dataclass
class Verdict:
    checked: int = 0
    outside: int = 0            # rows with no place in the chain (written around the app)
    broken_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None and self.outside == 0


def verify(session: Session, batch: int = BATCH) -> Verdict:
    """Walk the chain in order and recompute every link; stop at the first row that breaks it."""
    table = AuditEvent.__table__
    verdict = Verdict()
    verdict.outside = session.scalar(select(func.count()).select_from(table).where(table.c.chain_seq.is_(None)))
    seq, previous = 0, ""
    while True:
        rows = session.execute(select(table).where(table.c.chain_seq > seq)
                               .order_by(table.c.chain_seq).limit(batch)).mappings().all()
        if not rows:
            return verdict
        for row in rows:
            if row["chain_seq"] != seq + 1:
                verdict.broken_id = row["id"]
                verdict.reason = f"rows {seq + 1}..{row['chain_seq'] - 1} of the chain are missing before it"
                return verdict
            if row["prev_hash"] != previous:
                verdict.broken_id, verdict.reason = row["id"], "its link does not match the row before it"
                return verdict
            if row_digest(previous, row) != row["row_hash"]:
                verdict.broken_id, verdict.reason = row["id"], "its content no longer matches its hash"
                return verdict
            verdict.checked += 1
            seq, previous = row["chain_seq"], row["row_hash"]
