"""Demo data for `flask sitthi seed-demo`: real units and reference data, synthetic people.

Idempotent: every row has a natural key (unit code, national ID, username, request number) and
is only added when missing. Officers are generated from a fixed seed, so every run makes the
same ~300 people with valid national IDs.
"""
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.domain import national_id
from app.models import (
    AccessRequest,
    Agency,
    ApprovalChain,
    Attachment,
    AuditEvent,
    DataSharingAgreement,
    DataSource,
    Decision,
    DutyLine,
    Grant,
    Officer,
    PositionLevel,
    Rank,
    RankGroup,
    RequestItem,
    RequestNumberCounter,
    SystemFunction,
    Unit,
    User,
)
from app.services.attachments import check_upload
from app.services.stage_waits import record_waits

DEMO_PASSWORD = "Sitthi@demo1"
AGENCIES_WITHOUT_AGREEMENT = ("DOP",)
AGENCIES_WITHOUT_SUPER_USER = ("DOE",)
# The data fields of each source (what the Linkage Center lists per agency); code, Thai, English.
DEMO_FIELDS = {
    "civil_registration": [
        ("full_name", "ชื่อ-สกุล", "Full name"),
        ("id_card", "ข้อมูลบัตรประจำตัวประชาชน", "ID card data"),
        ("address", "ที่อยู่ตามทะเบียนบ้าน", "Registered address"),
        ("household", "รายการบุคคลในบ้าน", "Household members"),
        ("face_photo", "ภาพใบหน้า", "Face photo"),
        ("parents", "ข้อมูลบิดา-มารดา", "Parents"),
        ("name_changes", "ประวัติการเปลี่ยนชื่อ-สกุล", "Name-change history"),
        ("moves", "ประวัติการย้ายที่อยู่", "Change-of-address history"),
    ],
    "aliens": [
        ("full_name", "ชื่อ-สกุล", "Full name"),
        ("passport", "เลขหนังสือเดินทาง", "Passport number"),
        ("nationality", "สัญชาติ", "Nationality"),
        ("address", "ที่อยู่ในประเทศไทย", "Address in Thailand"),
    ],
    "firearms": [
        ("licence", "ใบอนุญาตอาวุธปืน (ป.4)", "Firearm licence"),
        ("holder", "ผู้ถือใบอนุญาต", "Licence holder"),
    ],
    "vehicles": [
        ("plate", "เลขทะเบียนรถ", "Registration plate"),
        ("owner", "ผู้ถือกรรมสิทธิ์และผู้ครอบครอง", "Owner and possessor"),
        ("vehicle", "ยี่ห้อ รุ่น สี เลขตัวรถ", "Make, model, colour, chassis number"),
        ("driving_licence", "ใบอนุญาตขับรถ", "Driving licence"),
    ],
    "company_registry": [
        ("company", "ข้อมูลนิติบุคคล", "Juristic person"),
        ("directors", "รายชื่อกรรมการ", "Directors"),
        ("shareholders", "รายชื่อผู้ถือหุ้น", "Shareholders"),
        ("address", "ที่ตั้งสำนักงาน", "Registered office"),
    ],
    "social_security": [
        ("insured", "ข้อมูลผู้ประกันตน", "Insured person"),
        ("employer", "สถานประกอบการ", "Employer"),
        ("contributions", "ประวัติการส่งเงินสมทบ", "Contribution history"),
    ],
    "health_insurance": [
        ("scheme", "สิทธิการรักษาพยาบาล", "Health coverage scheme"),
        ("hospital", "หน่วยบริการประจำ", "Registered hospital"),
    ],
    "prisoners": [
        ("prisoner", "ข้อมูลผู้ต้องขัง", "Prisoner record"),
        ("prison", "เรือนจำ/ทัณฑสถาน", "Prison"),
        ("release", "กำหนดพ้นโทษ", "Release date"),
        ("photo", "ภาพถ่ายผู้ต้องขัง", "Prisoner photo"),
    ],
    "foreign_workers": [
        ("worker", "ข้อมูลแรงงานต่างด้าว", "Foreign worker"),
        ("work_permit", "ใบอนุญาตทำงาน", "Work permit"),
        ("employer", "นายจ้าง", "Employer"),
    ],
    "released_offenders": [
        ("person", "ข้อมูลผู้พ้นโทษ/ผู้ถูกคุมประพฤติ", "Released offender or probationer"),
        ("probation", "เงื่อนไขการคุมประพฤติ", "Probation conditions"),
    ],
}
# Fields no demo agreement allows: the form shows them as "not in the agreement".
DEMO_FIELDS_NOT_AGREED = ("moves", "contributions")
# label Thai, label English, kind, longest answer
DEMO_QUESTIONS = {
    "civil_registration": [
        ("เลขคดี / เลขรับแจ้งเหตุ", "Case or report number", "text", 50),
        ("วัตถุประสงค์ในการใช้ข้อมูล", "Purpose of use", "text", 500),
    ],
    "vehicles": [
        ("เลขคดี / เลขรับแจ้งเหตุ", "Case or report number", "text", 50),
    ],
}

