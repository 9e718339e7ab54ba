"""/health, as a load balancer uses it: up, database down, a configured Redis down."""
import json
import time

import pytest
from redis import Redis

from tests.conftest import build_app

# Nothing listens on port 1: the connection is refused at once, as when a server is stopped.
DEAD_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/sitthi"
DEAD_REDIS = "redis://127.0.0.1:1/7"
LIVE_REDIS = "redis://127.0.0.1:6379/7"


def _redis_running() -> bool:
    try:
        return Redis.from_url(LIVE_REDIS, socket_connect_timeout=0.5).ping()
    except Exception:  # no server on this machine
        return False


def _database_url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def test_up_answers_200_without_a_session_or_personal_data(app):
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "not configured"}
    # A probe every few seconds must not create sessions.
    assert "Set-Cookie" not in response.headers
    # Only the three words: no version, host name or person.
    assert set(json.loads(response.get_data(as_text=True))) == {"status", "database", "redis"}


def test_database_down_answers_503_quickly(app):
    dead = build_app(DEAD_POSTGRES)
    started = time.monotonic()
    response = dead.test_client().get("/health")
    assert time.monotonic() - started < dead.config["HEALTH_TIMEOUT_SECONDS"] + 1
    assert response.status_code == 503
    assert response.get_json() == {"status": "down", "database": "down", "redis": "not configured"}


@pytest.mark.parametrize("setting", ["RATELIMIT_STORAGE_URI", "JOB_QUEUE_URL"])
def test_a_configured_redis_that_is_down_answers_503(app, setting):
    broken = build_app(_database_url(app), **{setting: DEAD_REDIS})
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "down", "database": "ok", "redis": "down"}


def test_a_configured_redis_that_answers_is_ok(app):
    if not _redis_running():
        pytest.skip("no Redis on 127.0.0.1:6379")
    served = build_app(_database_url(app), RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=LIVE_REDIS,
                       JOB_QUEUE_URL=LIVE_REDIS)
    response = served.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_the_rate_limiter_never_refuses_the_balancer(app):
    # A default limit of 2 per minute for every page, counted per client address.
    limited = build_app(_database_url(app), RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = limited.test_client()
    assert [client.get("/health").status_code for _ in range(5)] == [200] * 5
    # The same client on an ordinary page is refused on its third request: the limit is live.
    assert [client.get("/login/").status_code for _ in range(3)][-1] == 429
