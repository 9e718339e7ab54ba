"""Personnel import: a POLIS export of officers, upserted by national ID.

Every row is checked in Python against reference data loaded once (ranks with the variants
personnel exports write, units by code or exact Thai name, position levels, duty lines,
statuses); a refused row becomes an ImportReject, a good row a line of the staging table. The
officer table is then written in three statements: UPDATE the officers whose values differ
(IS DISTINCT FROM, so an unchanged row is never written), INSERT the new ones, and one audit event
per written officer. A blank optional cell keeps what the record holds: an export without e-mail
addresses does not erase the ones officers gave.

Only the officers whose record changed are handed to the personnel rules: a new officer holds no
grant and no login yet, so the rules have nothing to do for them.
"""
import re
from collections import defaultdict
from datetime import date

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.domain import national_id
from app.domain.inputs import CONTROL_CHARACTERS
from app.domain.thai_dates import parse_be
from app.errors import N_
from app.models import DutyLine, Officer, PositionLevel, Rank, Unit
from app.services import audit_chain
from app.services.clock import Clock
from app.services.imports import (
    MSG_BAD_TEXT,
    MSG_REQUIRED,
    MSG_TOO_LONG,
    ImportResult,
    Progress,
    Reject,
    analyze,
    reading,
)

MSG_BAD_ID = N_("The national ID %(value)s is not valid (13 digits with a matching check digit).")
MSG_DUPLICATE = N_("The national ID %(value)s appears more than once in the file (lines %(lines)s).")
MSG_UNKNOWN_RANK = N_("Unknown rank: %(value)s.")
MSG_UNKNOWN_UNIT = N_("Unknown unit: %(value)s (give the unit code or its exact Thai name).")
MSG_AMBIGUOUS_UNIT = N_("More than one unit is named %(value)s: give the unit code.")
MSG_BAD_DATE = N_("The birth date %(value)s is not a date written dd/mm/yyyy in the Buddhist Era.")
MSG_FUTURE_DATE = N_("The birth date %(value)s is not in the past.")
MSG_UNKNOWN_STATUS = N_("Unknown status: %(value)s.")
MSG_UNKNOWN_LEVEL = N_("Unknown position level: %(value)s.")
MSG_UNKNOWN_DUTY_LINE = N_("Unknown duty line: %(value)s.")
MSG_OUT_OF_COMMAND = N_("The unit %(value)s is outside your command: personnel staff import the officers of "
                        "their own command only.")
MSG_BAD_EMAIL = N_("The e-mail address %(value)s is not valid.")

# field -> (the Thai header, other names it goes by)
COLUMNS = {
    "national_id": ("เลขประจำตัวประชาชน", "เลขบัตรประชาชน", "citizen_id", "pid"),
    "rank": ("ยศ",),
    "first_name": ("ชื่อ",),
    "last_name": ("นามสกุล",),
    "birth_date": ("วันเกิด", "วันเดือนปีเกิด", "date_of_birth"),
    "position": ("ตำแหน่ง", "position_title"),
    "position_number": ("เลขตำแหน่ง",),
    "level": ("ระดับ", "ระดับตำแหน่ง", "position_level"),
    "duty_line": ("สายงาน",),
    "unit": ("หน่วยงาน", "สังกัด", "unit_code"),
    "status": ("สถานภาพ", "สถานะ"),
    "email": ("อีเมล", "e-mail", "อีเมล์"),
    "phone": ("โทรศัพท์", "mobile", "เบอร์โทรศัพท์"),
}
REQUIRED = ("national_id", "rank", "first_name", "last_name", "unit")
LIMITS = {"first_name": 100, "last_name": 100, "position": 200, "position_number": 30, "email": 254,
          "phone": 20}