PROVINCES = {
    "ภ.1": ("ตำรวจภูธรภาค 1", "Provincial Police Region 1", [
        "พระนครศรีอยุธยา", "ลพบุรี", "ชัยนาท", "สิงห์บุรี", "อ่างทอง", "สระบุรี", "ปทุมธานี",
        "นนทบุรี", "สมุทรปราการ"]),
    "ภ.4": ("ตำรวจภูธรภาค 4", "Provincial Police Region 4", [
        "ขอนแก่น", "อุดรธานี", "เลย", "หนองคาย", "หนองบัวลำภู", "บึงกาฬ", "สกลนคร", "นครพนม",
        "มุกดาหาร", "กาฬสินธุ์", "มหาสารคาม", "ร้อยเอ็ด"]),
    "ภ.9": ("ตำรวจภูธรภาค 9", "Provincial Police Region 9", [
        "สงขลา", "สตูล", "ตรัง", "พัทลุง", "ปัตตานี", "ยะลา", "นราธิวาส"]),
}
EXTRA_STATIONS = {
    "ขอนแก่น": ["สภ.บ้านไผ่", "สภ.ชุมแพ", "สภ.น้ำพอง"],
    "อุดรธานี": ["สภ.กุมภวาปี", "สภ.หนองหาน"],
    "สงขลา": ["สภ.หาดใหญ่", "สภ.สะเดา"],
    "นนทบุรี": ["สภ.ปากเกร็ด", "สภ.บางบัวทอง"],
}
METRO_DIVISIONS = {
    "บก.น.1": ["สน.ชนะสงคราม", "สน.พระราชวัง", "สน.สำราญราษฎร์"],
    "บก.น.5": ["สน.ลุมพินี", "สน.ทองหล่อ", "สน.ทุ่งมหาเมฆ"],
}

FIRST_NAMES = [
    "สมชาย", "สมศักดิ์", "ประเสริฐ", "วิชัย", "สุรชัย", "ณัฐพล", "ธนากร", "อนุชา", "กิตติพงษ์",
    "พิชิต", "ชัยวัฒน์", "ศุภชัย", "อภิชาติ", "วีระ", "ปรีชา", "สุทธิพงษ์", "จักรพันธ์", "ธีรวัฒน์",
    "นพดล", "พงศกร", "สุดารัตน์", "กนกวรรณ", "พัชรินทร์", "วราภรณ์", "ศิริพร", "อรทัย",
]
LAST_NAMES = [
    "ใจดี", "ศรีสุข", "บุญมา", "แก้วกาญจนา", "ทองดี", "สุขสวัสดิ์", "วงศ์ใหญ่", "พรหมมา",
    "จันทร์เพ็ญ", "ศักดิ์สิทธิ์", "มั่นคง", "รุ่งเรือง", "ชัยมงคล", "สายทอง", "เพชรรัตน์",
    "นาคสวัสดิ์", "อินทร์แก้ว", "ปัญญาดี", "ธรรมรักษ์", "คงเจริญ",
]


