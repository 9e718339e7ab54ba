"""Units import: the organisation tree (code, names, kind, parent code, administering flag).

A force has about 1,700 units, so the whole tree is compared in memory: every row is checked,
new units are inserted in one statement, changed ones updated in one (executemany), and parents
are set afterwards from the codes, so a parent may come later in the file than its children.
A parent that is neither in the file nor in the database, or a row that would make the tree a
cycle, is refused. Upserted by code; importing the same file again writes nothing.
"""
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from app.domain.inputs import CONTROL_CHARACTERS
from app.errors import N_
from app.models import Unit
from app.models.unit import UNIT_KINDS
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
from app.services.imports.personnel import key

MSG_UNKNOWN_KIND = N_("Unknown unit kind: %(value)s.")
MSG_UNKNOWN_PARENT = N_("The parent unit %(value)s is neither in the file nor in Sitthi.")
MSG_CYCLE = N_("The unit %(value)s would end up below itself in the tree.")
MSG_BAD_FLAG = N_("The administering-command flag %(value)s is not yes or no.")
MSG_DUPLICATE_CODE = N_("The unit code %(value)s appears more than once in the file (lines %(lines)s).")

COLUMNS = {
    "code": ("รหัสหน่วย", "unit_code"),
    "name_th": ("ชื่อหน่วย", "ชื่อหน่วยงาน", "name", "thai_name"),
    "name_en": ("ชื่อภาษาอังกฤษ", "english_name"),
    "abbr_th": ("ชื่อย่อ", "abbreviation", "abbr"),
    "kind": ("ประเภท", "ประเภทหน่วย", "type"),
    "parent_code": ("รหัสหน่วยต้นสังกัด", "หน่วยต้นสังกัด", "parent"),
    "is_admin_scope": ("หน่วยบริหารสิทธิ์", "administering_command", "admin_scope", "command_flag"),
    "province_th": ("จังหวัด", "province"),
}
REQUIRED = ("code", "name_th", "kind")
LIMITS = {"code": 30, "name_th": 200, "name_en": 200, "abbr_th": 60, "province_th": 100, "parent_code": 30}
KIND_WORDS = {
    "national": ("national", "ตร", "สำนักงานตำรวจแห่งชาติ", "ระดับประเทศ"),
    "command": ("command", "บช", "กองบัญชาการ", "ภ", "ตำรวจภูธรภาค"),
    "division": ("division", "บก", "กองบังคับการ", "ภจว", "ตำรวจภูธรจังหวัด"),
    "station": ("station", "สภ", "สน", "สถานีตำรวจ", "สถานี"),
    "other": ("other", "อื่นๆ", "อื่น"),
}
YES = {"1", "y", "yes", "true", "ใช่", "x", "✓"}
NO = {"", "0", "n", "no", "false", "ไม่ใช่", "ไม่"}
FIELDS = ("code", "name_th", "name_en", "abbr_th", "kind", "is_admin_scope", "province_th")


def import_units(session: Session, clock: Clock, content: bytes, *, job_run_id: int | None = None,
                 command_id: int | None = None, actor_user_id: int | None = None,
                 progress: Progress | None = None) -> ImportResult:
    table = reading.read(content)
    columns = reading.column_map(table.headers, COLUMNS, REQUIRED)
    kinds = {key(w): kind for kind, words in KIND_WORDS.items() for w in words}
    assert set(kinds.values()) <= set(UNIT_KINDS)
    result = ImportResult()
    rows: dict[str, dict] = {}
    lines_of: dict[str, list[int]] = {}
    cells_at: dict[int, list] = {}
    for number, cells in table.rows:
        result.total += 1
        cells_at[number] = cells
        values = {name: str(cells[i]).strip() if i < len(cells) else "" for name, i in columns.items()}
        try:
            row = _check(values, kinds)
        except _Refused as refused:
            result.rejects.append(Reject(number, values.get("code") or None, refused.message, refused.params,
                                         reading.raw_row(table.headers, cells)))
            continue
        lines_of.setdefault(row["code"], []).append(number)
        rows.setdefault(row["code"], {**row, "line": number})
        if progress is not None and result.total % 500 == 0:
            progress(result.total, table.estimated_rows)
    for code, lines in lines_of.items():
        if len(lines) > 1:
            rows.pop(code, None)
            for number in lines:
                result.rejects.append(Reject(number, code, MSG_DUPLICATE_CODE,
                                             {"value": code, "lines": ", ".join(map(str, lines))},
                                             reading.raw_row(table.headers, cells_at[number])))
    existing = {u.code: u for u in session.execute(select(
        Unit.id, Unit.code, Unit.parent_id, *[getattr(Unit, f) for f in FIELDS if f != "code"])).all()}
    code_of = {u.id: u.code for u in existing.values()}
    _refuse_broken_tree(rows, existing, code_of, result, table.headers, cells_at)
    _write(session, clock, rows, existing, result, job_run_id, actor_user_id)
    result.unchanged = len(rows) - result.created - result.updated
    analyze(session, result.created + result.updated, "unit")  # audit rows: when written (audit_chain)
    result.rejects.sort(key=lambda r: r.line)
    return result