# The words exports use for a status; blank means serving (POLIS lists serving officers bare).
STATUS_WORDS = {
    "active": ("active", "ปกติ", "ประจำการ", "รับราชการ", "ปฏิบัติราชการ", "ปฏิบัติหน้าที่"),
    # Resigned or dismissed officers leave for good, as retired ones do: the same rule applies.
    "retired": ("retired", "เกษียณ", "เกษียณอายุ", "เกษียณอายุราชการ", "พ้นจากราชการ", "ลาออก", "resigned",
                "ไล่ออก", "ปลดออก", "dismissed"),
    "transferred_out": ("transferred_out", "transferred", "โอนย้าย", "ย้ายออก", "โอนออก",
                        "โอนไปส่วนราชการอื่น"),
    "suspended": ("suspended", "พักราชการ", "ถูกพักราชการ", "สั่งพักราชการ"),
    "deceased": ("deceased", "dead", "ถึงแก่กรรม", "เสียชีวิต"),
}
# Abbreviations of the duty lines that exports and orders use (DOMAIN.md).
DUTY_LINE_ABBREVIATIONS = {"ป": "prevention", "ปป": "prevention", "สส": "investigation", "จร": "traffic",
                           "อก": "administration", "ฝอ": "administration", "สอบสวน": "inquiry"}
_KEY_NOISE = re.compile(r"[\s.]+")
_PARENTHESES = re.compile(r"\(.*?\)")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHUNK = 5000  # rows between two progress reports


def key(text: str) -> str:
    """A name as compared: no spaces, no dots, no case (พ.ต.อ. = พตอ = พ. ต. อ.)."""
    return _KEY_NOISE.sub("", text).lower()


def rank_key(text: str) -> str:
    """The rank a personnel export's variant stands for, as a key of `ranks_by_key`.

    "ร.ต.อ.หญิง", "ร.ต.อ. หญิง" (female officers), "พ.ต.อ.(พิเศษ)" (a pay grade), "ว่าที่ ร.ต.ต."
    (acting) and "นายดาบตำรวจ" (the long form) all name a rank of the table; exact keys, so
    พล.ต.อ. never matches พ.ต.อ.
    """
    value = key(_PARENTHESES.sub("", text))
    if value.startswith("ว่าที่"):
        value = value[len("ว่าที่"):]
    for suffix in ("หญิง", "พิเศษ"):
        if value.endswith(suffix):
            value = value[: -len(suffix)]
    return value


class Reference:
    """The reference data a row is checked against, loaded once per import."""

    def __init__(self, session: Session, command_id: int | None):
        self.ranks: dict[str, int] = {}
        for rank in session.scalars(select(Rank)):
            for name in (rank.name_th, rank.abbr_th, rank.name_en, rank.abbr_en):
                if name:
                    self.ranks[rank_key(name)] = rank.id
        units = session.execute(select(Unit.id, Unit.code, Unit.name_th, Unit.abbr_th, Unit.parent_id)).all()
        self.unit_codes = {u.code.strip().lower(): u.id for u in units}
        names: dict[str, set[int]] = defaultdict(set)
        for u in units:
            for name in (u.name_th, u.abbr_th):
                if name:
                    names[" ".join(name.split())].add(u.id)
        self.unit_names = names
        self.allowed_units = None if command_id is None else _subtree({u.id: u.parent_id for u in units}, command_id)
        self.levels: dict[str, int] = {}
        for level in session.scalars(select(PositionLevel)):
            inner = re.search(r"\((.*?)\)", level.name_th)
            for name in (level.code, level.name_th, level.name_en, _PARENTHESES.sub("", level.name_th),
                         inner.group(1) if inner else None):
                if name:
                    self.levels[key(name)] = level.id
        lines = {line.code: line.id for line in session.scalars(select(DutyLine))}
        self.duty_lines: dict[str, int] = {key(a): lines[c] for a, c in DUTY_LINE_ABBREVIATIONS.items() if c in lines}
        for line in session.scalars(select(DutyLine)):
            for name in (line.code, line.name_th, line.name_en):
                self.duty_lines[key(name)] = line.id
        self.statuses = {key(word): status for status, words in STATUS_WORDS.items() for word in words}
        self.cache_ranks, self.cache_units, self.cache_statuses, self.cache_levels, self.cache_lines = {}, {}, {}, {}, {}
        # Birth dates repeat too: a force of 230,000 is born on some 15,000 days.
        self.cache_dates: dict[str, date] = {}