# CRIMES functions a command's own technology staff may give; becoming CommandTech or Personnel
# goes through a request to the Central IT Center instead.
COMMAND_ASSIGNABLE = ("crimes_account", "crimes_inquiry_desk", "crimes_case_search", "crimes_warrant",
                      "iservice_auction_receipt")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    first_name_th: str
    last_name_th: str
    rank: str
    unit_code: str
    position: str
    level: str
    duty_line: str
    national_id_prefix: str


DEMO_LOGINS = [
    DemoLogin("admin", "Admin", "ผู้ดูแล", "ระบบสิทธิ์", "พ.ต.ท.", "CITC", "ผู้ดูแลระบบ", "inspector", "technology", "310000000001"),
    DemoLogin("officer", "Officer", "ณัฐวุฒิ", "ศรีสวัสดิ์", "ร.ต.อ.", "KKN-MUEANG", "รอง สว.(สืบสวน) สภ.เมืองขอนแก่น", "sub_inspector", "investigation", "310000000002"),
    DemoLogin("head", "Officer", "ประยุทธ", "วงศ์สวัสดิ์", "พ.ต.อ.", "KKN-MUEANG", "ผกก.สภ.เมืองขอนแก่น", "superintendent", "prevention", "310000000003"),
    DemoLogin("commandtech", "CommandTech", "สุริยา", "เทคโนชัย", "ร.ต.ท.", "KKN", "รอง สว.ฝอ. (งานเทคโนโลยี) ภ.จว.ขอนแก่น", "sub_inspector", "technology", "310000000004"),
    DemoLogin("centralit", "CentralIT", "วรรณา", "ข้อมูลดี", "พ.ต.ต.", "CITC", "สว.กลุ่มงานฐานข้อมูล ศทก.", "inspector", "technology", "310000000005"),
    DemoLogin("personnel", "Personnel", "มาลี", "กำลังพล", "ด.ต.", "KKN", "ผบ.หมู่ ฝอ. (งานกำลังพล) ภ.จว.ขอนแก่น", "squad_leader", "administration", "310000000006"),
    # Technology staff of another command (บก.น.1, Bangkok): nothing of Khon Kaen is theirs.
    DemoLogin("commandtech2", "CommandTech", "ปิยะ", "นครบาลดี", "ร.ต.อ.", "MPD1", "รอง สว.ฝอ. (งานเทคโนโลยี) บก.น.1", "sub_inspector", "technology", "310000000008"),
    DemoLogin("auditor", "Auditor", "ธงชัย", "ตรวจสอบ", "พ.ต.อ.", "IG", "ผกก. สำนักงานจเรตำรวจ", "superintendent", "administration", "310000000007"),
]


def _valid_id(first_twelve: str) -> str:
    return first_twelve + national_id.check_digit(first_twelve)


