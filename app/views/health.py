"""`/health`: what a load balancer asks every few seconds to know whether to send people here.

No login, no personal data, no session (no Set-Cookie: a probe every few seconds must not mint
sessions), no rate limit (the balancer's address would otherwise be refused and the server
taken out of service), no CSRF (GET only). 200 when the database and every configured Redis (the
rate limits' storage, the job queue) answer, 503 otherwise, within HEALTH_TIMEOUT_SECONDS each:
a balancer waiting on a hung check would take the server out anyway, later.
"""
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CheckTimeout

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db

health = Blueprint("health", __name__)

# A check that hangs (a black-holed database host) keeps its thread; a few are enough, as a
# balancer asks again only after its own timeout.
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sitthi-health")


def _database(engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _redis(url: str, timeout: float) -> None:
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def _redis_urls(config) -> list[str]:
    urls = [config.get("RATELIMIT_STORAGE_URI") or "", config.get("JOB_QUEUE_URL") or ""]
    return sorted({url for url in urls if url.startswith(("redis://", "rediss://", "unix://"))})


def _answers(check, *args, timeout: float) -> bool:
    try:
        _checks.submit(check, *args).result(timeout=timeout)
    except CheckTimeout:
        return False
    except Exception as error:  # any failure to answer is "down"; the reason belongs in the server's log
        current_app.logger.warning("health check %s failed: %s", check.__name__, error)
        return False
    return True


@health.route("/health")
def status():
    config = current_app.config
    timeout = float(config.get("HEALTH_TIMEOUT_SECONDS", 2))
    database_ok = _answers(_database, db.engine, timeout=timeout)
    urls = _redis_urls(config)
    redis_ok = all(_answers(_redis, url, timeout, timeout=timeout) for url in urls)
    body = {
        "status": "ok" if database_ok and redis_ok else "down",
        "database": "ok" if database_ok else "down",
        "redis": ("ok" if redis_ok else "down") if urls else "not configured",
    }
    response = jsonify(body)
    response.status_code = 200 if database_ok and redis_ok else 503
    return response


def register(appbuilder) -> None:
    current_app.register_blueprint(health)
    appbuilder.sm.limiter.exempt(health)
    from app.extensions import csrf

    csrf.exempt(health)
