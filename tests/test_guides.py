"""The guides (docs/guides): one per role, Thai first, then English; every picture is a screenshot
of the real app on demo data, and every step's page and menu entry exist for that role.

The browser test takes every screenshot again on each run, so a guide whose page is gone fails
here; `make guides` (SITTHI_GUIDE_SHOTS=docs/guides/img) writes them into the guides.
"""
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.views.help import GUIDE_DIR, GUIDES
from tests.test_browser import CHROMIUM, chromium, live_server, log_in, no_csp_refusals  # noqa: F401

SHOT = re.compile(r"<!-- shot: (?P<name>[a-z0-9-]+) (?P<where>\S+)(?P<menu> menu)? -->\n!\[[^\]]+\]\(img/(?P<file>[a-z0-9-]+)\.jpg\)")


def _shots():
    found = []
    for guide, _title in GUIDES:
        text = (GUIDE_DIR / f"{guide}.md").read_text(encoding="utf-8")
        pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        shots = list(SHOT.finditer(text))
        assert len(shots) == len(pictures) >= 3, f"{guide}: every picture needs its shot line"
        for shot in shots:
            assert shot["name"] == shot["file"] and shot["name"].startswith(f"{guide}-")
            found.append((guide, shot["name"], shot["where"], bool(shot["menu"])))
    return found


SHOTS = _shots()


@pytest.mark.parametrize("guide", [g for g, _ in GUIDES])
def test_each_guide_is_thai_then_english_with_pictures_that_exist(guide):
    text = (GUIDE_DIR / f"{guide}.md").read_text(encoding="utf-8")
    assert text.index("## ภาษาไทย") < text.index("## English")
    for _g, name, _where, _menu in (s for s in SHOTS if s[0] == guide):
        picture = GUIDE_DIR / "img" / f"{name}.jpg"
        assert picture.exists() and picture.stat().st_size > 10_000, f"run make guides: {picture}"


@pytest.mark.parametrize("guide, name, where, in_menu", SHOTS, ids=[s[1] for s in SHOTS])
def test_each_step_opens_for_its_role_and_its_menu_entry_is_there(login, guide, name, where, in_menu):
    user = login(guide)
    if where.startswith("first:"):
        where = where.split(":", 1)[1]
    assert user.get(where).status_code == 200, where
    if in_menu:
        assert f'href="{where}"' in user.get("/").get_data(as_text=True), f"{guide} has no menu entry {where}"


@pytest.mark.parametrize("user, guide", [("officer", "officer"), ("head", "head"), ("centralit", "centralit"),
                                         ("commandtech", "commandtech"), ("personnel", "personnel"),
                                         ("auditor", "auditor"), ("admin", "admin")])
def test_the_help_menu_opens_the_guide_of_the_users_role(login, user, guide):
    browser = login(user)
    home = browser.get("/").get_data(as_text=True)
    assert 'id="sitthi-help" href="/help/"' in home or 'href="/help/" id="sitthi-help"' in home
    response = browser.get("/help/")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == f"/help/{guide}"
    page = browser.get(f"/help/{guide}").get_data(as_text=True)
    assert "<h2>ภาษาไทย</h2>" in page and "<!-- shot" not in page
    first = re.search(r'<img alt="[^"]+" src="(/help/img/[a-z0-9-]+\.jpg)"', page).group(1)
    picture = browser.get(first)
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"


def test_the_help_pages_refuse_what_is_not_a_guide(login, browser):
    user = login("officer")
    for bad in ("/help/nosuch", "/help/img/..%2Fofficer.md", "/help/img/officer.md", "/help/img/x.png"):
        assert user.get(bad).status_code == 404, bad
    assert browser.get("/help/officer").status_code == 302  # not logged in: the login page


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
@pytest.mark.skipif(bool(os.environ.get("SITTHI_TEST_POSTGRES") or os.environ.get("SITTHI_TEST_NOW")),
                    reason="the pictures are the same on any database and day: the SQLite pass takes them")
def test_every_screenshot_is_taken_from_the_real_app(chromium, live_server, tmp_path):  # noqa: F811
    target = Path(os.environ.get("SITTHI_GUIDE_SHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    for guide, _title in GUIDES:
        context = chromium.new_context(viewport={"width": 1280, "height": 760})
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server, guide)
        for _g, name, where, _menu in (s for s in SHOTS if s[0] == guide):
            whole = where.startswith("first:")  # a record's page, down to its decision buttons
            if whole:
                page.goto(f"{live_server}{where.split(':', 1)[1]}")
                link = page.locator("table a[href*='/show/']").first
                assert link.count(), f"{name}: the demo data has nothing in {where}"
                link.click()
                page.wait_for_load_state()
            else:
                page.goto(f"{live_server}{where}")
            assert page.locator(".navbar").count(), name
            page.screenshot(path=str(target / f"{name}.jpg"), type="jpeg", quality=70, full_page=whole)
            assert (target / f"{name}.jpg").stat().st_size > 10_000
        context.close()


def test_the_operators_guide_names_every_setting_config_reads():
    source = (Path(__file__).resolve().parents[1] / "config.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'(?:environ\.get|_env_bool)\(\s*"([A-Z_]+)"', source))
    guide = (Path(__file__).resolve().parents[1] / "docs" / "operator.md").read_text(encoding="utf-8")
    assert len(keys) > 30
    missing = sorted(k for k in keys if f"| `{k}` |" not in guide)
    assert not missing, f"docs/operator.md does not explain {missing}"
    for part in ("gunicorn", "nginx", "PostgreSQL", "Redis", "HTTPS", "cron", "pg_dump", "pg_restore",
                 "Deploy order", "Upgrading"):
        assert part in guide
