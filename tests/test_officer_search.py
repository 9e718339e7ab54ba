"""No national ID can be recovered by prefix (MISSION §9).

The attack: type one more digit at a time into any search that finds officers and watch whether
the answer changes. Every picker, lookup, list filter and API filter is played against an officer
its user could otherwise find, as a plain officer and as another command's CommandTech searching
nationwide; the answer for each start of the ID must be the answer for random digits. The whole
ID, and names, still find the officer, and no answer shows an ID beyond its mask.
"""
import random
import re

import pytest
from sqlalchemy import select

from app.domain import national_id
from app.extensions import db
from app.models import Officer, Unit
from app.services import officer_search
from tests.conftest import DEMO_PASSWORD, ApiUser
from tests.factories import make_head

FIRST_TH, LAST_TH, FIRST_EN, LAST_EN = "ค้นหาเป้า", "ทดลองดู", "Searchable", "Targetson"


@pytest.fixture(scope="module")
def target(app):
    """An officer of บก.น.1 (commandtech2's command) with an active login, heading a unit: every
    search may find them (the heads picker offers only unit heads)."""
    with app.app_context():
        session = db.session
        unit = session.scalar(select(Unit).where(Unit.code == "MPD1-01"))
        sm = app.appbuilder.sm
        user = sm.find_user(username="search_target") or sm.add_user(
            "search_target", FIRST_TH, LAST_TH, "search_target@sitthi.example",
            sm.find_role("Officer"), password=DEMO_PASSWORD)
        officer = session.scalar(select(Officer).where(Officer.user_id == user.id)) or make_head(
            session, unit, user=user, first_name_th=FIRST_TH, last_name_th=LAST_TH,
            first_name_en=FIRST_EN, last_name_en=LAST_EN, position_title="ผกก.ทดสอบ")
        session.commit()
        return {"officer_id": officer.id, "user_id": user.id, "nid": officer.national_id}


@pytest.fixture(scope="module")
def every_national_id(app, target):
    with app.app_context():
        return list(db.session.scalars(select(Officer.national_id)))


# -- the searches: each answers what a user sees for a typed term ----------------------------------
def _picker(path: str, picks: str = "id"):
    """An AJAX picker: its status and results; `picks` is what its ids are (officer or login)."""

    def answer(client, term: str):
        response = client.get(path, query_string={"q": term, "nationwide": "1"})
        return response.status_code, response.get_json() if response.is_json else None

    answer.picks = picks
    return answer


def _officer_list(filter_number: int):
    """The officers screen filtered by national ID: which records the page links to.

    Filter 0 is "is (all 13 digits)"; filter 1 was "starts with" until it was removed.
    """

    def answer(client, term: str):
        response = client.get("/officerview/list/", query_string={f"_flt_{filter_number}_national_id": term})
        return response.status_code, re.findall(r"/officerview/show/(\d+)", response.get_data(as_text=True))

    return answer


def _api_filter(operator: str):
    """GET /api/v1/officers/ with a filter on national_id (rison; the term quoted)."""

    def answer(api, term: str):
        rison = f"(filters:!((col:national_id,opr:{operator},value:'{term}')),page_size:100)"
        response = api.get("/api/v1/officers/", query_string={"q": rison})
        body = response.get_json() or {}
        return response.status_code, body.get("count"), body.get("ids"), body.get("message")

    answer.operator = operator
    return answer


PICKERS = {
    "lookup": _picker("/lookup/officer"),
    "heads": _picker("/requests/heads"),
    "deputies": _picker("/mydeputyview/candidates", picks="user"),
    "assign": _picker("/assignfunction/officers"),
}
# FAB's own operators on a string column, the one Sitthi keeps, and the "starts with" it removed.
API_OPERATORS = ("nid", "sw", "ct", "eq", "ew", "like", "nidsw", "nsw", "neq")
SEARCHES = {**PICKERS, "officer list": _officer_list(0), "officer list, old starts-with": _officer_list(1),
            **{f"api {op}": _api_filter(op) for op in API_OPERATORS}}
