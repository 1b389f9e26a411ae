"""Notebook pages: list, upload, detail (rendered in a sandboxed frame), download, run, likes,
comments and their moderation."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError

from hub import audit, db
from hub.notebooks import services
from hub.notebooks.models import NotebookComment, NotebookVersion
from hub.security import can_manage, limit_uploads

bp = Blueprint("notebooks", __name__, url_prefix="/notebooks", template_folder="templates")

PER_PAGE = 20
#: Files the rendered-notebook frame may load (served with CORS, since the sandboxed frame has
#: an opaque origin and fonts are fetched in CORS mode).
FRAME_ASSETS = {
    "katex.min.js": "vendor/katex/katex.min.js",
    "katex.min.css": "vendor/katex/katex.min.css",
    "auto-render.min.js": "vendor/katex/contrib/auto-render.min.js",
    "notebook-frame.js": "js/notebook-frame.js",
}


def _notebook_or_404(owner: str, slug: str):
    notebook = services.find_notebook(owner, slug)
    if not services.can_view(notebook, current_user):
        abort(404)
    return notebook


def _manage_or_404(owner: str, slug: str):
    notebook = services.find_notebook(owner, slug)
    if notebook is None or not can_manage(notebook):
        abort(404)
    return notebook


@bp.get("/")
def index():
    q = request.args.get("q", "").strip()[:200]
    tag = request.args.get("tag", "").strip()[:40]
    try:
        page = max(1, min(10_000, int(request.args.get("page", 1))))
    except ValueError:
        page = 1
    stmt = services.visible_notebooks(current_user, q=q or None, tag=tag or None)
    rows = list(db.session().scalars(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    return render_template("notebooks/index.html", notebooks=rows[:PER_PAGE], q=q, tag=tag,
                           page=page, has_next=len(rows) > PER_PAGE, badge=services.badge)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@limit_uploads
def new():
    errors: list[str] = []
    form = {"title": "", "slug": "", "description": "", "tags": "", "public": True}
    if request.method == "POST":
        form = {
            "title": request.form.get("title", "").strip()[:200],
            "slug": request.form.get("slug", "").strip()[:100],
            "description": request.form.get("description", "").strip()[:10_000],
            "tags": request.form.get("tags", "").strip()[:500],
            "public": request.form.get("public") == "on",
        }
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors.append(_("Choose a .ipynb file to upload."))
        else:
            db.session().commit()  # no database lock is held while the file streams in
            try:
                data = services.spool(upload.stream)
                version = services.upload_notebook(
                    current_user, data, title=form["title"] or None, slug=form["slug"] or None,
                    description=form["description"], tags=form["tags"],
                    is_public=form["public"], filename=upload.filename)
            except services.NotebookError as err:
                db.session().rollback()
                errors.append(str(err))
            except IntegrityError:
                db.session().rollback()
                errors.append(_("Another upload of this notebook arrived at the same time; "
                                "try again."))
            else:
                notebook = version.notebook
                flash(_("Uploaded version %(n)s of %(title)s.", n=version.number,
                        title=notebook.title), "success")
                return redirect(services.notebook_url(notebook))
    status = 400 if errors else 200
    return render_template("notebooks/new.html", errors=errors, form=form,
                           max_mib=round(services.max_bytes() / 2**20)), status


@bp.get("/<owner>/<slug>")
def detail(owner: str, slug: str):
    notebook = _notebook_or_404(owner, slug)
    number = request.args.get("version", type=int)
    version = services.get_version(notebook, number)
    if number is not None and version is None:
        abort(404)
    run = services.latest_run(notebook)
    job = None
    if version is not None and version.render_state == "pending" and version.render_job_id:
        from hub.infra.jobs import get_job

        job = get_job(version.render_job_id)
    run_job = None
    if run is not None and not run.finished and run.job_id:
        from hub.infra.jobs import get_job

        run_job = get_job(run.job_id)
    return render_template(
        "notebooks/detail.html", notebook=notebook, version=version, run=run,
        badge=services.badge(notebook), describe_run=services.describe_run,
        likes=services.like_count(notebook), liked=services.likes(notebook, current_user),
        comments=services.visible_comments(notebook, current_user),
        can_manage=can_manage(notebook), render_job=job, run_job=run_job,
    )


@bp.get("/<owner>/<slug>/download")
def download(owner: str, slug: str):
    from hub.infra.storage import BlobNotFound, send_blob

    notebook = _notebook_or_404(owner, slug)
    version = services.get_version(notebook, request.args.get("version", type=int))
    if version is None:
        abort(404)
    try:
        response = send_blob(version.digest, download_name=f"{notebook.slug}.ipynb",
                             mimetype="application/x-ipynb+json")
    except BlobNotFound:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/frame/<int:version_id>")
def frame(version_id: int):
    """The rendered notebook as its own document, for an ``<iframe sandbox>`` only: sanitized
    HTML under a CSP that allows the vendored KaTeX files, the frame script and stylesheet,
    ``data:`` images, and nothing else."""
    version = db.session().get(NotebookVersion, version_id)
    if version is None or not services.can_view(version.notebook, current_user):
        abort(404)
    html = services.rendered_html(version)
    if html is None:
        abort(404)
    from hub.notebooks.render import NEEDS_JS_NOTE

    note_text = escape(_("This output needs JavaScript and is not shown."))
    note = f'<div class="skiff-needs-js">{note_text}</div>'
    html = html.replace(NEEDS_JS_NOTE, note)
    # The stored HTML was cleaned by nh3 (render.sanitize) before it was cached; this frame
    # is sandboxed and under frame_csp() besides.
    body = render_template("notebooks/frame.html", body=Markup(html), assets=_asset_urls())
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = frame_csp()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _asset_urls() -> dict[str, str]:
    urls = {name: url_for("notebooks.asset", name=name, _external=True) for name in FRAME_ASSETS}
    urls["notebook.css"] = url_for("notebooks.frame_stylesheet", _external=True)
    urls["fonts/"] = url_for("notebooks.font", name="x", _external=True)[:-1]
    return urls


def frame_csp() -> str:
    """The frame's Content-Security-Policy: exact script and style files, fonts from the KaTeX
    font folder, images only as ``data:`` URLs, no connections, forms, plugins or frames."""
    urls = _asset_urls()
    scripts = " ".join(urls[n] for n in ("katex.min.js", "auto-render.min.js",
                                         "notebook-frame.js"))
    styles = " ".join(urls[n] for n in ("katex.min.css", "notebook.css"))
    return "; ".join([
        "default-src 'none'",
        f"script-src {scripts}",
        f"style-src {styles}",
        f"font-src {urls['fonts/']}",
        "img-src data:",
        "connect-src 'none'",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ])


def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/assets/<name>")
def asset(name: str):
    path = FRAME_ASSETS.get(name)
    if path is None:
        abort(404)
    return _cors(send_from_directory(current_app.static_folder, path, max_age=3600))


@bp.get("/assets/fonts/<name>")
def font(name: str):
    if not name.endswith(".woff2"):
        abort(404)
    return _cors(send_from_directory(current_app.static_folder, f"vendor/katex/fonts/{name}",
                                     max_age=86400))


@bp.get("/assets/notebook.css")
def frame_stylesheet():
    from hub.api.core import conditional
    from hub.notebooks.render import frame_css

    response = Response(frame_css(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return _cors(conditional(response))


@bp.route("/<owner>/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(owner: str, slug: str):
    notebook = _manage_or_404(owner, slug)
    errors: list[str] = []
    form = {"title": notebook.title, "description": notebook.description,
            "tags": ", ".join(notebook.tag_list), "public": notebook.is_public}
    if request.method == "POST":
        form = {
            "title": request.form.get("title", "").strip()[:200],
            "description": request.form.get("description", "").strip()[:10_000],
            "tags": request.form.get("tags", "").strip()[:500],
            "public": request.form.get("public") == "on",
        }
        if not form["title"]:
            errors.append(_("A notebook needs a title."))
        else:
            try:
                services.update_notebook(notebook, title=form["title"],
                                         description=form["description"], tags=form["tags"],
                                         is_public=form["public"])
            except services.NotebookError as err:
                db.session().rollback()
                errors.append(str(err))
            else:
                audit.record("notebook.update", target=f"notebook:{notebook.id}",
                             details={"public": notebook.is_public})
                db.session().commit()
                flash(_("Saved."), "success")
                return redirect(services.notebook_url(notebook))
    return render_template("notebooks/edit.html", notebook=notebook, form=form,
                           errors=errors), 400 if errors else 200


@bp.post("/<owner>/<slug>/run")
@login_required
def run(owner: str, slug: str):
    notebook = _manage_or_404(owner, slug)
    version = services.get_version(notebook, request.form.get("version", type=int))
    if version is None:
        abort(404)
    services.request_run(version, requested_by=current_user)
    flash(_("The notebook is running in the sandbox."), "success")
    return redirect(services.notebook_url(notebook))


@bp.post("/<owner>/<slug>/like")
@login_required
def like(owner: str, slug: str):
    notebook = _notebook_or_404(owner, slug)
    services.set_like(notebook, current_user, request.form.get("like") != "0")
    db.session().commit()
    return redirect(services.notebook_url(notebook))


@bp.post("/<owner>/<slug>/comments")
@login_required
def comment(owner: str, slug: str):
    notebook = _notebook_or_404(owner, slug)
    try:
        services.add_comment(notebook, current_user, request.form.get("body", ""))
    except services.NotebookError as err:
        flash(str(err), "error")
    else:
        db.session().commit()
    return redirect(services.notebook_url(notebook) + "#comments")


@bp.post("/<owner>/<slug>/comments/<int:comment_id>/hide")
@login_required
def hide_comment(owner: str, slug: str, comment_id: int):
    notebook = _manage_or_404(owner, slug)
    comment = db.session().get(NotebookComment, comment_id)
    if comment is None or comment.notebook_id != notebook.id:
        abort(404)
    comment.is_hidden = request.form.get("hidden") != "0"
    audit.record("notebook.comment.hide" if comment.is_hidden else "notebook.comment.show",
                 target=f"notebook_comment:{comment.id}", details={"notebook": notebook.id})
    db.session().commit()
    return redirect(services.notebook_url(notebook) + "#comments")


@bp.post("/<owner>/<slug>/delete")
@login_required
def delete(owner: str, slug: str):
    notebook = _manage_or_404(owner, slug)
    title = notebook.title
    services.delete_notebook(notebook, by=current_user)
    db.session().commit()
    flash(_("Deleted the notebook %(title)s.", title=title), "success")
    return redirect(url_for("notebooks.index"))
