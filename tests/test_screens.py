"""Admin opens the list, detail, add and edit screen of every entity without an error."""
import re

import pytest
from flask_appbuilder import ModelView

from app.views.base import ReadOnlyModelView
from app.views.inboxes import InboxView
from app.views.menu import menu_items

VIEWS = sorted({view.__name__.lower(): view for _c, _n, view in menu_items()
                if issubclass(view, ModelView)}.items())
# Rows only the services write: the generic screens list and show them, nothing more.
READ_ONLY = {name for name, view in VIEWS if issubclass(view, ReadOnlyModelView)}
INBOXES = {name for name, view in VIEWS if issubclass(view, InboxView)}


@pytest.mark.parametrize("route, view", VIEWS, ids=[name for name, _ in VIEWS])
def test_admin_opens_every_screen(login, route, view):
    admin = login("admin")
    listing = admin.get(f"/{route}/list/")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    first = re.search(rf'href="/{route}/show/(\d+)', html)
    if first:
        assert admin.get(f"/{route}/show/{first.group(1)}").status_code in (200, 302)
    if route in INBOXES:
        assert admin.get(f"/{route}/add").status_code == 404
        return
    if route in READ_ONLY:  # closed to every role, or not there at all
        assert admin.get(f"/{route}/add").status_code == (404 if "add" in view.exclude_route_methods else 403)
        return
    assert admin.get(f"/{route}/add").status_code == 200
    if first and route != "attachmentview" and "edit" not in view.exclude_route_methods:
        assert admin.get(f"/{route}/edit/{first.group(1)}").status_code == 200


@pytest.mark.parametrize("lang", ["th", "en"])
def test_detail_pages_render_in_both_languages(login, lang):
    admin = login("admin")
    admin.get(f"/lang/{lang}")
    for url in ("/accessrequestview/show/1", "/unitview/show/1", "/grantview/list/",
                "/requests/show/1", "/dashboard/", "/requests/new", "/requests/new/external_search"):
        assert admin.get(url).status_code == 200, url


@pytest.mark.parametrize("route, view", VIEWS, ids=[name for name, _ in VIEWS])
def test_a_made_up_sort_column_never_breaks_a_list(login, route, view):
    admin = login("admin")
    name = view.__name__
    for column in ("no_such_column", "password", "link", "due"):
        response = admin.get(f"/{route}/list/?_oc_{name}={column}&_od_{name}=asc")
        assert response.status_code == 200, column


def test_request_lists_sort_by_the_due_date_behind_the_due_cell(app, login):
    import re as regex

    from app.extensions import db
    from app.models import AccessRequest

    html = login("admin").get("/accessrequestview/list/?_oc_AccessRequestView=due&_od_AccessRequestView=asc&psize_AccessRequestView=100").get_data(as_text=True)
    shown = [int(pk) for pk in regex.findall(r'href="/requests/show/(\d+)"', html)]
    with app.app_context():
        dues = [db.session.get(AccessRequest, pk).due_on for pk in shown]
    dated = [d for d in dues if d is not None]
    assert dated == sorted(dated) and len(dated) >= 2
