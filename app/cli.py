"""`flask sitthi ...`: deploy-time and operator commands."""
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.extensions import db

sitthi = AppGroup("sitthi", help="Sitthi operations: init, seed-demo.")


@sitthi.command("init")
def init_command() -> None:
    """Create permissions, sync roles and load reference data. Safe to run on every deploy."""
    from app.services.reference_data import load_reference_data

    appbuilder = current_app.appbuilder
    # FAB hands every new permission to Admin while creating it: the role must exist first.
    appbuilder.sm.ensure_builtin_roles()
    appbuilder.add_permissions(update_perms=True)
    appbuilder.sm.security_cleanup(appbuilder.baseviews, appbuilder.menu)
    held = appbuilder.sm.sync_roles()
    added = load_reference_data(db.session, date.today())
    db.session.commit()
    for role, count in held.items():
        click.echo(f"role {role}: {count} permissions")
    click.echo("reference data added: " + (", ".join(f"{k}={v}" for k, v in added.items() if v) or "none"))


@sitthi.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no officer yet.")
def seed_demo_command(if_empty: bool) -> None:
    """Load demo units, ~300 officers, requests and one login per role (password Sitthi@demo1)."""
    from app.models import Officer
    from app.services.demo_data import DEMO_LOGINS, DEMO_PASSWORD, DemoLoader

    if if_empty and db.session.scalar(select(func.count(Officer.id))):
        click.echo("database already holds officers: demo data not loaded")
        return
    added = DemoLoader(db.session, date.today()).load_all()
    db.session.commit()
    click.echo("demo data added: " + (", ".join(f"{k}={v}" for k, v in added.items()) or "nothing, all present"))
    click.echo(f"demo logins (password {DEMO_PASSWORD}): " + ", ".join(login.username for login in DEMO_LOGINS))


def register(app: Flask) -> None:
    app.cli.add_command(sitthi)