# Where the whole ID must find the target: (user, search). Elsewhere the user may not search.
FINDS = {
    ("officer", "heads"), ("officer", "deputies"),
    ("commandtech2", "lookup"), ("commandtech2", "heads"), ("commandtech2", "deputies"),
    ("commandtech2", "assign"), ("commandtech2", "officer list"),
    ("commandtech2", "api nid"),
}


@pytest.fixture()
def searcher(app, login, api_tokens):
    """searcher(user, search) -> one-argument function: the answer for a typed term."""

    def make(username: str, name: str):
        search = SEARCHES[name]
        if name.startswith("api "):
            client = ApiUser(app.test_client(), api_tokens(username))
        else:
            client = login(username)
        return lambda term: search(client, term)

    return make


def _typed_starts(nid: str) -> list[tuple[int, str]]:
    """Every start of the ID as people type it: bare, with the card's dashes, with spaces."""
    dashed = national_id.format_full(nid)
    starts = [(n, nid[:n]) for n in range(1, 13)]
    starts += [(len(re.sub(r"\D", "", dashed[:n])), dashed[:n]) for n in range(1, len(dashed) - 1)]
    starts += [(n, " ".join(nid[:n])) for n in (3, 7, 12)]
    return list(dict.fromkeys(starts))


def _found(answer, name: str, target: dict) -> bool:
    if name.startswith("officer list"):
        return answer[0] == 200 and answer[1] == [str(target["officer_id"])]
    if name.startswith("api "):
        return answer[0] == 200 and answer[2] == [target["officer_id"]]
    wanted = target["user_id"] if PICKERS[name].picks == "user" else target["officer_id"]
    return answer[0] == 200 and [row["id"] for row in answer[1]["results"]] == [wanted]


@pytest.mark.parametrize("username", ["officer", "commandtech2"])
@pytest.mark.parametrize("name", list(SEARCHES))
def test_no_digit_of_an_id_is_learnt_from_any_search(searcher, target, username, name):
    answer = searcher(username, name)
    nid = target["nid"]
    rng = random.Random(f"{username}/{name}")
    nothing = {}
    for length, typed in _typed_starts(nid):
        if length not in nothing:
            noise = "".join(rng.choice("0123456789") for _ in range(length))
            nothing[length] = answer(noise)
        assert answer(typed) == nothing[length], f"{typed!r} tells more than random digits"
    # The whole ID, however typed, finds the officer wherever this user may search at all.
    for typed in (nid, national_id.format_full(nid), " ".join(nid)):
        assert _found(answer(typed), name, target) == ((username, name) in FINDS), typed


def test_searches_refuse_what_a_user_may_not_search(searcher):
    """The enumeration above is only meaningful where the search answers: these refuse outright."""
    for name in ("lookup", "assign", "officer list", "api nid"):
        assert searcher("officer", name)("3")[0] == 403, name


@pytest.mark.parametrize("username,name", [
    ("officer", "heads"), ("officer", "deputies"),
    ("commandtech2", "lookup"), ("commandtech2", "heads"), ("commandtech2", "deputies"),
    ("commandtech2", "assign"),
])
def test_names_still_find_the_officer(searcher, target, username, name):
    answer = searcher(username, name)
    for typed in (FIRST_TH, FIRST_TH[:4], LAST_TH[:5], FIRST_EN.lower(), LAST_EN.upper()[:6],
                  f"{FIRST_TH[:4]} {LAST_TH[:4]}", f"  {LAST_TH}  "):
        assert _found(answer(typed), name, target), typed
    for typed in (f"{FIRST_TH} ไม่มีใคร", "ไม่มีใครชื่อนี้", "%", "_"):
        assert not _found(answer(typed), name, target), typed


@pytest.mark.parametrize("name", list(PICKERS))
def test_a_nul_byte_is_refused_before_any_search(searcher, name):
    """PostgreSQL refuses NUL in text (that was a 500): the input guard answers 400 first."""
    answer = searcher("commandtech2", name)
    for typed in ("\x00", f"{FIRST_TH}\x00", "31\x00"):
        assert answer(typed)[0] == 400, repr(typed)


