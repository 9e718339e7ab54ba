"""Every demo login sees exactly its menus; each entry opens, other roles' entries are refused."""
import re

import pytest

OFFICER = {"/requests/new", "/myrequestview/list/", "/mygrantview/list/",
           "/toreviewview/list/", "/myrecord/", "/mydeputyview/list/", "/mynotificationview/list/", "/dashboard/"}
# Shown only to who certifies: a unit head (the demo head, and the auditor, a ผกก.).
CERTIFIES = {"/tocertifyview/list/"}
# Shown only to who may file a group request: a unit head, a command's technology or personnel staff.
FILES_GROUPS = {"/grouprequests/"}
APPROVALS = {"/accessrequestview/list/", "/requestitemview/list/", "/attachmentview/list/",
             "/decisionview/list/"}
PERSONNEL = {"/officerview/list/", "/unitview/list/", "/personnelchangeview/list/"}
CONFIGURATION = {
    "/datasourceview/list/", "/agencyview/list/", "/agreementview/list/",
    "/systemfunctionview/list/", "/approvalchainview/list/", "/approvalstageview/list/",
    "/requireddocumentview/list/",
    "/rankview/list/", "/rankgroupview/list/", "/dutylineview/list/",
    "/positionlevelview/list/", "/holidayview/list/",
    # Linkage Center: agencies' super users, the data fields of sources, justification questions.
    "/agencysuperuserview/list/", "/datafieldview/list/", "/justificationquestionview/list/",
}
AUDIT = {"/auditeventview/list/", "/reviewcampaignview/list/", "/reviewdecisionview/list/",
         "/notificationview/list/"}
SECURITY = {"/users/list/", "/roles/list/", "/groups/list/", "/permissions/list/",
            "/viewmenus/list/", "/permissionviews/list/"}

MENUS = {
    "officer": OFFICER,
    "head": OFFICER | CERTIFIES | FILES_GROUPS,
    "commandtech": OFFICER | FILES_GROUPS | APPROVALS | PERSONNEL | {"/accountrequestview/list/", "/grantview/list/", "/systemfunctionview/list/",
                                                      "/reviewcampaignview/list/", "/reviewdecisionview/list/",
                                                      "/expiringgrantview/list/", "/commandgrantview/list/",
                                                      "/assignfunction/", "/dutyorderview/list/", "/rightsaudit/"},
    "personnel": OFFICER | FILES_GROUPS | PERSONNEL | {"/datachangerequestview/list/"},
    "commandtech2": OFFICER | FILES_GROUPS | APPROVALS | PERSONNEL | {"/accountrequestview/list/", "/grantview/list/",
                                                       "/systemfunctionview/list/", "/reviewcampaignview/list/",
                                                       "/reviewdecisionview/list/", "/expiringgrantview/list/",
                                                       "/commandgrantview/list/", "/assignfunction/",
                                                       "/dutyorderview/list/", "/rightsaudit/"},
    "centralit": OFFICER | APPROVALS | PERSONNEL | {"/toverifyview/list/", "/awaitingactivationview/list/",
                                                    "/grantview/list/", "/datasourceview/list/",
                                                    "/agencyview/list/", "/agreementview/list/",
                                                    "/agencysuperuserview/list/",
                                                    "/holidayview/list/", "/deactivationnoticeview/list/",
                                                    "/reviewcampaignview/list/", "/reviewdecisionview/list/",
                                                    "/dutyorderview/list/", "/rightsaudit/"},
    "auditor": OFFICER | CERTIFIES | FILES_GROUPS | APPROVALS | PERSONNEL | {"/grantview/list/", "/auditeventview/list/",
                                                  "/reviewcampaignview/list/", "/reviewdecisionview/list/",
                                                  "/expiringgrantview/list/", "/commandgrantview/list/",
                                                  "/deactivationnoticeview/list/", "/dutyorderview/list/",
                                                  "/rightsaudit/", "/agreementview/list/",
                                                  "/agencysuperuserview/list/"},
    "admin": OFFICER | FILES_GROUPS | APPROVALS | PERSONNEL | CONFIGURATION | AUDIT | SECURITY | {
        "/grantview/list/", "/toverifyview/list/", "/awaitingactivationview/list/",
        "/accountrequestview/list/", "/expiringgrantview/list/", "/commandgrantview/list/",
        "/assignfunction/", "/deactivationnoticeview/list/", "/datachangerequestview/list/",
        "/dutyorderview/list/", "/rightsaudit/"},
}
EVERY_ENTRY = set().union(*MENUS.values())


