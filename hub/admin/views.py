"""Admin pages and the report form."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from hub import db
from hub.accounts import services
from hub.accounts.forms import ConfirmForm
from hub.accounts.models import ROLES, Membership, Organization, User
from hub.admin import moderation
from hub.admin.models import REPORT_STATUSES, Report
from hub.audit.models import AuditEvent
from hub.security import admin_required
from hub.site import safe_next

bp = Blueprint("admin", __name__, url_prefix="/admin")
reports_bp = Blueprint("reports", __name__)

#: Extra admin pages features add: (label, endpoint), shown on the admin home page.
ADMIN_LINKS: list[tuple[object, str]] = []


def register_admin_link(label, endpoint: str) -> None:
    """Link an admin page of a feature (for example background jobs) from ``/admin``."""
    if all(e != endpoint for _, e in ADMIN_LINKS):
        ADMIN_LINKS.append((label, endpoint))


def admin_links() -> list[tuple[str, str]]:
    """(label, endpoint) of the features' admin pages that this app serves."""
    return [(str(label), endpoint) for label, endpoint in ADMIN_LINKS
            if endpoint in current_app.view_functions]


@bp.before_request
@admin_required
def _only_admins():
    return None


def _page() -> tuple[int, int]:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    return page, current_app.config["ADMIN_PAGE_SIZE"]


@bp.get("/")
def index():
    session = db.session()
    counts = {
        "users": session.scalar(select(func.count()).select_from(User)),
        "organizations": session.scalar(select(func.count()).select_from(Organization)),
        "open_reports": session.scalar(
            select(func.count()).select_from(Report).where(Report.status == "open")
        ),
        "events": session.scalar(select(func.count()).select_from(AuditEvent)),
    }
    return render_template("admin/index.html", counts=counts, links=admin_links())


@bp.get("/users")
def users():
    page, size = _page()
    q = request.args.get("q", "").strip().lower()
    role = request.args.get("role", "")
    stmt = select(User)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.like(like), User.email.like(like)))
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    total = db.session().scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session().scalars(
        stmt.order_by(User.created_at.desc(), User.id.desc()).limit(size).offset((page - 1) * size)
    ).all()
    return render_template(
        "admin/users.html", users=rows, q=q, role=role, roles=ROLES, page=page,
        pages=max(1, -(-total // size)), form=ConfirmForm(),
    )


def _user_or_404(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.set_role(user, request.form.get("role", ""), by=current_user)
    except services.AccountError as exc:
        db.session().rollback()
        flash(str(exc), "error")
    else:
        db.session().commit()
        flash(_("%(name)s is now %(role)s.", name=user.username, role=user.role), "success")
    return redirect(safe_next(request.form.get("next"), url_for("admin.users")))


@bp.post("/users/<int:user_id>/active")
def set_active(user_id: int):
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        services.set_active(user, active, by=current_user)
    except services.AccountError as exc:
        db.session().rollback()
        flash(str(exc), "error")
    else:
        db.session().commit()
        flash(_("%(name)s is enabled.", name=user.username) if active
              else _("%(name)s is disabled.", name=user.username), "success")
    return redirect(safe_next(request.form.get("next"), url_for("admin.users")))


@bp.get("/organizations")
def organizations():
    page, size = _page()
    member_count = (
        select(func.count()).where(Membership.organization_id == Organization.id)
        .correlate(Organization).scalar_subquery()
    )
    total = db.session().scalar(select(func.count()).select_from(Organization))
    rows = db.session().execute(
        select(Organization, User, member_count)
        .join(User, User.id == Organization.owner_id)
        .order_by(Organization.name)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return render_template("admin/organizations.html", rows=rows, page=page,
                           pages=max(1, -(-total // size)))


@bp.get("/reports")
def reports():
    page, size = _page()
    status = request.args.get("status", "open")
    stmt = select(Report)
    if status in REPORT_STATUSES:
        stmt = stmt.where(Report.status == status)
    total = db.session().scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session().scalars(
        stmt.order_by(Report.created_at.desc(), Report.id.desc())
        .limit(size).offset((page - 1) * size)
    ).all()
    items = [(r, *moderation.describe(r)) for r in rows]
    return render_template(
        "admin/reports.html", items=items, status=status, statuses=REPORT_STATUSES, page=page,
        pages=max(1, -(-total // size)), form=ConfirmForm(),
    )


@bp.post("/reports/<int:report_id>")
def decide_report(report_id: int):
    report = db.session().get(Report, report_id)
    if report is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        moderation.decide(report, request.form.get("decision", ""), current_user)
    except moderation.ModerationError as exc:
        db.session().rollback()
        flash(str(exc), "error")
    else:
        db.session().commit()
        flash(_("Decision saved."), "success")
    return redirect(url_for("admin.reports"))


def _parse_day(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except (TypeError, ValueError):
        return None


@bp.get("/audit")
def audit_log():
    page, size = _page()
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip().lower()
    target = request.args.get("target", "").strip()
    since = _parse_day(request.args.get("since", ""))
    until = _parse_day(request.args.get("until", ""))
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action.like(f"{action}%"))
    if actor:
        stmt = stmt.where(func.lower(AuditEvent.actor_name) == actor)
    if target:
        stmt = stmt.where(AuditEvent.target == target)
    if since:
        stmt = stmt.where(AuditEvent.created_at >= since)
    if until:
        stmt = stmt.where(AuditEvent.created_at < until + timedelta(days=1))
    total = db.session().scalar(select(func.count()).select_from(stmt.subquery()))
    events = db.session().scalars(
        stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(size).offset((page - 1) * size)
    ).all()
    actions = db.session().scalars(
        select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).all()
    return render_template(
        "admin/audit.html", events=events, actions=actions, page=page,
        pages=max(1, -(-total // size)), total=total,
        filters={"action": action, "actor": actor, "target": target,
                 "since": request.args.get("since", ""), "until": request.args.get("until", "")},
    )


@reports_bp.post("/report")
@login_required
def report():
    """File a report about a piece of content (every feature's report button posts here)."""
    kind = request.form.get("kind", "")
    ref_id = request.form.get("id", "")
    back = safe_next(request.form.get("next"), url_for("site.home"))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        moderation.file_report(current_user, kind, ref_id, request.form.get("reason", ""))
    except moderation.ModerationError as exc:
        db.session().rollback()
        flash(str(exc), "error")
    else:
        db.session().commit()
        flash(_("Thank you. An admin will look at your report."), "success")
    return redirect(back)
