"""Rate limits: every search per user, both login doors per address and per username.

Each storage gets its own app with limits on and small: memory://, and redis:// when a Redis
answers at 127.0.0.1:6379 (skipped otherwise). Every test comes from its own client addresses
and uses its own usernames, so the counts of one test never decide another's.
"""
import uuid

import pytest

from app.security import rate_limits
from tests.conftest import DEMO_PASSWORD, Browser, build_app, prepare_database

REDIS_URL = "redis://127.0.0.1:6379/0"
SEARCH_LIMIT, LOGIN_LIMIT = 5, 3
SEARCHES = [
    "/lookup/officer?q=ส", "/lookup/unit?q=ส", "/requests/heads?q=ส", "/requests/units?q=ส",
    "/mydeputyview/candidates?q=ส", "/assignfunction/officers?q=ส",
]


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        return None
    return client


@pytest.fixture(scope="module", params=["memory", "redis"])
def limited(request, databases):
    """An app with the limits on, small, counting in memory or in Redis."""
    redis_client = None
    if request.param == "redis":
        redis_client = _redis()
        if redis_client is None:
            pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"sitthi-test-{uuid.uuid4().hex[:12]}"  # this run's counts only, in a shared Redis
    app = build_app(
        databases.new_url(f"limits_{request.param}"), RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=REDIS_URL if redis_client else "memory://", RATELIMIT_KEY_PREFIX=prefix,
        AUTH_RATE_LIMIT=f"{LOGIN_LIMIT} per 60 second", LOOKUP_RATE_LIMIT=f"{SEARCH_LIMIT} per 60 second",
    )
    prepare_database(app)
    app.redis, app.key_prefix = redis_client, prefix
    yield app
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if redis_client is not None:
        for key in redis_client.scan_iter(match=f"*{prefix}*"):
            redis_client.delete(key)


def browser_from(app, address: str) -> Browser:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def logged_in(app, username: str, address: str) -> Browser:
    user = browser_from(app, address)
    assert user.login(username).status_code == 302, f"login as {username}"
    return user


def api_login(app, username: str, password: str, address: str, lang: str = ""):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post(f"/api/v1/security/login{lang}", json={
        "username": username, "password": password, "provider": "db", "refresh": False})


def html_login(app, username: str, password: str, address: str):
    return browser_from(app, address).login(username, password)


def _waits(response) -> int:
    """The Retry-After of a refusal, checked to be a sensible number of seconds."""
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    return seconds


# -- searches ------------------------------------------------------------------------------------
def test_the_limited_searches_are_every_search_there_is(limited):
    """Every AJAX search is marked, so a new one is limited too once it carries the mark."""
    marked = {endpoint for endpoint, view in limited.view_functions.items()
              if getattr(view, "is_search_endpoint", False)}
    assert marked == {"LookupView.lookup", "RequestDeskView.heads", "RequestDeskView.units",
                      "MyDeputyView.candidates", "AssignFunctionView.officers", "AssignFunctionView.functions",
                      "VerifyView.index", "VerifyView.check"}


def test_checking_codes_in_bulk_is_refused_with_a_page(limited):
    """Codes cannot be tried by the thousand: the checks share the search budget, and the refusal
    is a page of the app in the reader's language, not JSON."""
    officer = logged_in(limited, "commandtech2", "10.1.0.3")
    for _ in range(SEARCH_LIMIT):
        assert officer.get("/verify/M-1-AAAAAAAAAA").status_code == 404
    refused = officer.get("/verify/M-1-AAAAAAAAAA")
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert f"กรุณาลองใหม่ในอีก {_waits(refused)} วินาที" in refused.get_data(as_text=True)


def test_every_search_shares_one_budget_per_user(limited):
    tech = logged_in(limited, "commandtech", "10.1.0.1")
    for url in SEARCHES[:SEARCH_LIMIT]:
        assert tech.get(url).status_code == 200, url
    for url in SEARCHES:
        refused = tech.get(url)
        seconds = _waits(refused)
        assert refused.get_json() == {
            "message": f"ค้นหาบ่อยเกินไปในเวลาสั้น ๆ กรุณาลองใหม่ในอีก {seconds} วินาที"}, url
    english = tech.get(SEARCHES[0] + "&_l_=en")
    assert english.get_json()["message"] == (
        f"Too many searches in a short time. Try again in {_waits(english)} seconds.")
    # Per user, not per address: another login from the same address still searches.
    other = logged_in(limited, "officer", "10.1.0.1")
    assert other.get("/requests/heads?q=ส").status_code == 200
    # ... and the same user from another address is still refused.
    tech.client.environ_base["REMOTE_ADDR"] = "10.1.0.2"
    assert tech.get("/requests/units?q=ส").status_code == 429


def test_pages_other_than_searches_are_not_limited(limited):
    personnel = logged_in(limited, "personnel", "10.2.0.1")
    for _ in range(SEARCH_LIMIT + 2):
        assert personnel.get("/officerview/list/").status_code == 200


