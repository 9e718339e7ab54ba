"""The reference data of the circulars (ranks, duty lines, sources, chains, holidays).

Loaded by `flask sitthi init` on every deploy: rows are matched by their natural key and only
missing ones are added, so an Admin's later edits through the screens are kept.
"""
from datetime import date

import holidays as holiday_calendars
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Agency,
    ApprovalChain,
    ApprovalStage,
    DataSource,
    DutyLine,
    Holiday,
    PositionLevel,
    Rank,
    RankGroup,
    SystemFunction,
)

RANK_GROUPS = [
    (1, "กลุ่มที่ 1 (พ.ต.อ. ขึ้นไป)", "Group 1 (Pol.Col. and above)"),
    (2, "กลุ่มที่ 2 (ร.ต.ต. – พ.ต.ท.)", "Group 2 (Pol.Sub.Lt. – Pol.Lt.Col.)"),
    (3, "กลุ่มที่ 3 (ชั้นประทวน)", "Group 3 (non-commissioned)"),
]

# order, Thai, abbreviation, English, English abbreviation, class, group
RANKS = [
    (14, "พลตำรวจเอก", "พล.ต.อ.", "Police General", "Pol.Gen.", "commissioned", 1),
    (13, "พลตำรวจโท", "พล.ต.ท.", "Police Lieutenant General", "Pol.Lt.Gen.", "commissioned", 1),
    (12, "พลตำรวจตรี", "พล.ต.ต.", "Police Major General", "Pol.Maj.Gen.", "commissioned", 1),
    (11, "พันตำรวจเอก", "พ.ต.อ.", "Police Colonel", "Pol.Col.", "commissioned", 1),
    (10, "พันตำรวจโท", "พ.ต.ท.", "Police Lieutenant Colonel", "Pol.Lt.Col.", "commissioned", 2),
    (9, "พันตำรวจตรี", "พ.ต.ต.", "Police Major", "Pol.Maj.", "commissioned", 2),
    (8, "ร้อยตำรวจเอก", "ร.ต.อ.", "Police Captain", "Pol.Capt.", "commissioned", 2),
    (7, "ร้อยตำรวจโท", "ร.ต.ท.", "Police Lieutenant", "Pol.Lt.", "commissioned", 2),
    (6, "ร้อยตำรวจตรี", "ร.ต.ต.", "Police Sub-Lieutenant", "Pol.Sub.Lt.", "commissioned", 2),
    (5, "ดาบตำรวจ", "ด.ต.", "Police Senior Sergeant Major", "Pol.Sen.Sgt.Maj.", "non_commissioned", 3),
    (4, "จ่าสิบตำรวจ", "จ.ส.ต.", "Police Sergeant Major", "Pol.Sgt.Maj.", "non_commissioned", 3),
    (3, "สิบตำรวจเอก", "ส.ต.อ.", "Police Sergeant", "Pol.Sgt.", "non_commissioned", 3),
    (2, "สิบตำรวจโท", "ส.ต.ท.", "Police Corporal", "Pol.Cpl.", "non_commissioned", 3),
    (1, "สิบตำรวจตรี", "ส.ต.ต.", "Police Lance Corporal", "Pol.L.Cpl.", "non_commissioned", 3),
]

# code, Thai, English, eligible for external search rights
DUTY_LINES = [
    ("prevention", "ป้องกันปราบปราม", "Crime Prevention and Suppression", True),
    ("investigation", "สืบสวน", "Investigation", True),
    ("inquiry", "สอบสวน", "Inquiry", True),
    ("traffic", "จราจร", "Traffic", False),
    ("administration", "อำนวยการ", "Administration", False),
    ("technology", "เทคโนโลยีสารสนเทศ", "Information Technology", False),
]

# code, order (low to high), Thai, English, heads a unit (may certify requests)
POSITION_LEVELS = [
    ("squad_leader", 1, "ผู้บังคับหมู่ (ผบ.หมู่)", "Squad Leader", False),
    ("sub_inspector", 2, "รองสารวัตร (รอง สว.)", "Sub-Inspector", False),
    ("inspector", 3, "สารวัตร (สว.)", "Inspector", False),
    ("deputy_superintendent", 4, "รองผู้กำกับการ (รอง ผกก.)", "Deputy Superintendent", False),
    ("superintendent", 5, "ผู้กำกับการ (ผกก.)", "Superintendent", True),
    ("deputy_commander", 6, "รองผู้บังคับการ (รอง ผบก.)", "Deputy Commander", False),
    ("commander", 7, "ผู้บังคับการ (ผบก.)", "Commander", True),
    ("deputy_commissioner", 8, "รองผู้บัญชาการ (รอง ผบช.)", "Deputy Commissioner", False),
    ("commissioner", 9, "ผู้บัญชาการ (ผบช.)", "Commissioner", True),
]

