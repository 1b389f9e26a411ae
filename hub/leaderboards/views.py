"""Leaderboard pages: boards with filters, sorting, charts and exports; result pages with
their checks; systems with their history; comparison; submission and review forms."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from hub import db
from hub.accounts.models import User
from hub.leaderboards import services
from hub.leaderboards.models import HardwareSystem, Reviewer, Submission
from hub.security import admin_required, limit_uploads

bp = Blueprint("leaderboards", __name__, url_prefix="/leaderboards")

PER_PAGE = 50


def _page() -> int:
    try:
        return max(1, min(100_000, int(request.args.get("page", 1))))
    except ValueError:
        return 1


def _board_or_404(bench_id: str) -> str:
    scenarios = dict(services.board_ids())
    if bench_id not in scenarios:
        abort(404)
    return scenarios[bench_id]


def _system_or_404(system_id: int) -> HardwareSystem:
    system = db.session().get(HardwareSystem, system_id)
    if system is None:
        abort(404)
    return system


def _submission_or_404(public_id: str) -> Submission:
    submission = services.find_submission(public_id)
    if submission is None or not services.can_see(current_user, submission):
        abort(404)
    return submission


@bp.app_context_processor
def _helpers():
    return {"lb_label": lambda key: str(services.STATUS_LABELS.get(key, key)),
            "lb_scenario": lambda key: str(services.SCENARIOS.get(key, key)),
            "lb_check": lambda key: str(services.CHECKS.get(key, key)),
            "lb_value": _format_value}


def _format_value(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


@bp.get("", strict_slashes=False)
def index():
    boards = services.board_summary()
    grouped: dict[str, list] = {}
    for b in boards:
        grouped.setdefault(b["scenario"], []).append(b)
    recent = db.session().scalars(
        select(Submission).where(Submission.status == "verified")
        .order_by(Submission.verified_at.desc(), Submission.id.desc()).limit(10)).all()
    return render_template("leaderboards/index.html", grouped=grouped, recent=recent,
                           can_register=bool(services.vendor_orgs(current_user)),
                           is_reviewer=services.is_reviewer(current_user))


@bp.get("/boards/<bench_id>")
def board(bench_id: str):
    scenario = _board_or_404(bench_id)
    filters = services.BoardFilters.from_args(request.args)
    rows = services.board(bench_id, filters)
    page = _page()
    # The backend menu lists every backend on the board: worked out once per generation.
    backends = services.cached_fragment(("backends", bench_id))
    if backends is None:
        backends = sorted({r["backend"] for r in services.board(
            bench_id, services.BoardFilters(verified_only=False))})
        services.store_fragment(("backends", bench_id), backends)
    return render_template("leaderboards/board.html", bench_id=bench_id, scenario=scenario,
                           filters=filters, total=len(rows), page=page,
                           table=_board_table(bench_id, filters, rows, page),
                           has_next=page * PER_PAGE < len(rows), backends=backends,
                           unit=rows[0]["unit"] if rows else "",
                           higher=rows[0]["higher_is_better"] if rows else True,
                           sorts=[("result", _("Result")), ("date", _("Date")),
                                  ("submitter", _("Submitter")), ("system", _("System")),
                                  ("accelerator", _("Accelerator"))],
                           chart_url=url_for("api.lb_board", board_id=bench_id,
                                             per_page=100, **filters.query_args()))


def _board_table(bench_id: str, filters, rows: list, page: int) -> Markup:
    """The board's table for one page, rendered once per board generation and language.

    The fragment is the output of our own autoescaping template (every value in it is
    escaped by Jinja), cached next to the board rows and dropped with them.
    """
    locale = str(get_locale() or "en")
    key = ("table", bench_id, filters, page, locale)
    html = services.cached_fragment(key)
    if html is None:
        shown = rows[(page - 1) * PER_PAGE: page * PER_PAGE]
        html = render_template("leaderboards/_board_table.html", rows=shown)
        services.store_fragment(key, html)
    return Markup(html)  # noqa: S704 - Jinja-escaped template output, see the docstring


@bp.get("/boards/<bench_id>.csv")
def board_csv(bench_id: str):
    _board_or_404(bench_id)
    rows = services.board(bench_id, services.BoardFilters.from_args(request.args))
    return Response(services.board_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=skiff-{bench_id}.csv"})


@bp.get("/boards/<bench_id>.json")
def board_json(bench_id: str):
    scenario = _board_or_404(bench_id)
    filters = services.BoardFilters.from_args(request.args)
    rows = services.board(bench_id, filters)
    body = json.dumps({"board": bench_id, "scenario": scenario, "filters":
                       filters.query_args(), "results": rows}, indent=1)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=skiff-{bench_id}.json"})


@bp.get("/results/<public_id>")
def result(public_id: str):
    submission = _submission_or_404(public_id)
    return render_template(
        "leaderboards/result.html", s=submission,
        models=services.models_seen_by(submission, current_user),
        member=services.is_member(current_user, submission.organization_id),
        reviewer=services.is_reviewer(current_user),
        checks={c.name: c for c in submission.checks}, check_names=services.CHECKS)


@bp.get("/results/<public_id>/bundle.tar.gz")
def bundle(public_id: str):
    from hub.infra.storage import BlobNotFound, send_blob

    submission = _submission_or_404(public_id)
    try:
        return send_blob(submission.bundle_digest, download_name=f"{public_id}.tar.gz",
                         mimetype="application/gzip")
    except BlobNotFound:
        abort(404)


@bp.get("/results/<public_id>/log.jsonl")
def log(public_id: str):
    submission = _submission_or_404(public_id)
    data = services.load_bundle(submission).raw["log.jsonl"]
    return Response(data, mimetype="text/plain; charset=utf-8",
                    headers={"X-Content-Type-Options": "nosniff"})


@bp.post("/results/<public_id>/withdraw")
@login_required
def withdraw(public_id: str):
    submission = _submission_or_404(public_id)
    try:
        services.withdraw(current_user, submission)
        db.session().commit()
        flash(_("The result was withdrawn from the boards."), "success")
    except services.LeaderboardError as err:
        db.session().rollback()
        if err.status == 404:
            abort(404)
        flash(err.message, "error")
    return redirect(url_for(".result", public_id=public_id))


@bp.post("/results/<public_id>/review")
@login_required
def review(public_id: str):
    submission = _submission_or_404(public_id)
    if not services.is_reviewer(current_user):
        abort(403)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        services.review(current_user, submission, decision == "approve",
                        request.form.get("reason", ""))
        db.session().commit()
        flash(_("Your decision was recorded."), "success")
    except services.LeaderboardError as err:
        db.session().rollback()
        flash(err.message, "error")
    return redirect(url_for(".result", public_id=public_id))


@bp.get("/compare")
def compare():
    ids = [i.strip() for i in request.args.getlist("r") if i.strip()][:8]
    subs = []
    for public_id in ids:
        sub = services.find_submission(public_id)
        if sub is not None and services.can_see(current_user, sub):
            subs.append(sub)
    rows = services.compare(subs) if len(subs) >= 2 else []
    return render_template("leaderboards/compare.html", subs=subs, rows=rows)


@bp.get("/review")
@login_required
def review_queue():
    if not services.is_reviewer(current_user):
        abort(403)
    waiting = db.session().scalars(select(Submission).where(
        Submission.status == "needs_review").order_by(Submission.created_at, Submission.id)).all()
    reviewers = (db.session().scalars(select(Reviewer).order_by(Reviewer.id)).all()
                 if current_user.is_admin else [])
    return render_template("leaderboards/review.html", waiting=waiting, reviewers=reviewers)


@bp.post("/reviewers")
@admin_required
def add_reviewer():
    from hub import audit

    username = request.form.get("username", "").strip()
    user = db.session().scalar(select(User).where(User.username == username))
    if user is None:
        flash(_("No user is called %(name)s.", name=username), "error")
    elif not services.is_reviewer(user):
        db.session().add(Reviewer(user_id=user.id))
        audit.record("leaderboards.reviewer_add", target=user, details={"username": username})
        db.session().commit()
        flash(_("%(name)s can now review results.", name=username), "success")
    return redirect(url_for(".review_queue"))


# --- systems ---------------------------------------------------------------------------------


@bp.get("/systems")
def systems():
    rows = db.session().scalars(select(HardwareSystem).order_by(
        HardwareSystem.submitter, HardwareSystem.system_name, HardwareSystem.id)).all()
    return render_template("leaderboards/systems.html", systems=rows,
                           can_register=bool(services.vendor_orgs(current_user)))


def _form_fields() -> dict:
    data = {name: request.form.get(name, "") for name in HardwareSystem.FIELDS}
    data["peak_gflops"] = request.form.get("peak_gflops", "")
    return data


@bp.route("/systems/new", methods=["GET", "POST"])
@login_required
def new_system():
    orgs = services.vendor_orgs(current_user)
    if not orgs:
        abort(403)
    values = _form_fields() if request.method == "POST" else {
        "status": "available", "accelerators_per_node": 0, "host_processors_per_node": 1}
    if request.method == "POST":
        org = next((o for o in orgs if str(o.id) == request.form.get("organization")), None)
        if org is None:
            flash(_("Choose one of your vendor organizations."), "error")
        else:
            try:
                system = services.register_system(current_user, org, values)
                db.session().commit()
                flash(_("The system was registered."), "success")
                return redirect(url_for(".system", system_id=system.id))
            except services.LeaderboardError as err:
                db.session().rollback()
                flash(err.message, "error")
    return render_template("leaderboards/system_form.html", orgs=orgs, values=values,
                           system=None)


@bp.route("/systems/<int:system_id>/edit", methods=["GET", "POST"])
@login_required
def edit_system(system_id: int):
    system = _system_or_404(system_id)
    if not services.can_edit_system(current_user, system):
        abort(404)
    values = _form_fields() if request.method == "POST" else {
        **system.to_fields(), "peak_gflops": system.peak_gflops or ""}
    if request.method == "POST":
        try:
            services.update_system(current_user, system, values)
            db.session().commit()
            flash(_("The system was saved."), "success")
            return redirect(url_for(".system", system_id=system.id))
        except services.LeaderboardError as err:
            db.session().rollback()
            flash(err.message, "error")
    return render_template("leaderboards/system_form.html", orgs=[], values=values,
                           system=system)


@bp.get("/systems/<int:system_id>")
def system(system_id: int):
    system = _system_or_404(system_id)
    history = services.system_history(system, current_user)
    return render_template("leaderboards/system.html", system=system, history=history,
                           can_submit=services.can_submit(current_user, system),
                           can_edit=services.can_edit_system(current_user, system))


@bp.post("/systems/<int:system_id>/submit")
@login_required
@limit_uploads
def submit(system_id: int):
    system = _system_or_404(system_id)
    if not services.can_submit(current_user, system):
        abort(404)
    upload = request.files.get("bundle")
    if upload is None or not upload.filename:
        flash(_("Choose a bundle archive (.tar.gz) to upload."), "error")
        return redirect(url_for(".system", system_id=system_id))
    try:
        submission = services.submit(current_user, system, upload.stream,
                                     models=request.form.get("models", "")[:2000])
    except services.LeaderboardError as err:
        db.session().rollback()
        flash(err.message, "error")
        return redirect(url_for(".system", system_id=system_id))
    flash(_("The bundle was received as %(id)s; its checks are running.",
            id=submission.public_id), "success")
    return redirect(url_for(".result", public_id=submission.public_id))