def _subtree(parents: dict[int, int | None], root: int) -> set[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for unit_id, parent_id in parents.items():
        if parent_id is not None:
            children[parent_id].append(unit_id)
    found, todo = {root}, [root]
    while todo:
        for child in children[todo.pop()]:
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class _Refused(Exception):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message, self.params = message, params


# The staging table: one row per good line, every value already an id or a typed value.
STAGE_COLUMNS = ("line", "national_id", "rank_id", "first_name_th", "last_name_th", "birth_date",
                 "position_title", "position_number", "position_level_id", "duty_line_id", "status",
                 "home_unit_id", "email", "mobile", "is_new")
# Columns a blank cell leaves as they are.
KEPT_WHEN_BLANK = ("birth_date", "position_title", "position_number", "position_level_id", "duty_line_id",
                   "email", "mobile")
WRITTEN = ("rank_id", "first_name_th", "last_name_th", "status", "home_unit_id", *KEPT_WHEN_BLANK)


def _stage_table(name: str) -> Table:
    return Table(
        name, MetaData(),
        Column("line", Integer), Column("national_id", String(13), primary_key=True),
        Column("rank_id", Integer), Column("first_name_th", String(100)), Column("last_name_th", String(100)),
        Column("birth_date", Date), Column("position_title", String(200)), Column("position_number", String(30)),
        Column("position_level_id", Integer), Column("duty_line_id", Integer), Column("status", String(20)),
        Column("home_unit_id", Integer), Column("email", String(254)), Column("mobile", String(20)),
        Column("is_new", Boolean),
        prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
    )


def import_personnel(session: Session, clock: Clock, content: bytes, *, job_run_id: int | None = None,
                     command_id: int | None = None, actor_user_id: int | None = None,
                     progress: Progress | None = None) -> ImportResult:
    """Check every row of the file and upsert the good ones; return the counts and the rejects.

    `command_id`: a Personnel user's command; rows whose unit lies outside it are refused.
    Writes in the caller's transaction (nothing is committed here).
    """
    table = reading.read(content)
    columns = reading.column_map(table.headers, COLUMNS, REQUIRED)
    ref = Reference(session, command_id)
    result = ImportResult()
    good: dict[str, tuple] = {}
    lines_of: dict[str, list[int]] = defaultdict(list)
    today = clock.today
    for number, cells in table.rows:
        result.total += 1
        try:
            row = _check(cells, columns, ref, today)
        except _Refused as refused:
            nid = _cell(cells, columns.get("national_id"))
            result.rejects.append(Reject(number, nid[:100] or None, refused.message, refused.params,
                                         reading.raw_row(table.headers, cells)))
        else:
            nid = row[0]
            lines_of[nid].append(number)
            if nid not in good:
                good[nid] = (*row, number)
        if progress is not None and result.total % CHUNK == 0:
            progress(result.total, max(table.estimated_rows, result.total))
    _refuse_duplicates(good, lines_of, table.headers, result, content)
    if progress is not None:
        progress(result.total, result.total)
    if good:
        _write(session, clock, good, result, job_run_id, actor_user_id)
    result.unchanged = len(good) - result.created - result.updated
    # The officers written (their audit events are analysed when written, at commit: audit_chain);
    # the rules' own writes are the job's.
    analyze(session, result.created + result.updated, "officer")
    result.rejects.sort(key=lambda r: r.line)
    return result


def _cell(cells: list, index: int | None):
    if index is None or index >= len(cells):
        return ""
    value = cells[index]
    return value if isinstance(value, date) else str(value).strip()


_UNSEEN = object()


def _cached(ref: "Reference", cache: dict, text: str, find):
    """Exports repeat the same few ranks, levels, lines and units on every row: look each up once."""
    found = cache.get(text, _UNSEEN)
    if found is _UNSEEN:
        cache[text] = found = find(ref, text)
    return found


def _status(ref: "Reference", text: str) -> str | None:
    return ref.statuses.get(key(text))


def _level(ref: "Reference", text: str) -> int | None:
    return ref.levels.get(key(text))


def _duty_line(ref: "Reference", text: str) -> int | None:
    return ref.duty_lines.get(key(text))


def _birth_date(_ref: "Reference", text: str) -> date:
    return parse_be(text)


def _rank(ref: "Reference", text: str) -> int | None:
    value = rank_key(text)
    found = ref.ranks.get(value)
    if found is None and value.startswith("นาย"):
        found = ref.ranks.get(value[len("นาย"):])  # นายดาบตำรวจ
    return found


def _unit(ref: "Reference", text: str):
    """The unit id, or the message refusing the text."""
    unit_id = ref.unit_codes.get(text.lower())
    if unit_id is not None:
        return unit_id
    named = ref.unit_names.get(" ".join(text.split()), set())
    if len(named) > 1:
        return MSG_AMBIGUOUS_UNIT
    return next(iter(named)) if named else MSG_UNKNOWN_UNIT


def _check(cells: list, columns: dict[str, int], ref: Reference, today: date) -> tuple:
    width = len(cells)
    values = {}
    for name, index in columns.items():
        value = cells[index] if index < width else ""
        values[name] = value.strip() if value.__class__ is str else value
    if CONTROL_CHARACTERS.search("".join(v for v in values.values() if v.__class__ is str)):
        raise _Refused(MSG_BAD_TEXT)
    for name in REQUIRED:
        if not values.get(name):
            raise _Refused(MSG_REQUIRED, column=COLUMNS[name][0])
    for name, limit in LIMITS.items():
        value = values.get(name)
        if value and len(str(value)) > limit:
            raise _Refused(MSG_TOO_LONG, column=COLUMNS[name][0], limit=limit)
    nid = str(values["national_id"])
    if not (len(nid) == 13 and national_id.is_valid(nid)):
        nid = national_id.normalize(nid)
        if not national_id.is_valid(nid):
            raise _Refused(MSG_BAD_ID, value=str(values["national_id"])[:40])
    rank_id = _cached(ref, ref.cache_ranks, values["rank"], _rank)
    if rank_id is None:
        raise _Refused(MSG_UNKNOWN_RANK, value=values["rank"][:60])
    unit_text = values["unit"]
    unit_id = _cached(ref, ref.cache_units, unit_text, _unit)
    if isinstance(unit_id, str):
        raise _Refused(unit_id, value=unit_text[:200])
    if ref.allowed_units is not None and unit_id not in ref.allowed_units:
        raise _Refused(MSG_OUT_OF_COMMAND, value=unit_text[:200])
    birth = values.get("birth_date") or None
    if isinstance(birth, str):
        try:
            birth = _cached(ref, ref.cache_dates, birth, _birth_date)
        except ValueError:
            raise _Refused(MSG_BAD_DATE, value=birth[:40]) from None
    elif isinstance(birth, date) and birth.year > 2400:
        birth = birth.replace(year=birth.year - 543)  # a B.E. year typed into a date cell
    if birth is not None and birth >= today:
        raise _Refused(MSG_FUTURE_DATE, value=birth.isoformat())
    status = "active"
    if values.get("status"):
        status = _cached(ref, ref.cache_statuses, values["status"], _status)
        if status is None:
            raise _Refused(MSG_UNKNOWN_STATUS, value=values["status"][:60])
    level_id = None
    if values.get("level"):
        level_id = _cached(ref, ref.cache_levels, values["level"], _level)
        if level_id is None:
            raise _Refused(MSG_UNKNOWN_LEVEL, value=values["level"][:150])
    line_id = None
    if values.get("duty_line"):
        line_id = _cached(ref, ref.cache_lines, values["duty_line"], _duty_line)
        if line_id is None:
            raise _Refused(MSG_UNKNOWN_DUTY_LINE, value=values["duty_line"][:100])
    email = values.get("email") or None
    if email is not None and not _EMAIL.match(email):
        raise _Refused(MSG_BAD_EMAIL, value=email[:254])
    return (nid, rank_id, values["first_name"], values["last_name"], birth, values.get("position") or None,
            values.get("position_number") or None, level_id, line_id, status, unit_id, email,
            values.get("phone") or None)


def _refuse_duplicates(good: dict, lines_of: dict, headers: list[str], result: ImportResult, content) -> None:
    """A national ID given twice is refused on every line: which of the two is right is not ours
    to guess."""
    repeated = {nid: lines for nid, lines in lines_of.items() if len(lines) > 1}
    if not repeated:
        return
    wanted = {line for lines in repeated.values() for line in lines}
    cells_at = {number: cells for number, cells in reading.read(content).rows if number in wanted}
    for nid, lines in repeated.items():
        good.pop(nid, None)
        listed = ", ".join(str(n) for n in lines)
        for number in lines:
            result.rejects.append(Reject(number, nid, MSG_DUPLICATE, {"value": nid, "lines": listed},
                                         reading.raw_row(headers, cells_at.get(number, []))))


def _write(session: Session, clock: Clock, good: dict[str, tuple], result: ImportResult,
           job_run_id: int | None, actor_user_id: int | None) -> None:
    conn = session.connection()
    existing = set(conn.execute(select(Officer.national_id)).scalars())
    stage = _stage_table(f"stage_officer_{job_run_id or 0}")
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{stage.name}")
    stage.create(conn)
    rows = [(row[-1], *row[:-1], row[0] not in existing) for row in good.values()]
    _fill(conn, stage, rows)
    officer = Officer.__table__
    s = stage.c
    differs = [officer.c[c].is_distinct_from(s[c]) for c in ("rank_id", "first_name_th", "last_name_th",
                                                              "status", "home_unit_id")]
    differs += [and_(s[c].is_not(None), officer.c[c].is_distinct_from(s[c])) for c in KEPT_WHEN_BLANK]
    match = and_(officer.c.national_id == s.national_id, s.is_new.is_(False), or_(*differs))
    # The values before, for the audit trail of the officers about to change.
    before = {row.national_id: row for row in conn.execute(
        select(officer.c.id, officer.c.national_id, *[officer.c[c] for c in WRITTEN]).where(
            exists().where(match)))}
    if before:
        values = {c: s[c] for c in ("rank_id", "first_name_th", "last_name_th", "status", "home_unit_id")}
        values.update({c: func.coalesce(s[c], officer.c[c]) for c in KEPT_WHEN_BLANK})
        updated = conn.execute(update(officer).where(match).values(
            **values, version=officer.c.version + 1, updated_at=clock.now).returning(officer.c.id)).scalars().all()
        result.updated = len(updated)
        result.changed_ids = list(updated)
        _audit_updates(session, clock, before, good, job_run_id, actor_user_id)
    created_columns = [c for c in STAGE_COLUMNS if c not in ("line", "is_new")]
    new_rows = (select(*[s[c] for c in created_columns], literal(1), literal(clock.now), literal(clock.now))
                .where(s.is_new.is_(True)).order_by(s.national_id))
    # Another import may have added the same officer meanwhile: theirs stands, ours is not written.
    upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    insert_new = (upsert(officer).from_select([*created_columns, "version", "created_at", "updated_at"], new_rows)
                  .on_conflict_do_nothing(index_elements=["national_id"]))
    created = []
    if any(row[-1] for row in rows):
        # What the audit rows name comes back with the insert: read again, 230,000 rows cost a second.
        created = conn.execute(insert_new.returning(
            officer.c.id, officer.c.home_unit_id, officer.c.first_name_th, officer.c.last_name_th)).all()
        result.created = len(created)
    audit_chain.add_rows(session, [
        {"occurred_at": clock.now, "action": "Officer.import_create", "actor_id": actor_user_id,
         "object_type": "Officer", "object_id": row.id, "unit_id": row.home_unit_id,
         "summary": f"{row.first_name_th} {row.last_name_th}", "job_run_id": job_run_id}
        for row in created])
    stage.drop(conn)  # a second import in the same transaction makes its own


def _fill(conn, stage: Table, rows: list[tuple]) -> None:
    """COPY on PostgreSQL (the fastest way in), executemany elsewhere."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {stage.name} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.exec_driver_sql(f"ANALYZE {stage.name}")
    else:
        conn.execute(insert(stage), [dict(zip(STAGE_COLUMNS, row, strict=True)) for row in rows])


def _audit_updates(session: Session, clock: Clock, before: dict, good: dict, job_run_id, actor_user_id) -> None:
    """One event per changed officer, with the values that changed (blank cells changed nothing)."""
    events = []
    for nid, old in before.items():
        new = dict(zip(("rank_id", "first_name_th", "last_name_th", "birth_date", "position_title",
                        "position_number", "position_level_id", "duty_line_id", "status", "home_unit_id",
                        "email", "mobile"), good[nid][1:13], strict=True))
        was, now = {}, {}
        for column in WRITTEN:
            value = new[column]
            if value is None and column in KEPT_WHEN_BLANK:
                continue
            if getattr(old, column) != value:
                was[column], now[column] = _plain(getattr(old, column)), _plain(value)
        events.append({"occurred_at": clock.now, "action": "Officer.import_update", "actor_id": actor_user_id,
                       "object_type": "Officer", "object_id": old.id, "unit_id": new["home_unit_id"],
                       "summary": f"{new['first_name_th']} {new['last_name_th']}", "before": was or None,
                       "after": now or None, "job_run_id": job_run_id})
    audit_chain.add_rows(session, events)


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value