AGENCIES = [
    ("DOPA", "กรมการปกครอง", "Department of Provincial Administration"),
    ("DLT", "กรมการขนส่งทางบก", "Department of Land Transport"),
    ("DBD", "กรมพัฒนาธุรกิจการค้า", "Department of Business Development"),
    ("SSO", "สำนักงานประกันสังคม", "Social Security Office"),
    ("NHSO", "สำนักงานหลักประกันสุขภาพแห่งชาติ", "National Health Security Office"),
    ("DOC", "กรมราชทัณฑ์", "Department of Corrections"),
    ("DOE", "กรมการจัดหางาน", "Department of Employment"),
    ("DOP", "กรมคุมประพฤติ", "Department of Probation"),
]

# code, Thai, English, agency, open, needs rank group, agency activates, activation days
DATA_SOURCES = [
    ("civil_registration", "ทะเบียนราษฎร", "Civil registration", "DOPA", True, True, True, 15),
    ("firearms", "ทะเบียนอาวุธปืน", "Firearms registry", "DOPA", False, False, False, None),
    ("aliens", "คนต่างด้าว", "Aliens", "DOPA", True, False, False, None),
    ("vehicles", "ยานพาหนะ", "Vehicles", "DLT", True, False, False, None),
    ("company_registry", "จดทะเบียนบริษัท", "Company registration", "DBD", True, False, False, None),
    ("social_security", "ผู้ประกันตน", "Social security insured persons", "SSO", True, False, False, None),
    ("health_insurance", "สิทธิหลักประกันสุขภาพ", "Health insurance rights", "NHSO", True, False, False, None),
    ("prisoners", "ผู้ต้องขัง", "Prisoners", "DOC", True, False, False, None),
    ("foreign_workers", "แรงงานต่างด้าว", "Foreign workers", "DOE", True, False, False, None),
    ("released_offenders", "ผู้พ้นโทษ / ผู้ถูกคุมประพฤติ", "Released offenders and probationers", "DOP", True, False, False, None),
]

# code, Thai, English, minimum position level code, duty line code
SYSTEM_FUNCTIONS = [
    ("crimes_account", "บัญชีผู้ใช้ระบบ CRIMES", "CRIMES user account", None, None),
    ("crimes_inquiry_desk", "งานสอบสวน (ร้อยเวรสอบสวน)", "Station inquiry desk", None, "inquiry"),
    ("crimes_case_search", "ค้นหาคดีอาญา", "Criminal case search", None, None),
    ("crimes_warrant", "ระบบหมายจับ", "Arrest warrants", "sub_inspector", None),
    ("crimes_command_tech", "เจ้าหน้าที่เทคโนโลยีของหน่วย (CommandTech)", "Command technology staff", None, None),
    ("crimes_personnel", "เจ้าหน้าที่กำลังพล (Personnel)", "Personnel staff", None, None),
    ("iservice_auction_receipt", "ออกใบเสร็จค่าขายทอดตลาด (i-SERVICE)", "Auction receipts (i-SERVICE)", "superintendent", None),
]

# request kind, Thai, English, [(actor, Thai, English, due business days)]
HEAD = ("certifying_head", "หัวหน้าหน่วยรับรอง", "Certifying unit head", 3)
CENTRAL_IT = ("central_it", "ศทก. ตรวจสอบและอนุมัติ", "Central IT Center verifies and approves", 3)
COMMAND_TECH = ("command_tech", "จนท. เทคโนโลยีของ บก./ภ.จว. ดำเนินการ", "Command technology staff", 3)
AGENCY = ("agency", "หน่วยงานเจ้าของข้อมูลเปิดใช้งาน", "Data-owner agency activates", 15)
CHAINS = [
    ("external_search", "ขอสิทธิ์สืบค้นข้อมูลหน่วยงานภายนอก", "External search rights", [HEAD, CENTRAL_IT, AGENCY]),
    ("external_search_renewal", "ต่ออายุสิทธิ์สืบค้นข้อมูล", "Search-rights renewal", [HEAD, CENTRAL_IT, AGENCY]),
    ("additional_functions", "ขอเพิ่มสิทธิ์การใช้งานระบบ", "Additional functions", [HEAD, CENTRAL_IT]),
    ("new_account", "ขอบัญชีผู้ใช้ใหม่", "New account", [HEAD, COMMAND_TECH]),
    ("account_renewal", "ต่ออายุบัญชีผู้ใช้", "Account renewal", [HEAD, COMMAND_TECH]),
    ("temporary_assignment", "ช่วยราชการหน่วยอื่น", "Temporary assignment to another unit", [HEAD, COMMAND_TECH]),
    ("return_home_unit", "กลับหน่วยต้นสังกัด", "Return to home unit", [HEAD, COMMAND_TECH]),
]