def test_the_search_rule_itself_finds_no_one_for_a_nul_byte(app):
    """Behind the guard, the rule holds too: whatever reaches it, a NUL is never sent to the database."""
    from app.models import Officer
    from app.services.officer_search import search_officers

    with app.app_context():
        for typed in ("\x00", f"{FIRST_TH}\x00", "31\x00"):
            assert db.session.scalars(search_officers(select(Officer), typed).limit(5)).all() == []


def test_api_still_filters_officers_by_name_and_lists_masked_ids(app, api_tokens, target, every_national_id):
    api = ApiUser(app.test_client(), api_tokens("commandtech2"))
    for column, value in (("first_name_th", FIRST_TH[:4]), ("last_name_th", LAST_TH)):
        rison = f"(filters:!((col:{column},opr:sw,value:'{value}')))"
        body = api.get("/api/v1/officers/", query_string={"q": rison}).get_json()
        assert body["ids"] == [target["officer_id"]], column
    listing = api.get("/api/v1/officers/", query_string={"q": "(page_size:100)"}).get_json()
    assert target["officer_id"] in listing["ids"]
    assert national_id.format_masked(target["nid"]) in repr(listing)
    _assert_masked(repr(listing), every_national_id)


def _hidden_digits(nid: str) -> str:
    """What the mask 1-2345-xxxxx-xx-3 hides."""
    return nid[5:12]


@pytest.mark.parametrize("username,name,term", [
    # Heads: ประยุทธ heads the demo station (few officers hold a unit head's position).
    ("officer", "heads", "ป"), ("officer", "deputies", "ส"), ("commandtech2", "lookup", "ส"),
    ("commandtech2", "heads", "ป"), ("commandtech2", "assign", "ส"), ("commandtech2", "deputies", "ส"),
    ("commandtech2", "heads", FIRST_TH),
])
def test_no_answer_shows_an_id_beyond_its_mask(searcher, every_national_id, username, name, term):
    status, body = searcher(username, name)(term)
    assert status == 200 and body["results"], "a search that finds people, or the test proves nothing"
    _assert_masked(repr(body), every_national_id)


def test_no_lookup_of_any_kind_shows_an_id(login, every_national_id, target):
    """Every /lookup kind, read by Admin (who sees every row): names, numbers, never an ID."""
    from app.views.lookup import LOOKUPS

    admin = login("admin")
    for kind in LOOKUPS:
        for term in ("", "ส", FIRST_TH, target["nid"]):
            response = admin.get(f"/lookup/{kind}", query_string={"q": term})
            assert response.status_code == 200, kind
            _assert_masked(repr(response.get_json()), every_national_id)


def _assert_masked(text: str, national_ids: list[str]) -> None:
    digits_only = re.sub(r"\D", "", text)
    for nid in national_ids:
        assert nid not in digits_only
        assert _hidden_digits(nid) not in text, f"the hidden digits of {national_id.format_masked(nid)}"


@pytest.mark.parametrize("value,expected", [
    ("3-1012-34567-89-0", "3101234567890"),
    (" 3101234567890 ", "3101234567890"),
    ("3 1012 34567 89 0", "3101234567890"),
    (3101234567890, "3101234567890"),
    ("310123456789", None),
    ("31012345678901", None),
    ("๓๑๐๑๒๓๔๕๖๗๘๙๐", "3101234567890"),  # Thai digits, as a Thai keyboard types them
    ("3" + "²" * 12, None),
    ("3101234567890x", None),
    (["3101234567890"], None),
    (True, None),
    ("", None),
])
def test_only_a_whole_national_id_is_one(value, expected):
    assert officer_search.whole_national_id(value) == expected


def test_digits_never_search_names():
    """Fewer than 13 digits match no one: not a prefix, and not a name search either."""
    for term in ("3", "31", "3-10", "๓๑", "310123456789"):
        condition = officer_search.officers_matching(term)
        assert str(condition) == "false", term
    assert officer_search.officers_matching("   ") is None
