"""Sitthi, the permission desk: the application factory."""
from flask import Flask
from flask_appbuilder import AppBuilder

from app import input_guard, log_redaction, read_commit, read_trail
from app.extensions import cache, csrf, db, mail, migrate


def create_app(test_config: dict | None = None) -> Flask:
    log_redaction.install()  # before anything can log: no national ID or secret in any log line
    app = Flask(__name__, instance_path=_instance_path())
    app.config.from_object("config")
    if test_config:
        app.config.update(test_config)

    from app.security import headers, rate_limits, sessions
    from app.security.manager import login_event
    from app.security.passwords import password_complexity
    from app.services import audit

    # FAB needs the callable itself here: a dotted path in config gives a 500 (../shared/FAB5.md).
    app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] = password_complexity

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_path())
    # Before AppBuilder: FAB does not protect its own forms and GET actions otherwise.
    csrf.init_app(app)
    mail.init_app(app)
    cache.init_app(app)

    from app import (
        api,
        cli,
        date_input,
        form_translations,
        formatting,
        labels,
        models,  # noqa: F401  (register every table on the metadata)
        views,
    )
    from app.views import list_rows, menu_cache

    with app.app_context():
        appbuilder = AppBuilder(
            base_template=app.config["FAB_BASE_TEMPLATE"],
        )
        appbuilder.init_app(app, db.session)
        views.register(appbuilder)
        api.register(appbuilder)
        rate_limits.register(app, appbuilder)
    # After FAB's own hook (it sets g.user, which the refusal page's menu reads), before any view:
    # hostile input is refused before a view, FAB's included, sends it to the database.
    input_guard.register(app)
    read_trail.register(app)
    read_commit.register(app)
    login_event.connect(audit.record_login)
    sessions.register(app)
    formatting.register(app)
    date_input.register(app)
    labels.register(app)
    menu_cache.register(app)
    list_rows.register(app)
    form_translations.register()
    cli.register(app)
    headers.register(app)
    return app


def _instance_path() -> str:
    from config import INSTANCE_DIR

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return str(INSTANCE_DIR)


def _migrations_path() -> str:
    from config import BASE_DIR

    return str(BASE_DIR / "migrations")
