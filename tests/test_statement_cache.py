"""Every statement a screen sends can be taken from SQLAlchemy's compiled cache.

A construct without a cache key (a custom clause that does not name its parts, a VALUES list of
literal rows) makes SQLAlchemy compile the whole statement again on every view: some 4 ms each,
a fifth of a list page's time. The escalation scope's `IN (ids)` did so for every request list
until it named its parts (app/security/scope.py).
"""
import pytest
from sqlalchemy import event
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import Values

from tests.conftest import POSTGRES_ADMIN_URL
from tests.test_menus import MENUS


def _holds_literal_rows(clause) -> bool:
    """On SQLite the rights audit's rules (the rights audit, review items) pass the unit tree as a
    VALUES list of rows (there are no arrays to unnest), which cannot be cached; on PostgreSQL it
    goes in as bound arrays and is cached like the rest."""
    return any(isinstance(element, Values) for element in visitors.iterate(clause))


def _uncached_statements(app, user, urls) -> dict[str, list[str]]:
    from app.extensions import db

    uncached: dict[str, list[str]] = {}
    current = [""]
    sqlite = not POSTGRES_ADMIN_URL

    def record(_conn, clause, *_args):
        cache_key = getattr(clause, "_generate_cache_key", None)
        if cache_key is not None and cache_key() is None and not (sqlite and _holds_literal_rows(clause)):
            uncached.setdefault(current[0], []).append(str(clause)[:200])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_execute", record)
    try:
        for url in urls:
            current[0] = url
            assert user.get(url).status_code == 200, url
    finally:
        event.remove(engine, "before_execute", record)
    return uncached


@pytest.mark.parametrize("username", sorted(MENUS))
def test_every_statement_of_every_screen_is_compiled_once(app, login, username):
    user = login(username)
    urls = ["/", *sorted(MENUS[username])]
    assert _uncached_statements(app, user, urls) == {}
