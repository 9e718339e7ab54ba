"""Lists that can run past LIST_COUNT_CAP rows go on with "Next rows" (keyset) from the last row
shown, however deep; numbered pages stop at the cap."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Officer, User
from app.security.scope import actor_for, is_visible
from app.services import audit

NEXT = re.compile(r'id="keyset-next" href="([^"]+)"')


def _shown_ids(html: str, route: str) -> list[int]:
    seen: list[int] = []
    for found in re.findall(rf'/{route}/show/(\d+)', html):
        if int(found) not in seen:
            seen.append(int(found))
    return seen


def test_the_audit_trail_pages_on_from_the_last_row_shown(app, login, db_session):
    auditor = login("auditor")
    for n in range(30):
        audit.record(db_session, "keyset.test", object_type="Test", object_id=n, summary=f"row {n}")
    db_session.commit()
    url, shown = "/auditeventview/list/?psize_AuditEventView=10", []
    for _ in range(3):
        html = auditor.get(url).get_data(as_text=True)
        shown += _shown_ids(html, "auditeventview")
        url = NEXT.search(html).group(1).replace("&amp;", "&")
        assert "after=" in url and "psize_AuditEventView=10" in url
    expected = db_session.scalars(select(AuditEvent.id).where(AuditEvent.id <= shown[0])
                                  .order_by(AuditEvent.id.desc()).limit(30)).all()
    assert shown == expected, "each page starts right after the last row of the one before, newest first"
    back = auditor.get(url).get_data(as_text=True)
    assert 'id="keyset-first"' in back


def test_next_rows_keep_the_filters_and_the_row_scope(app, login):
    tech = login("commandtech")
    first = tech.get("/officerview/list/?psize_OfficerView=10").get_data(as_text=True)
    ids = _shown_ids(first, "officerview")
    with app.app_context():
        in_scope = db.session.scalars(select(Officer.id).where(Officer.id.in_(ids))).all()
    assert len(ids) == 10 and sorted(in_scope) == ids
    following = tech.get(f"/officerview/list/?psize_OfficerView=10&after={ids[-1]}").get_data(as_text=True)
    more = _shown_ids(following, "officerview")
    assert more and min(more) > ids[-1] and not set(more) & set(ids)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "commandtech"))
        actor = actor_for(db.session, user)
        assert all(is_visible(db.session, actor, Officer, officer_id) for officer_id in more)
    everyone = login("admin").get(f"/officerview/list/?psize_OfficerView=10&after={ids[-1]}").get_data(as_text=True)
    assert _shown_ids(everyone, "officerview") != more, "the admin's next rows include other commands'"


def test_a_sorted_list_has_numbered_pages_only(login):
    html = login("admin").get("/grantview/list/?_oc_GrantView=state&_od_GrantView=asc").get_data(as_text=True)
    assert 'id="keyset-next"' not in html


def test_bad_cursors_and_pages_past_the_cap_are_refused_with_a_message(app, login):
    admin = login("admin")
    for cursor in ("abc", "0", "-5", str(2**40), "1e3"):
        answer = admin.get(f"/accessrequestview/list/?after={cursor}")
        assert answer.status_code == 400, cursor
        assert "Next rows" in answer.get_data(as_text=True) or "ถัดไป" in answer.get_data(as_text=True)
    cap, app.config["LIST_COUNT_CAP"] = app.config["LIST_COUNT_CAP"], 50
    try:
        refused = admin.get("/grantview/list/?page_GrantView=3")
        assert refused.status_code == 400
        assert admin.get("/grantview/list/?page_GrantView=1").status_code == 200
    finally:
        app.config["LIST_COUNT_CAP"] = cap
