"""Account pages: register, sign in and out, settings, password, profiles."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from hub import audit, db
from hub.accounts import services
from hub.accounts.forms import LoginForm, PasswordForm, ProfileForm, RegisterForm
from hub.accounts.models import User
from hub.accounts.profile import sections_for
from hub.security import limit_login, limit_register
from hub.site import safe_next

bp = Blueprint("accounts", __name__)


def _apply_error(form, error: services.AccountError) -> None:
    field = getattr(form, error.field or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(error)]
    else:
        flash(str(error), "error")


@bp.route("/register", methods=["GET", "POST"])
@limit_register
def register():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.username.data,
                form.email.data,
                form.password.data,
                display_name=form.display_name.data or "",
                locale=request.cookies.get("skiff_lang") or None,
            )
        except services.AccountError as exc:
            db.session().rollback()
            _apply_error(form, exc)
        else:
            db.session().commit()
            login_user(user)
            audit.record("user.login", target=user, actor=user)
            db.session().commit()
            flash(_("Welcome to Skiff, %(name)s!", name=user.name), "success")
            return redirect(url_for("accounts.profile", username=user.username))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_login
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), "")
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is None:
            db.session().commit()  # keep the failed-login audit event
            form.password.errors = [_("Wrong username or password.")]
        else:
            login_user(user)
            audit.record("user.login", target=user, actor=user)
            db.session().commit()
            flash(_("Signed in as %(name)s.", name=user.username), "success")
            return redirect(safe_next(form.next.data, url_for("site.home")))
    status = 200 if not form.errors else 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        audit.record("user.logout", target=current_user._get_current_object())
        db.session().commit()
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("site.home"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        services.update_profile(user, display_name=form.display_name.data or "",
                                bio=form.bio.data or "")
        db.session().commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.settings"))
    return render_template("accounts/settings.html", form=form, password_form=PasswordForm())


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():
    user = current_user._get_current_object()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except services.AccountError as exc:
            db.session().rollback()
            _apply_error(form, exc)
        else:
            db.session().commit()
            # The epoch changed: renew this session so only the other ones end.
            login_user(user, fresh=True)
            flash(_("Your password is changed. Other sessions were signed out."), "success")
            return redirect(url_for("accounts.settings"))
    return render_template("accounts/password.html", form=form), (400 if form.errors else 200)


@bp.get("/users/<username>")
def profile(username: str):
    user = db.session().scalar(select(User).where(User.username == username.lower()))
    if user is None or (not user.is_active and not getattr(current_user, "is_admin", False)):
        abort(404)
    sections = sections_for(user, current_user)
    return render_template("accounts/profile.html", user=user, sections=sections)
