"""Organization pages: list, create, show, and manage members."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from hub import db
from hub.accounts import services
from hub.accounts.forms import ConfirmForm, MemberForm, OrganizationForm
from hub.accounts.models import Membership, Organization, User

bp = Blueprint("orgs", __name__, url_prefix="/orgs")


def _org_or_404(slug: str) -> Organization:
    org = db.session().scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        abort(404)
    return org


@bp.get("/")
def index():
    orgs = db.session().scalars(select(Organization).order_by(Organization.name)).all()
    return render_template("orgs/index.html", orgs=orgs)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            org = services.create_organization(
                current_user._get_current_object(), form.slug.data, form.name.data,
                description=form.description.data or "", is_vendor=bool(form.is_vendor.data),
            )
        except services.AccountError as exc:
            db.session().rollback()
            getattr(form, exc.field or "name").errors = [str(exc)]
        else:
            db.session().commit()
            flash(_("Organization %(name)s created.", name=org.name), "success")
            return redirect(url_for("orgs.detail", slug=org.slug))
    return render_template("orgs/new.html", form=form), (400 if form.errors else 200)


@bp.get("/<slug>")
def detail(slug: str):
    org = _org_or_404(slug)
    members = db.session().execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == org.id)
        .order_by(Membership.role.desc(), User.username)
    ).all()
    manage = services.can_manage_org(current_user, org)
    return render_template(
        "orgs/detail.html", org=org, members=members, manage=manage,
        member_form=MemberForm(), confirm_form=ConfirmForm(),
    )


@bp.post("/<slug>/members")
@login_required
def add_member(slug: str):
    org = _org_or_404(slug)
    if not services.can_manage_org(current_user, org):
        abort(403)
    form = MemberForm()
    if form.validate_on_submit():
        user = services.find_user(form.username.data)
        if user is None:
            flash(_("There is no user %(name)s.", name=form.username.data), "error")
        else:
            try:
                services.add_member(org, user, form.role.data, by=current_user)
            except services.AccountError as exc:
                db.session().rollback()
                flash(str(exc), "error")
            else:
                db.session().commit()
                flash(_("%(name)s joined %(org)s.", name=user.username, org=org.name), "success")
    else:
        flash(_("Enter the username of the person to add."), "error")
    return redirect(url_for("orgs.detail", slug=org.slug))


@bp.post("/<slug>/members/<username>/remove")
@login_required
def remove_member(slug: str, username: str):
    org = _org_or_404(slug)
    user = services.find_user(username)
    is_self = user is not None and user.id == current_user.id
    if not (services.can_manage_org(current_user, org) or is_self):
        abort(403)
    if user is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            services.remove_member(org, user, by=current_user)
        except services.AccountError as exc:
            db.session().rollback()
            flash(str(exc), "error")
        else:
            db.session().commit()
            flash(_("%(name)s left %(org)s.", name=user.username, org=org.name), "success")
    return redirect(url_for("orgs.detail", slug=org.slug))
