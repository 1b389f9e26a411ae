"""Accounts: people, roles, organizations, signing in and out, profiles.

Other features use:

* ``hub.accounts.models.User`` / ``Organization`` / ``Membership`` (tables ``users``,
  ``organizations``, ``memberships``);
* ``flask_login.current_user`` and ``login_required``; ``hub.security.role_required``;
* ``hub.accounts.profile.register_section`` to show what a person published, taught or
  submitted on their profile page.
"""

from __future__ import annotations

import click
from flask import Flask, redirect, request, url_for
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from hub import db
from hub.accounts.models import User

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # The id carries the account's auth epoch: a password change signs out older sessions.
    uid, _, epoch = (user_id or "").partition(".")
    if not uid.isdigit() or not epoch.isdigit():
        return None
    session = db.session()
    user = session.get(User, int(uid))
    if not (session.new or session.dirty or session.deleted):
        # End the transaction this lookup opened: on SQLite a POST request's transaction holds
        # the write lock, which must not stay taken while the view reads a large upload.
        session.commit()
    if user is None or not user.is_active or user.auth_epoch != int(epoch):
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    from hub.errors import error_response
    from hub.security import wants_json

    if wants_json():
        return error_response(401)
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


@click.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.password_option(help="the admin's password (asked when not given)")
@with_appcontext
def create_admin_command(username: str, email: str, password: str) -> None:
    """Create an admin account, or make an existing account an admin."""
    from hub.accounts import services

    existing = services.find_user(username)
    if existing is not None:
        services.set_role(existing, "admin")
        db.session().commit()
        click.echo(f"{existing.username} is now an admin.")
        return
    try:
        user = services.create_user(username, email, password, role="admin")
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session().commit()
    click.echo(f"Created admin {user.username}.")


@click.command("db-upgrade")
@with_appcontext
def db_upgrade_command() -> None:
    """Upgrade the database to the newest schema (Alembic ``upgrade heads``)."""
    from flask import current_app

    db.migrate(current_app)
    click.echo("Database is up to date.")


def init_app(app: Flask) -> None:
    from hub.accounts import orgs, views

    login_manager.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(orgs.bp)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(db_upgrade_command)


    @app.teardown_request
    def _forget_request_user(_exc=None):
        # Flask-Login caches the user on ``g``; when an app context outlives one request (as in
        # tests that hold one open) the next request must load the user afresh.
        from flask import g

        g.pop("_login_user", None)
