"""Job pages: a job's state for its owner (HTML and JSON for polling) and the admin list."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from hub import db
from hub.infra.models import JOB_STATUSES, Job
from hub.security import admin_required, require_owner_or_404

bp = Blueprint("jobs", __name__, template_folder="templates")


def _job_or_404(job_id: int) -> Job:
    return require_owner_or_404(db.session().get(Job, job_id))


@bp.get("/jobs/<int:job_id>.json")
def job_json(job_id: int):
    """The job's state, for its owner and admins; polled by ``static/js/jobs.js``."""
    job = _job_or_404(job_id)
    response = jsonify(job.to_dict())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/<int:job_id>")
def job_page(job_id: int):
    job = _job_or_404(job_id)
    result = json.dumps(job.result, indent=2, ensure_ascii=False) if job.result is not None else ""
    return render_template("jobs/job.html", job=job, result=result)


@bp.get("/admin/jobs")
@admin_required
def admin_jobs():
    session = db.session()
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    per_page = current_app.config.get("ADMIN_PAGE_SIZE", 50)
    query = select(Job)
    if status in JOB_STATUSES:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(Job.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    kinds = session.scalars(select(Job.kind).distinct().order_by(Job.kind)).all()
    pages = max(1, -(-total // per_page))
    if page > pages and total:
        abort(404)
    return render_template(
        "jobs/admin.html", jobs=rows, total=total, page=page, pages=pages, kinds=kinds,
        statuses=JOB_STATUSES, filters={"status": status, "kind": kind},
    )


def register_admin_page() -> None:
    """Link the jobs list from the admin home page."""
    try:
        from hub.admin.views import register_admin_link
    except ImportError:
        return
    register_admin_link(_l("Background jobs"), "jobs.admin_jobs")