def _existing(session: Session, column) -> set:
    return set(session.scalars(select(column)))


def load_reference_data(session: Session, today: date) -> dict[str, int]:
    """Add whatever reference rows are missing; return how many of each were added."""
    added: dict[str, int] = {}

    known = _existing(session, RankGroup.number)
    groups = {}
    for number, name_th, name_en in RANK_GROUPS:
        if number not in known:
            session.add(RankGroup(number=number, name_th=name_th, name_en=name_en))
            added["rank_groups"] = added.get("rank_groups", 0) + 1
    session.flush()
    groups = {g.number: g for g in session.scalars(select(RankGroup))}

    known = _existing(session, Rank.abbr_th)
    for order, name_th, abbr_th, name_en, abbr_en, rank_class, group in RANKS:
        if abbr_th not in known:
            session.add(Rank(order=order, name_th=name_th, abbr_th=abbr_th, name_en=name_en,
                             abbr_en=abbr_en, rank_class=rank_class, rank_group=groups[group]))
            added["ranks"] = added.get("ranks", 0) + 1

    known = _existing(session, DutyLine.code)
    for code, name_th, name_en, eligible in DUTY_LINES:
        if code not in known:
            session.add(DutyLine(code=code, name_th=name_th, name_en=name_en,
                                 external_search_eligible=eligible))
            added["duty_lines"] = added.get("duty_lines", 0) + 1

    known = _existing(session, PositionLevel.code)
    for code, order, name_th, name_en, is_unit_head in POSITION_LEVELS:
        if code not in known:
            session.add(PositionLevel(code=code, order=order, name_th=name_th, name_en=name_en,
                                      is_unit_head=is_unit_head))
            added["position_levels"] = added.get("position_levels", 0) + 1

    known = _existing(session, Agency.code)
    for code, name_th, name_en in AGENCIES:
        if code not in known:
            # No agreement comes with an agency: that is a legal fact only an Admin (or the demo
            # data) records, and until then the agency's sources cannot be requested.
            session.add(Agency(code=code, name_th=name_th, name_en=name_en))
            added["agencies"] = added.get("agencies", 0) + 1
    session.flush()
    agencies = {a.code: a for a in session.scalars(select(Agency))}

    known = _existing(session, DataSource.code)
    for code, name_th, name_en, agency, is_open, rank_group, activation, days in DATA_SOURCES:
        if code not in known:
            session.add(DataSource(
                code=code, name_th=name_th, name_en=name_en, agency=agencies[agency],
                is_open=is_open, needs_rank_group=rank_group,
                needs_external_activation=activation, activation_days=days,
                default_validity_months=12,
            ))
            added["data_sources"] = added.get("data_sources", 0) + 1

    session.flush()
    levels = {p.code: p for p in session.scalars(select(PositionLevel))}
    lines = {d.code: d for d in session.scalars(select(DutyLine))}
    known = _existing(session, SystemFunction.code)
    for code, name_th, name_en, level, line in SYSTEM_FUNCTIONS:
        if code not in known:
            session.add(SystemFunction(
                code=code, name_th=name_th, name_en=name_en,
                min_position_level=levels.get(level), duty_line=lines.get(line),
                default_validity_months=12,
            ))
            added["system_functions"] = added.get("system_functions", 0) + 1

    known = _existing(session, ApprovalChain.request_kind)
    for kind, name_th, name_en, stages in CHAINS:
        if kind not in known:
            chain = ApprovalChain(request_kind=kind, name_th=name_th, name_en=name_en)
            session.add(chain)
            for position, (actor, stage_th, stage_en, due) in enumerate(stages, start=1):
                session.add(ApprovalStage(chain=chain, position=position, actor=actor,
                                          name_th=stage_th, name_en=stage_en,
                                          due_business_days=due))
            added["approval_chains"] = added.get("approval_chains", 0) + 1

    added["holidays"] = load_holidays(session, range(today.year - 1, today.year + 3))
    session.flush()
    return added


def load_holidays(session: Session, years) -> int:
    """Thai public and government holidays from the `holidays` package, kept editable."""
    years = list(years)
    categories = ("public", "government")
    thai = holiday_calendars.TH(years=years, categories=categories, language="th")
    english = holiday_calendars.TH(years=years, categories=categories, language="en_US")
    known = _existing(session, Holiday.day)
    count = 0
    for day, name_th in sorted(thai.items()):
        if day not in known:
            session.add(Holiday(day=day, name_th=name_th[:300], name_en=english.get(day, "")[:300]))
            count += 1
    return count