# -- logins --------------------------------------------------------------------------------------
def test_api_login_brute_force_is_refused_even_with_the_right_password(limited):
    for _ in range(LOGIN_LIMIT):
        assert api_login(limited, "auditor", "wrong", "10.3.0.1").status_code == 401
    refused = api_login(limited, "auditor", DEMO_PASSWORD, "10.3.0.1")
    seconds = _waits(refused)
    assert refused.get_json() == {"message": f"พยายามเข้าสู่ระบบบ่อยเกินไป กรุณาลองใหม่ในอีก {seconds} วินาที"}
    english = api_login(limited, "auditor", DEMO_PASSWORD, "10.3.0.1", lang="?_l_=en")
    assert english.get_json() == {
        "message": f"Too many login attempts. Try again in {_waits(english)} seconds."}


def test_api_login_is_limited_per_address_and_per_username(limited):
    for _ in range(LOGIN_LIMIT):
        assert api_login(limited, "nobody-api-1", "wrong", "10.4.0.1").status_code == 401
    # Another username from the same address: the address has spent its attempts.
    _waits(api_login(limited, "nobody-api-2", "wrong", "10.4.0.1"))
    # The same username from another address: the username has spent its attempts.
    _waits(api_login(limited, "NoBody-API-1 ", "wrong", "10.4.0.2"))
    # Anyone else, from anywhere else, is simply told the password is wrong.
    assert api_login(limited, "nobody-api-3", "wrong", "10.4.0.3").status_code == 401


def test_html_login_is_limited_per_address_and_per_username(limited):
    for _ in range(LOGIN_LIMIT):
        assert html_login(limited, "head", "wrong", "10.5.0.1").status_code == 302
    refused = html_login(limited, "head", DEMO_PASSWORD, "10.5.0.1")
    seconds = _waits(refused)
    page = refused.get_data(as_text=True)
    assert f"พยายามเข้าสู่ระบบบ่อยเกินไป กรุณาลองใหม่ในอีก {seconds} วินาที" in page
    assert 'name="password"' in page  # the login form again, to use once the wait is over
    _waits(html_login(limited, "nobody-html-2", "wrong", "10.5.0.1"))  # same address
    _waits(html_login(limited, "head", DEMO_PASSWORD, "10.5.0.2"))  # same username
    assert html_login(limited, "nobody-html-3", "wrong", "10.5.0.3").status_code == 302
    # Reading the login page is never refused.
    assert browser_from(limited, "10.5.0.1").get("/login/").status_code == 200


def test_both_login_doors_share_the_counts(limited):
    assert api_login(limited, "nobody-both", "wrong", "10.6.0.1").status_code == 401
    assert html_login(limited, "nobody-both", "wrong", "10.6.0.2").status_code == 302
    assert api_login(limited, "nobody-both", "wrong", "10.6.0.3").status_code == 401
    _waits(html_login(limited, "nobody-both", "wrong", "10.6.0.4"))
    _waits(api_login(limited, "nobody-both", "wrong", "10.6.0.5"))
    # One address alternating doors (with new usernames) is counted once too.
    assert api_login(limited, "nobody-both-a", "wrong", "10.6.1.1").status_code == 401
    assert html_login(limited, "nobody-both-b", "wrong", "10.6.1.1").status_code == 302
    assert api_login(limited, "nobody-both-c", "wrong", "10.6.1.1").status_code == 401
    _waits(html_login(limited, "nobody-both-d", "wrong", "10.6.1.1"))


def test_counts_are_kept_in_the_configured_storage(limited):
    """The searches and both logins count in the one storage of the app's one limiter."""
    limiter = limited.appbuilder.sm.limiter
    assert limited.extensions["limiter"] == {limiter}
    if limited.redis is None:
        assert type(limiter.storage).__name__ == "MemoryStorage"
        return
    logged_in(limited, "centralit", "10.7.0.1").get("/lookup/unit?q=ส")
    api_login(limited, "nobody-redis", "wrong", "10.7.0.1")
    keys = [key.decode() for key in limited.redis.scan_iter(match=f"*{limited.key_prefix}*")]
    for scope in (rate_limits.SEARCH_SCOPE, rate_limits.LOGIN_ADDRESS_SCOPE, rate_limits.LOGIN_USERNAME_SCOPE):
        assert any(f"/{scope}/" in key for key in keys), (scope, keys)
    assert not any("nobody-redis" in key for key in keys), "usernames are stored hashed"


@pytest.mark.browser
def test_a_picker_tells_the_user_how_long_to_wait(limited, request):
    """In a real Chromium: once the budget is spent, the picker shows the server's Thai message."""
    import os
    import threading

    from werkzeug.serving import make_server

    from tests.test_browser import CHROMIUM

    if request.node.callspec.params["limited"] != "memory":
        pytest.skip("the page is the same whatever the storage")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    server = make_server("127.0.0.1", 0, limited, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.set_default_timeout(15000)
            page.goto(f"{base}/login/")
            page.fill("#username", "centralit")
            page.fill("#password", DEMO_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{base}/")
            for _ in range(SEARCH_LIMIT):
                assert page.request.get(f"{base}/requests/units?q=ส").status == 200
            page.goto(f"{base}/requests/new/external_search")
            page.click("#certifying_head + .select2 .select2-selection")
            page.fill(".select2-container--open .select2-search__field", "ประยุทธ")
            message = page.locator(".select2-results__message")
            message.wait_for()
            assert "ค้นหาบ่อยเกินไปในเวลาสั้น ๆ กรุณาลองใหม่ในอีก" in message.inner_text()
            browser.close()
    finally:
        server.shutdown()
