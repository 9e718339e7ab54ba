"""Usage import: how many queries each officer made on each source, and when last, from the
agencies' exports. Upserted by (officer, source); the rights audit reads it to flag rights not used
for N days. Importing the same file again writes nothing.
"""
from datetime import date

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from app.domain import national_id
from app.domain.inputs import CONTROL_CHARACTERS
from app.domain.thai_dates import parse_be
from app.errors import N_
from app.models import DataSource, Officer, SourceUsage
from app.services.clock import Clock
from app.services.imports import MSG_BAD_TEXT, MSG_REQUIRED, ImportResult, Progress, Reject, analyze, reading
from app.services.imports.personnel import MSG_BAD_ID, key

MSG_UNKNOWN_OFFICER = N_("No officer has the national ID %(value)s.")
MSG_UNKNOWN_SOURCE = N_("Unknown data source: %(value)s.")
MSG_BAD_COUNT = N_("The query count %(value)s is not a whole number of 0 or more.")
MSG_BAD_USED_DATE = N_("The last-used date %(value)s is not a date written dd/mm/yyyy in the Buddhist Era.")
MSG_DUPLICATE_PAIR = N_("The officer %(value)s and source %(source)s appear more than once in the file "
                        "(lines %(lines)s).")

COLUMNS = {
    "national_id": ("เลขประจำตัวประชาชน", "เลขบัตรประชาชน", "citizen_id"),
    "source": ("แหล่งข้อมูล", "data_source", "source_code"),
    "query_count": ("จำนวนครั้ง", "จำนวนการสืบค้น", "queries", "count"),
    "last_used": ("ใช้ล่าสุด", "วันที่ใช้ล่าสุด", "last_used_on", "last_used_date"),
}
REQUIRED = ("national_id", "source", "query_count")


def import_usage(session: Session, clock: Clock, content: bytes, *, job_run_id: int | None = None,
                 command_id: int | None = None, actor_user_id: int | None = None,
                 progress: Progress | None = None) -> ImportResult:
    table = reading.read(content)
    columns = reading.column_map(table.headers, COLUMNS, REQUIRED)
    sources = {}
    for source in session.scalars(select(DataSource)):
        for name in (source.code, source.name_th, source.name_en):
            sources[key(name)] = source.id
    officers = dict(session.execute(select(Officer.national_id, Officer.id)).all())
    result = ImportResult()
    good: dict[tuple[int, int], dict] = {}
    lines_of: dict[tuple[int, int], list[int]] = {}
    cells_at: dict[int, list] = {}
    for number, cells in table.rows:
        result.total += 1
        values = {n: (cells[i] if isinstance(cells[i], date) else str(cells[i]).strip()) if i < len(cells) else ""
                  for n, i in columns.items()}
        try:
            row = _check(values, officers, sources, clock.today)
        except _Refused as refused:
            result.rejects.append(Reject(number, str(values.get("national_id") or "")[:100] or None,
                                         refused.message, refused.params, reading.raw_row(table.headers, cells)))
            continue
        pair = (row["officer_id"], row["data_source_id"])
        lines_of.setdefault(pair, []).append(number)
        cells_at[number] = cells
        if len(lines_of[pair]) == 1:
            good[pair] = row | {"line": number, "nid": values["national_id"], "source": values["source"]}
        if progress is not None and result.total % 5000 == 0:
            progress(result.total, table.estimated_rows)
    for pair, lines in lines_of.items():
        if len(lines) > 1:
            row = good.pop(pair)
            for number in lines:
                result.rejects.append(Reject(number, row["nid"], MSG_DUPLICATE_PAIR,
                                             {"value": row["nid"], "source": row["source"],
                                              "lines": ", ".join(map(str, lines))},
                                             reading.raw_row(table.headers, cells_at[number])))
    existing = {(u.officer_id, u.data_source_id): u for u in session.execute(
        select(SourceUsage.id, SourceUsage.officer_id, SourceUsage.data_source_id, SourceUsage.query_count,
               SourceUsage.last_used_on))}
    new, changed = [], []
    for pair, row in good.items():
        old = existing.get(pair)
        if old is None:
            new.append({"officer_id": pair[0], "data_source_id": pair[1], "query_count": row["query_count"],
                        "last_used_on": row["last_used_on"], "job_run_id": job_run_id})
        elif (old.query_count, old.last_used_on) != (row["query_count"], row["last_used_on"]):
            changed.append({"b_id": old.id, "query_count": row["query_count"], "last_used_on": row["last_used_on"],
                            "job_run_id": job_run_id})
    conn = session.connection()
    if new:
        conn.execute(insert(SourceUsage), new)
    if changed:
        conn.execute(update(SourceUsage).where(SourceUsage.id == bindparam("b_id")), changed)
    result.created, result.updated = len(new), len(changed)
    analyze(session, result.created + result.updated, "source_usage")
    result.unchanged = len(good) - len(new) - len(changed)
    result.rejects.sort(key=lambda r: r.line)
    return result


class _Refused(Exception):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message, self.params = message, params


def _check(values: dict, officers: dict, sources: dict, today: date) -> dict:
    for value in values.values():
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise _Refused(MSG_BAD_TEXT)
    for name in REQUIRED:
        if not values.get(name):
            raise _Refused(MSG_REQUIRED, column=COLUMNS[name][0])
    nid = national_id.normalize(str(values["national_id"]))
    if not national_id.is_valid(nid):
        raise _Refused(MSG_BAD_ID, value=str(values["national_id"])[:40])
    officer_id = officers.get(nid)
    if officer_id is None:
        raise _Refused(MSG_UNKNOWN_OFFICER, value=nid)
    source_id = sources.get(key(values["source"]))
    if source_id is None:
        raise _Refused(MSG_UNKNOWN_SOURCE, value=values["source"][:100])
    text = values["query_count"].replace(",", "")
    if not text.isdecimal() or len(text) > 9:  # isdigit() admits "²", which int() cannot read
        raise _Refused(MSG_BAD_COUNT, value=values["query_count"][:30])
    used = values.get("last_used") or None
    if isinstance(used, str):
        try:
            used = parse_be(used)
        except ValueError:
            raise _Refused(MSG_BAD_USED_DATE, value=used[:40]) from None
    if used is not None and used > today:
        raise _Refused(MSG_BAD_USED_DATE, value=used.isoformat())
    return {"officer_id": officer_id, "data_source_id": source_id, "query_count": int(text), "last_used_on": used}