class DemoLoader:
    def __init__(self, session: Session, today: date, password_method: str = "scrypt"):
        self.session = session
        self.today = today
        # How the demo logins' password is hashed: the deployment's FAB_PASSWORD_HASH_METHOD.
        self.password_method = password_method
        self.added: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.added[what] = self.added.get(what, 0) + 1

    # -- units -----------------------------------------------------------------------------
    def _unit(self, code, name_th, kind, parent=None, abbr=None, name_en=None, province=None,
              admin_scope=False) -> Unit:
        unit = self.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            unit = Unit(code=code, name_th=name_th, name_en=name_en, abbr_th=abbr or name_th,
                        kind=kind, parent=parent, province_th=province,
                        is_admin_scope=admin_scope)
            self.session.add(unit)
            self._count("units")
        return unit

    def load_units(self) -> None:
        rtp = self._unit("RTP", "สำนักงานตำรวจแห่งชาติ", "national", abbr="ตร.",
                         name_en="Royal Thai Police")
        ictc = self._unit("ICT", "สำนักงานเทคโนโลยีสารสนเทศและการสื่อสาร", "command", rtp,
                          abbr="สทส.", name_en="Information and Communication Technology Office")
        self._unit("CITC", "ศูนย์เทคโนโลยีสารสนเทศกลาง", "division", ictc, abbr="ศทก.",
                   name_en="Central IT Center", admin_scope=True)
        self._unit("IG", "สำนักงานจเรตำรวจ", "command", rtp, abbr="จต.",
                   name_en="Office of the Inspector General", admin_scope=True)
        metro = self._unit("MPB", "กองบัญชาการตำรวจนครบาล", "command", rtp, abbr="บช.น.",
                           name_en="Metropolitan Police Bureau")
        for division, stations in METRO_DIVISIONS.items():
            number = division.split(".")[-1]
            div = self._unit(f"MPD{number}", f"กองบังคับการตำรวจนครบาล {number}", "division",
                             metro, abbr=division, name_en=f"Metropolitan Police Division {number}",
                             province="กรุงเทพมหานคร", admin_scope=True)
            for s_index, station in enumerate(stations, start=1):
                self._unit(f"MPD{number}-{s_index:02d}", f"สถานีตำรวจนครบาล{station[3:]}",
                           "station", div, abbr=station, province="กรุงเทพมหานคร")
        for region, (name_th, name_en, provinces) in PROVINCES.items():
            number = region.split(".")[-1]
            reg = self._unit(f"PPR{number}", name_th, "command", rtp, abbr=region, name_en=name_en)
            for p_index, province in enumerate(provinces, start=1):
                code = "KKN" if province == "ขอนแก่น" else f"PPR{number}-{p_index:02d}"
                prov = self._unit(code, f"ตำรวจภูธรจังหวัด{province}", "division", reg,
                                  abbr=f"ภ.จว.{province}", province=province, admin_scope=True)
                mueang_code = "KKN-MUEANG" if province == "ขอนแก่น" else f"{code}-01"
                self._unit(mueang_code, f"สถานีตำรวจภูธรเมือง{province}", "station", prov,
                           abbr=f"สภ.เมือง{province}", province=province)
                for s_index, station in enumerate(EXTRA_STATIONS.get(province, []), start=2):
                    self._unit(f"{code}-{s_index:02d}", f"สถานีตำรวจภูธร{station[3:]}",
                               "station", prov, abbr=station, province=province)
        self.session.flush()

    # -- people ----------------------------------------------------------------------------
    def _refs(self):
        self.ranks = {r.abbr_th: r for r in self.session.scalars(select(Rank))}
        self.lines = {d.code: d for d in self.session.scalars(select(DutyLine))}
        self.levels = {p.code: p for p in self.session.scalars(select(PositionLevel))}
        self.units = {u.code: u for u in self.session.scalars(select(Unit))}

    def load_demo_logins(self) -> None:
        self._refs()
        roles = {}
        from flask_appbuilder.security.sqla.models import Role

        for role in self.session.scalars(select(Role)):
            roles[role.name] = role
        password = generate_password_hash(DEMO_PASSWORD, method=self.password_method, salt_length=16)
        for login in DEMO_LOGINS:
            user = self.session.scalar(select(User).where(User.username == login.username))
            if user is None:
                user = User(username=login.username, first_name=login.first_name_th,
                            last_name=login.last_name_th, email=f"{login.username}@sitthi.example",
                            password=password, active=True, roles=[roles[login.role]])
                self.session.add(user)
                self._count("users")
            nid = _valid_id(login.national_id_prefix)
            officer = self.session.scalar(select(Officer).where(Officer.national_id == nid))
            if officer is None:
                officer = Officer(
                    national_id=nid, rank=self.ranks[login.rank],
                    first_name_th=login.first_name_th, last_name_th=login.last_name_th,
                    birth_date=date(1980, 5, 17), position_title=login.position,
                    position_number=f"D-{login.national_id_prefix[-3:]}",
                    position_level=self.levels[login.level], duty_line=self.lines[login.duty_line],
                    status="active", home_unit=self.units[login.unit_code],
                    email=f"{login.username}@sitthi.example", mobile="0812345678", user=user,
                )
                self.session.add(officer)
                self._count("officers")
        self.session.flush()

    def load_synthetic_officers(self, count: int = 300) -> None:
        self._refs()
        stations = sorted((u for u in self.units.values() if u.kind == "station"),
                          key=lambda u: u.code)
        ranks = sorted(self.ranks.values(), key=lambda r: r.order)
        lines = sorted(self.lines.values(), key=lambda d: d.code)
        known = set(self.session.scalars(select(Officer.national_id)))
        for index in range(count):
            # One generator per person: the same index always makes the same officer, whatever
            # else the database holds.
            rng = random.Random(f"sitthi-demo-officer-{index}")
            first_twelve = f"{rng.choice('1358')}{rng.randrange(10**10, 10**11):011d}"
            nid = _valid_id(first_twelve)
            if nid in known:
                continue
            known.add(nid)
            # weights: many non-commissioned officers, few generals, as in the force
            rank = rng.choices(ranks, weights=[9, 9, 9, 10, 14, 6, 6, 6, 4, 3, 2, 1, 0.5, 0.2])[0]
            level = self._level_for(rank.order)
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            status = rng.choices(
                ["active", "retired", "transferred_out", "suspended"], weights=[92, 4, 3, 1])[0]
            self.session.add(Officer(
                national_id=nid, rank=rank, first_name_th=first, last_name_th=last,
                birth_date=date(rng.randrange(1966, 2001), rng.randrange(1, 13), rng.randrange(1, 29)),
                position_title=self.levels[level].name_th.split(" (")[0],
                position_number=f"{rng.randrange(1000, 9999)}-{index:04d}",
                position_level=self.levels[level], duty_line=rng.choice(lines), status=status,
                home_unit=rng.choice(stations), email=f"officer{index:03d}@sitthi.example",
                mobile=f"08{rng.randrange(10**7, 10**8)}",
            ))
            self._count("officers")
        self.session.flush()

    @staticmethod
    def _level_for(rank_order: int) -> str:
        if rank_order <= 5:
            return "squad_leader"
        if rank_order <= 8:
            return "sub_inspector"
        if rank_order == 9:
            return "inspector"
        if rank_order == 10:
            return "deputy_superintendent"
        if rank_order == 11:
            return "superintendent"
        return "commander"

    # -- requests --------------------------------------------------------------------------
    def load_requests(self) -> None:
        users = {u.username: u for u in self.session.scalars(select(User))}
        officers = {o.user_id: o for o in self.session.scalars(select(Officer).where(Officer.user_id.isnot(None)))}
        me = officers[users["officer"].id]
        head = officers[users["head"].id]
        chains = {c.request_kind: c for c in self.session.scalars(select(ApprovalChain))}
        sources = {s.code: s for s in self.session.scalars(select(DataSource))}
        functions = {f.code: f for f in self.session.scalars(select(SystemFunction))}
        groups = {g.number: g for g in self.session.scalars(select(RankGroup))}
        # Officers whose requests pass the checks: active, in a line that may search.
        others = self.session.scalars(
            select(Officer).join(DutyLine, Officer.duty_line_id == DutyLine.id)
            .where(Officer.user_id.is_(None), Officer.status == "active",
                   DutyLine.external_search_eligible.is_(True))
            .order_by(Officer.id).limit(12)
        ).all()
        be_year = self.today.year + 543
        # Someone of head's own station, so `head` and `commandtech` have demo work waiting.
        colleague = self.session.scalar(
            select(Officer).join(DutyLine, Officer.duty_line_id == DutyLine.id)
            .where(Officer.user_id.is_(None), Officer.status == "active",
                                  DutyLine.external_search_eligible.is_(True),
                                  Officer.home_unit_id == head.home_unit_id,
                                  Officer.id.notin_([o.id for o in others]))
            .order_by(Officer.id).limit(1)) or others[4]

        def when(days_ago: int) -> datetime:
            return datetime.combine(self.today - timedelta(days=days_ago), time(9, 30), UTC)

        # number suffix, requester, kind, state, stage position, days ago, items
        plan = [
            (1, me, "external_search", "completed", None, 40,
             [("civil_registration", 2, "activated"), ("company_registry", None, "rejected")]),
            (2, me, "external_search_renewal", "draft", None, 1, [("vehicles", None, "pending")]),
            (3, me, "additional_functions", "submitted", 1, 2, [("crimes_warrant", None, "pending")]),
            (4, others[0], "external_search", "submitted", 1, 3, [("vehicles", None, "pending")]),
            (5, others[1], "external_search", "submitted", 2, 6,
             [("civil_registration", 3, "pending"), ("social_security", None, "pending")]),
            (6, others[2], "external_search", "returned", 1, 8, [("prisoners", None, "pending")]),
            (7, others[3], "external_search", "rejected", None, 20, [("foreign_workers", None, "rejected")]),
            (8, colleague, "new_account", "submitted", 2, 4, []),
            (9, others[5], "external_search", "submitted", 3, 12,
             [("civil_registration", 2, "approved")]),
            (10, others[6], "additional_functions", "cancelled", None, 15, [("crimes_case_search", None, "pending")]),
            (11, others[7], "external_search", "completed", None, 60, [("vehicles", None, "approved")]),
            (12, others[8], "account_renewal", "completed", None, 90, []),
        ]
        admin = users["admin"]
        for suffix, requester, kind, state, stage_position, days_ago, items in plan:
            number = f"{be_year}/{suffix:06d}"
            if self.session.scalar(select(AccessRequest.id).where(AccessRequest.number == number)):
                continue
            chain = chains[kind]
            stage = chain.stages[stage_position - 1] if stage_position else None
            submitted = None if state == "draft" else when(days_ago)
            request = AccessRequest(
                number=number, kind=kind, state=state, requester=requester,
                unit=requester.home_unit, chain=chain, current_stage=stage,
                contact_email=requester.email or "demo@sitthi.example",
                contact_mobile=requester.mobile or "0800000000",
                duty_performed="สืบสวนหาข่าวและติดตามผู้ต้องหาตามหมายจับ",
                pledge_accepted=True,
                # The demo head certifies every demo request: a head must hold a login and a
                # unit-head position, and the demo has one such officer.
                certifying_head=head,
                submitted_at=submitted,
                due_on=(self.today + timedelta(days=3)) if state == "submitted" else None,
                stage_entered_on=submitted.date() if submitted and stage is not None else None,
                completed_at=when(days_ago - 10) if state == "completed" else None,
                created_by_id=requester.user_id or admin.id,
            )
            self.session.add(request)
            for code, group, item_state in items:
                source = sources.get(code)
                function = functions.get(code)
                above = bool(group and requester.rank.rank_group.number > group)
                self.session.add(RequestItem(
                    request=request, data_source=source, function=function,
                    rank_group=groups.get(group), above_own_rank=above, state=item_state,
                ))
            self._count("requests")
            self.session.flush()
            if state != "draft" and kind in ("external_search", "external_search_renewal"):
                self._documents(request, admin)
            self._timeline(request, state, when(days_ago), admin)
            if state == "completed":
                self._grants_for(request, admin, when(days_ago - 10).date())
        record_waits(self.session)
        self._count_numbers(be_year, len(plan))

    def _count_numbers(self, year_be: int, last: int) -> None:
        """The demo numbers are taken: real submissions go on after them."""
        counter = self.session.get(RequestNumberCounter, year_be)
        if counter is None:
            self.session.add(RequestNumberCounter(year_be=year_be, last_number=last))
        elif counter.last_number < last:
            counter.last_number = last

    def _documents(self, request: AccessRequest, admin: User) -> None:
        """The memo and ID-card copy every search request carries (placeholder PDFs)."""
        for kind, name in (("memo", "บันทึกข้อความ.pdf"), ("id_card_copy", "สำเนาบัตรประจำตัว.pdf")):
            checked = check_upload(name, DEMO_PDF, len(DEMO_PDF))
            self.session.add(Attachment(
                request=request, kind=kind, filename=checked.filename, content_type=checked.content_type,
                size_bytes=checked.size_bytes, sha256=checked.sha256, content=checked.content,
                uploaded_by_id=request.requester.user_id or admin.id))

    def _timeline(self, request: AccessRequest, state: str, at: datetime, admin: User) -> None:
        """Decisions as the request service writes them, so the timeline and dashboard read true."""
        if state == "draft":
            return
        stages = request.chain.stages
        actor = request.requester.user_id
        self.session.add(Decision(request=request, stage=stages[0], transition="submit",
                                  from_state="draft", to_state="submitted", actor_id=actor,
                                  decided_at=at))
        self.session.add(AuditEvent(action="AccessRequest.submit", actor_id=actor,
                                    object_type="AccessRequest", object_id=request.id,
                                    unit_id=request.unit_id, occurred_at=at,
                                    summary=f"{request.number} submitted"))
        head_user = request.certifying_head.user_id if request.certifying_head else None
        deciding = [s for s in stages if s.actor != "agency"]
        reached = request.current_stage.position if request.current_stage else len(deciding)
        for offset, stage in enumerate(deciding[: max(reached - 1, 0)], start=1):
            self.session.add(Decision(
                request=request, stage=stage, transition="approve", from_state="submitted",
                to_state="submitted", actor_id=head_user if stage.actor == "certifying_head" else admin.id,
                attested=stage.actor == "certifying_head", decided_at=at + timedelta(days=offset)))
        final = {"returned": "return", "rejected": "reject", "completed": "approve",
                 "cancelled": "cancel"}.get(state)
        if final:
            stage = deciding[-1] if state == "completed" else stages[0]
            self.session.add(Decision(
                request=request, stage=stage, transition=final, from_state="submitted", to_state=state,
                actor_id=actor if final == "cancel" else (head_user if stage.actor == "certifying_head" else admin.id),
                attested=final == "approve" and stage.actor == "certifying_head",
                decided_at=at + timedelta(days=2), comment=None if final == "approve" else "ข้อมูลตัวอย่าง (demo)"))

    def _grants_for(self, request: AccessRequest, admin: User, valid_from: date) -> None:
        for item in request.items:
            if item.state not in ("approved", "activated"):
                continue
            target = item.data_source
            months = target.default_validity_months if target else 12
            self.session.add(Grant(
                officer=request.requester, data_source=item.data_source, function=item.function,
                rank_group=item.rank_group, state="active", valid_from=valid_from,
                valid_until=valid_from + timedelta(days=30 * months), request=request,
                request_item=item, granted_by_id=admin.id,
                agency_reference="DOPA-2569-0042" if item.state == "activated" else None,
                activated_on=valid_from if item.state == "activated" else None,
            ))
            self._count("grants")

    def load_agreements(self) -> None:
        """Demo data-sharing agreements: every agency but the Department of Probation, whose
        sources therefore show as "not yet requestable" (only an Admin records a real one)."""
        known = set(self.session.scalars(select(DataSharingAgreement.agency_id)))
        for agency in self.session.scalars(select(Agency).order_by(Agency.code)):
            if agency.id in known or agency.code in AGENCIES_WITHOUT_AGREEMENT:
                continue
            self.session.add(DataSharingAgreement(
                agency=agency, reference=f"DEMO-{agency.code}-2566", signed_on=date(2023, 1, 1),
                valid_from=date(2023, 1, 1), note="ข้อมูลตัวอย่าง (demo): ไม่ใช่หนังสืออนุญาตจริง",
            ))
            self._count("agreements")
        self.session.flush()

    def load_linkage(self) -> None:
        """Linkage Center demo: the data fields of each source, each demo agreement's letter and
        the fields it allows (all but a few, so the form shows one that is not agreed), and a super
        user for every agreed agency but the Department of Employment (the audit flags it)."""
        from app.models import AgencySuperUser, DataField, JustificationQuestion
        from app.services import linkage

        sources = {s.code: s for s in self.session.scalars(select(DataSource))}
        known = set(self.session.execute(select(DataField.data_source_id, DataField.code)).all())
        for source_code, fields in DEMO_FIELDS.items():
            source = sources.get(source_code)
            for position, (code, name_th, name_en) in enumerate(fields, start=1):
                if source is not None and (source.id, code) not in known:
                    self.session.add(DataField(data_source=source, code=code, name_th=name_th,
                                               name_en=name_en, position=position))
                    self._count("data_fields")
        self.session.flush()
        fields = list(self.session.scalars(select(DataField).order_by(DataField.id)))
        letter = linkage.check_letter("หนังสืออนุญาต (ตัวอย่าง).pdf", DEMO_PDF, len(DEMO_PDF))
        for agreement in self.session.scalars(select(DataSharingAgreement).where(
                DataSharingAgreement.reference.startswith("DEMO-"), DataSharingAgreement.letter_id.is_(None))):
            agreement.letter = linkage.keep_letter(self.session, letter, None)
            agreement.allowed_fields = [f for f in fields if f.data_source.agency_id == agreement.agency_id
                                        and f.code not in DEMO_FIELDS_NOT_AGREED]
        served = set(self.session.scalars(select(AgencySuperUser.agency_id)))
        for agency in self.session.scalars(select(Agency).order_by(Agency.code)):
            if agency.id in served or agency.code in AGENCIES_WITHOUT_AGREEMENT + AGENCIES_WITHOUT_SUPER_USER:
                continue
            self.session.add(AgencySuperUser(
                agency=agency, name=f"ผู้ดูแลระบบ {agency.code} (ตัวอย่าง)", position="นักวิชาการคอมพิวเตอร์ชำนาญการ",
                phone="021234567", email=f"linkage@{agency.code.lower()}.example.go.th",
                letter_number=f"DEMO-SU-{agency.code}-2568", letter_date=date(2025, 1, 15),
                letter=linkage.keep_letter(self.session, letter, None), valid_from=date(2025, 1, 15),
                note="ข้อมูลตัวอย่าง (demo)"))
            self._count("super_users")
        asked = set(self.session.scalars(select(JustificationQuestion.data_source_id)))
        for source_code, questions in DEMO_QUESTIONS.items():
            source = sources.get(source_code)
            if source is None or source.id in asked:
                continue
            for position, (label_th, label_en, kind, length) in enumerate(questions, start=1):
                # Optional in the demo: an Admin marks a question required when the circular does.
                self.session.add(JustificationQuestion(
                    data_source=source, position=position, label_th=label_th, label_en=label_en,
                    answer_kind=kind, required=False, max_length=length))
                self._count("justification_questions")
        self.session.flush()

    def load_command_functions(self) -> None:
        """What each command's technology staff may assign (an Admin edits this per command)."""
        from app.models import CommandFunction

        known = set(self.session.execute(select(CommandFunction.unit_id, CommandFunction.function_id)).all())
        functions = self.session.scalars(select(SystemFunction).where(
            SystemFunction.code.in_(COMMAND_ASSIGNABLE))).all()
        for unit in self.session.scalars(select(Unit).where(Unit.is_admin_scope.is_(True))):
            for function in functions:
                if (unit.id, function.id) not in known:
                    self.session.add(CommandFunction(unit=unit, function=function))
                    self._count("command_functions")
        self.session.flush()

    def load_all(self) -> dict[str, int]:
        self.load_agreements()
        self.load_linkage()
        self.load_units()
        self.load_command_functions()
        self.load_demo_logins()
        self.load_synthetic_officers()
        self.load_requests()
        return self.added


def _demo_pdf() -> bytes:
    """A one-page PDF that says it is a demo placeholder: what an officer would scan and attach.
    Dated, so that every seed makes the same bytes."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("helvetica", size=18)
    pdf.text(25, 30, "Sitthi demo document")
    return bytes(pdf.output())


DEMO_PDF = _demo_pdf()