def menu_links(html: str) -> set[str]:
    navbar = html.split('class="navbar', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r'href="(/[a-z]+/list/|/requests/new|/dashboard/|/assignfunction/|/myrecord/|/rightsaudit/|/grouprequests/)"', navbar))


@pytest.mark.parametrize("username", sorted(MENUS))
def test_login_sees_exactly_its_menu(login, username):
    user = login(username)
    home = user.get("/")
    assert home.status_code == 200
    links = menu_links(home.get_data(as_text=True))
    assert links == MENUS[username]


@pytest.mark.parametrize("username", sorted(MENUS))
def test_every_menu_entry_opens(login, username):
    user = login(username)
    for url in sorted(MENUS[username]):
        assert user.get(url).status_code == 200, url


@pytest.mark.parametrize("username", sorted(set(MENUS) - {"admin"}))
def test_other_roles_entries_are_forbidden(login, username):
    user = login(username)
    # "To certify" opens for every officer (a request may name any of them tomorrow); only its
    # menu entry waits until it can hold something. Group requests open for every officer too:
    # the service tells one who may not file so (tests/test_group_requests.py).
    for url in sorted(EVERY_ENTRY - MENUS[username] - CERTIFIES - FILES_GROUPS):
        assert user.get(url).status_code == 403, url


@pytest.mark.parametrize("url", sorted(EVERY_ENTRY))
def test_anonymous_is_sent_to_login(browser, url):
    response = browser.get(url)
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]


def test_the_menu_follows_a_change_of_roles_at_once(app, login):
    """The bar is kept per set of rights (app/views/menu_cache.py): new rights, a new bar."""
    from app.extensions import db

    officer = login("officer")
    assert "/auditeventview/list/" not in menu_links(officer.get("/").get_data(as_text=True))
    with app.app_context():
        sm = app.appbuilder.sm
        user, auditor = sm.find_user(username="officer"), sm.find_role("Auditor")
        user.roles.append(auditor)
        db.session.commit()
    try:
        assert "/auditeventview/list/" in menu_links(officer.get("/").get_data(as_text=True))
    finally:
        with app.app_context():
            user = app.appbuilder.sm.find_user(username="officer")
            user.roles.remove(app.appbuilder.sm.find_role("Auditor"))
            db.session.commit()
    assert "/auditeventview/list/" not in menu_links(officer.get("/").get_data(as_text=True))


def test_the_menu_speaks_the_readers_language(login):
    head, officer = login("head"), login("officer")
    assert "คำขอของฉัน" in head.get("/").get_data(as_text=True).split('class="navbar', 1)[1]
    officer.get("/lang/en")
    english = officer.get("/").get_data(as_text=True).split('class="navbar', 1)[1]
    assert "My requests" in english and "คำขอของฉัน" not in english.split("</nav>", 1)[0]
    # The same rights in Thai are still Thai for the other reader.
    assert "คำขอของฉัน" in head.get("/").get_data(as_text=True).split('class="navbar', 1)[1]


def test_to_certify_is_shown_only_to_who_certifies(login):
    """Every officer may certify (the role cannot tell heads apart), but the entry is shown only to
    a unit head, an officer a request names, or a head's deputy."""
    assert "/tocertifyview/list/" in login("head").get("/").get_data(as_text=True)
    assert "/tocertifyview/list/" not in login("officer").get("/").get_data(as_text=True)
    assert "/tocertifyview/list/" not in login("personnel").get("/").get_data(as_text=True)