class _Refused(Exception):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message, self.params = message, params


def _check(values: dict, kinds: dict) -> dict:
    for value in values.values():
        if CONTROL_CHARACTERS.search(value):
            raise _Refused(MSG_BAD_TEXT)
    for name in REQUIRED:
        if not values.get(name):
            raise _Refused(MSG_REQUIRED, column=COLUMNS[name][0])
    for name, limit in LIMITS.items():
        if len(values.get(name) or "") > limit:
            raise _Refused(MSG_TOO_LONG, column=COLUMNS[name][0], limit=limit)
    kind = kinds.get(key(values["kind"]))
    if kind is None:
        raise _Refused(MSG_UNKNOWN_KIND, value=values["kind"])
    flag = values.get("is_admin_scope", "").lower()
    if flag not in YES | NO:
        raise _Refused(MSG_BAD_FLAG, value=values["is_admin_scope"])
    return {"code": values["code"], "name_th": " ".join(values["name_th"].split()),
            "name_en": values.get("name_en") or None, "abbr_th": values.get("abbr_th") or None, "kind": kind,
            "is_admin_scope": flag in YES, "province_th": values.get("province_th") or None,
            "parent_code": values.get("parent_code") or None}


def _refuse_broken_tree(rows: dict, existing: dict, code_of: dict, result: ImportResult, headers, cells_at) -> None:
    """Refuse rows whose parent is nowhere or whose parent chain loops, until none is left."""
    while True:
        parent = {code: code_of.get(u.parent_id) for code, u in existing.items()}
        parent.update({code: row["parent_code"] for code, row in rows.items()})
        bad = {}
        for code, row in rows.items():
            if row["parent_code"] and row["parent_code"] not in rows and row["parent_code"] not in existing:
                bad[code] = (MSG_UNKNOWN_PARENT, {"value": row["parent_code"]})
                continue
            seen, at = {code}, parent.get(code)
            while at is not None:
                if at in seen:
                    bad[code] = (MSG_CYCLE, {"value": code})
                    break
                seen.add(at)
                at = parent.get(at)
        if not bad:
            return
        for code, (message, params) in bad.items():
            row = rows.pop(code)
            result.rejects.append(Reject(row["line"], code, message, params,
                                         reading.raw_row(headers, cells_at[row["line"]])))


def _write(session: Session, clock: Clock, rows: dict, existing: dict, result: ImportResult,
           job_run_id, actor_user_id) -> None:
    conn = session.connection()
    new = [{f: row[f] for f in FIELDS} | {"is_active": True} for code, row in rows.items() if code not in existing]
    changed, events = [], []
    for code, row in rows.items():
        old = existing.get(code)
        if old is None:
            continue
        before = {f: getattr(old, f) for f in FIELDS if f != "code" and getattr(old, f) != row[f]}
        if before:
            changed.append({"b_id": old.id, **{f: row[f] for f in FIELDS if f != "code"}})
            events.append(_event(clock, "Unit.import_update", old.id, row, job_run_id, actor_user_id,
                                 before, {f: row[f] for f in before}))
    if new:
        conn.execute(insert(Unit), new)
    if changed:
        conn.execute(update(Unit).where(Unit.id == bindparam("b_id")), changed)
    # Parents once every unit of the file exists.
    ids = dict(conn.execute(select(Unit.code, Unit.id)).all())
    parents, touched = [], {row["b_id"] for row in changed}
    for code, row in rows.items():
        wanted = ids.get(row["parent_code"]) if row["parent_code"] else None
        old = existing.get(code)
        if old is None:
            if wanted is not None:
                parents.append({"b_id": ids[code], "parent_id": wanted})
            events.append(_event(clock, "Unit.import_create", ids[code], row, job_run_id, actor_user_id,
                                 None, {f: row[f] for f in FIELDS} | {"parent": row["parent_code"]}))
        elif old.parent_id != wanted:
            parents.append({"b_id": old.id, "parent_id": wanted})
            if old.id not in touched:
                touched.add(old.id)
                events.append(_event(clock, "Unit.import_update", old.id, row, job_run_id, actor_user_id,
                                     {"parent_id": old.parent_id}, {"parent_id": wanted}))
    if parents:
        conn.execute(update(Unit).where(Unit.id == bindparam("b_id")), parents)
    audit_chain.add_rows(session, events)
    result.created = len(new)
    result.updated = len(touched)


def _event(clock: Clock, action: str, unit_id: int, row: dict, job_run_id, actor_user_id, before, after) -> dict:
    return {"occurred_at": clock.now, "action": action, "actor_id": actor_user_id, "object_type": "Unit",
            "object_id": unit_id, "unit_id": unit_id, "summary": f"{row['code']} {row['name_th']}",
            "before": before, "after": after, "job_run_id": job_run_id}
