"""Two Sitthi servers behind one balancer, on ONE database and ONE Redis (db 7, flushed here).

A person's next request may land on either server: a login made on one holds on the other (the
session is a cookie signed with the SECRET_KEY both share, nothing is kept in a server's memory),
a decision made on one is what the other shows, the search and login limits are counted once
for both (their storage is the shared Redis), and an import queued through one is on the queue
the other's worker serves.
"""
import pytest
from redis import Redis

from app.models import AccessRequest
from tests.conftest import Browser, build_app, new_requester
from tests.test_job_queue import _queued, _state
from tests.test_request_journey import _decide, _new_request, _request_id

SHARED_REDIS = "redis://127.0.0.1:6379/7"
SHARED_KEY = "scale-out-test-key-shared-by-every-server"


@pytest.fixture()
def redis():
    connection = Redis.from_url(SHARED_REDIS, socket_connect_timeout=1)
    try:
        connection.ping()
    except Exception:  # no server on this machine
        pytest.skip("no Redis on 127.0.0.1:6379")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture()
def servers(app, redis):
    """Two servers as production runs them: the test app's database, the shared Redis, limits on."""
    settings = {
        "SECRET_KEY": SHARED_KEY,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": SHARED_REDIS,
        "LOOKUP_RATE_LIMIT": "3 per minute",
        "JOB_QUEUE_URL": SHARED_REDIS,
        "JOBS_INLINE": False,
    }
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    pair = build_app(database, **settings), build_app(database, **settings)
    yield pair
    from app.extensions import db

    for server in pair:
        with server.app_context():
            db.session.remove()
            db.engine.dispose()


def _on(server, logged_in: Browser | None = None) -> Browser:
    """A browser on `server`, carrying the session cookie `logged_in` got from another server."""
    browser = Browser(server.test_client())
    if logged_in is not None:
        cookie = logged_in.client.get_cookie("session")
        assert cookie is not None, "no session cookie to carry"
        browser.client.set_cookie("session", cookie.value)
    return browser


def _logged_in(server, username: str) -> Browser:
    browser = _on(server)
    assert browser.login(username).status_code == 302, f"login as {username} failed"
    return browser


def test_a_login_on_one_server_holds_on_the_other(servers):
    first, second = servers
    head = _logged_in(first, "head")
    assert _on(second).get("/tocertifyview/list/").status_code == 302  # a stranger is sent to log in
    inbox = _on(second, head).get("/tocertifyview/list/")
    assert inbox.status_code == 200
    assert "/login/" not in inbox.headers.get("Location", "")


def test_a_server_with_another_key_does_not_take_the_session(app, servers):
    first, _ = servers
    head = _logged_in(first, "head")
    stranger = build_app(app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="another-key")
    assert _on(stranger, head).get("/tocertifyview/list/").status_code == 302


def test_a_decision_made_on_one_server_is_seen_on_the_other(app, servers):
    first, second = servers
    officer = _logged_in(first, new_requester(app))
    pk = _request_id(_new_request(officer, app))
    head = _logged_in(second, "head")
    # The inbox searched by the request's number: a shared database may hold many more waiting.
    with first.app_context():
        from app.extensions import db as first_db

        number = first_db.session.get(AccessRequest, pk).number

    def listed(browser, inbox: str, view: str) -> bool:
        page = browser.get(f"/{inbox}/list/?_flt_0_number={number}&psize_{view}=100")
        return f"/requests/show/{pk}" in page.get_data(as_text=True)

    assert listed(head, "tocertifyview", "ToCertifyView")
    assert _decide(head, pk, "approve").status_code == 302
    centralit = _logged_in(first, "centralit")
    assert listed(centralit, "toverifyview", "ToVerifyView")
    assert not listed(_on(first, head), "tocertifyview", "ToCertifyView")
    from app.extensions import db

    with first.app_context():
        assert db.session.get(AccessRequest, pk).current_stage.actor != "certifying_head"


def test_search_limits_count_the_requests_to_both_servers(servers, redis):
    first, second = servers
    on_first = _logged_in(first, "officer")
    on_second = _on(second, on_first)
    url = "/requests/heads?q=ประยุทธ"
    # LOOKUP_RATE_LIMIT is 3 per minute for this login, whichever server answers.
    assert [on_first.get(url).status_code, on_second.get(url).status_code,
            on_first.get(url).status_code] == [200, 200, 200]
    refused = on_second.get(url)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert on_first.get(url).status_code == 429
    assert redis.dbsize() > 0  # the counts are in the shared Redis, not in either server


def test_login_attempts_count_on_both_servers(servers):
    first, second = servers
    # AUTH_RATE_LIMIT (10 per 20 seconds per address and per username), doors of both servers.
    codes = [_on(server).login("head", "wrong-password").status_code
             for server in (first, second) * 6]
    # A wrong password sends the login page back (302); the eleventh attempt, wherever it lands,
    # is refused before the password is checked.
    assert codes[:10] == [302] * 10 and codes[10:] == [429, 429]


def test_an_import_queued_through_one_server_is_run_by_the_other_servers_worker(servers):
    from app import job_queue

    first, second = servers
    from tests.import_files import person

    run_id = _queued(first, [person("KKN-MUEANG") for _ in range(2)])
    with first.test_request_context():
        assert job_queue.submit(run_id) == "rq"
    with second.app_context():
        waiting = job_queue.queue(second.config["JOB_QUEUE_URL"]).job_ids
    assert f"sitthi-run-{run_id}" in waiting
    assert _state(first, run_id) == "queued"
    result = second.test_cli_runner().invoke(args=["sitthi", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert _state(first, run_id) == "done"


def test_a_job_host_keeps_the_dashboard_ready_for_every_server(app, redis):
    """The figures a reader on one server read are worked out again by `flask sitthi
    renew-shared-figures` on a job host sharing the Redis, so a reader on the other server, after a
    quiet spell that would have made them wait, gets them without working them out."""
    from app.extensions import cache, db
    from tests.conftest import TEST_TODAY, age_shared_figures, counted_statements

    settings = {"SECRET_KEY": SHARED_KEY, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": SHARED_REDIS,
                "DASHBOARD_CACHE_SECONDS": 60}
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    first, second, job_host = (build_app(database, **settings) for _ in range(3))
    key = f"dashboard:nation:{TEST_TODAY.isoformat()}"
    try:
        assert _logged_in(first, "auditor").get("/dashboard/").status_code == 200
        with job_host.app_context():
            worked_out_at = cache.get(key)[1]
            age_shared_figures(key, job_host.config["SHARED_FIGURES_STALE_SECONDS"] + 1)
        result = job_host.test_cli_runner().invoke(args=["sitthi", "renew-shared-figures"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("renewed 1,"), result.output
        with job_host.app_context():
            assert cache.get(key)[1] > worked_out_at
        reader = _logged_in(second, "centralit")
        with counted_statements(second) as statements:
            assert reader.get("/dashboard/").status_code == 200
        assert not [sql for sql in statements if "GROUP BY access_request.state" in sql], \
            "the reader on the other server worked nothing out"
    finally:
        for server in (first, second, job_host):
            with server.app_context():
                db.session.remove()
                db.engine.dispose()
