"""Model zoo pages: the list with search, filters and sorting; a model's page (card, files,
versions, validation, metrics, graph, likes, discussion, "used in"); publishing a model or a
new version through a multi-file form; pinned downloads."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from hub import audit, db
from hub.security import limit_uploads, user_org_ids
from hub.zoo import fragments, services
from hub.zoo import graph as graphs
from hub.zoo.models import ModelComment
from hub.zoo.validation import format_metric, metric_lines

bp = Blueprint("zoo", __name__, url_prefix="/models")

PER_PAGE = 20


def _int_arg(name: str, default: int = 1, high: int = 10_000) -> int:
    try:
        return max(1, min(high, int(request.args.get(name, default))))
    except ValueError:
        return default


def _verified_arg(raw: str | None) -> bool | None:
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    return None


def _model_or_404(namespace: str, name: str):
    model = services.find_model(namespace, name)
    if not services.can_view(model, current_user):
        abort(404)
    return model


def _manage_or_404(namespace: str, name: str):
    model = services.find_model(namespace, name)
    if model is None or not services.can_manage(model, current_user):
        abort(404)
    return model


@bp.get("", strict_slashes=False)
def index():
    args = {
        "q": request.args.get("q", "").strip()[:200],
        "task": request.args.get("task", "").strip()[:64],
        "tag": request.args.get("tag", "").strip()[:64],
        "license": request.args.get("license", "").strip()[:64],
        "verified": request.args.get("verified", "").strip()[:5],
        "sort": request.args.get("sort", "trending"),
    }
    if args["sort"] not in services.SORTS:
        args["sort"] = "trending"
    page = _int_arg("page")
    rows = services.list_page(
        current_user, q=args["q"] or None, task=args["task"] or None, tag=args["tag"] or None,
        license=args["license"] or None, verified=_verified_arg(args["verified"]),
        sort=args["sort"], limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    return render_template("zoo/index.html", rows=_list_rows(rows[:PER_PAGE]), args=args,
                           page=page, has_next=len(rows) > PER_PAGE,
                           facets=services.facet_values(), sorts=_sort_labels())


def _list_rows(models) -> list:
    """The list's rows as HTML, each rendered once per content and language."""
    from flask import get_template_attribute
    from flask_babel import get_locale

    base = url_for("zoo.index")
    language = str(get_locale() or "en")
    macro = None
    rows = []
    for m in models:
        def render(m=m):
            nonlocal macro
            macro = macro or get_template_attribute("zoo/_list_row.html", "list_row")
            return macro(m, base)
        rows.append(fragments.LIST_ROWS.get_or_render(
            fragments.list_row_key(m, language, base), render))
    return rows


def _sort_labels():
    return [("trending", _("Trending")), ("downloads", _("Most downloads")),
            ("likes", _("Most likes")), ("recent", _("Recently updated"))]


def _namespaces() -> list[str]:
    from sqlalchemy import select

    from hub.accounts.models import Organization

    names = [current_user.username]
    orgs = user_org_ids(current_user)
    if orgs:
        names += list(db.session().scalars(select(Organization.slug).where(
            Organization.id.in_(orgs)).order_by(Organization.slug)))
    return names


def _publish_from_form(namespace: str, name: str, is_public: bool | None):
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        raise services.ModelError(_("Choose the model's files: README.md, the weights "
                                    "(.safetensors) and graph.json or model.py."))
    folder = request.form.get("folder", "").strip().strip("/")
    staged = []
    for upload in uploads:
        path = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
        staged.append(services.stage_file(f"{folder}/{path}" if folder and path not in (
            "README.md", "model.py") else path, upload.stream))
    return services.publish(current_user, namespace, name, staged,
                            request.form.get("message", ""), is_public=is_public,
                            tag=request.form.get("tag", "").strip() or None)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@limit_uploads
def new():
    namespaces = _namespaces()
    form = {"namespace": namespaces[0], "name": "", "message": "", "public": True, "tag": ""}
    errors: list[str] = []
    if request.method == "POST":
        form = {"namespace": request.form.get("namespace", ""),
                "name": request.form.get("name", "").strip()[:100],
                "message": request.form.get("message", "").strip()[:5000],
                "public": request.form.get("public") == "on",
                "tag": request.form.get("tag", "").strip()[:64]}
        if form["namespace"] not in namespaces:
            errors.append(_("Publish under your own name or one of your organizations."))
        elif services.find_model(form["namespace"], form["name"]) is not None:
            errors.append(_("That model exists already: publish a new version from its page."))
        else:
            try:
                version = _publish_from_form(form["namespace"], form["name"], form["public"])
            except services.ModelError as err:
                db.session().rollback()
                errors.extend(err.problems)
            else:
                flash(_("Published version %(n)s. It is being validated in the sandbox.",
                        n=version.number), "success")
                return redirect(services.model_url(version.model))
    return render_template("zoo/new.html", form=form, errors=errors, namespaces=namespaces,
                           model=None, limits=_limits()), 400 if errors else 200


def _limits():
    return {"file_mib": round(services.max_file_bytes() / 2**20),
            "version_mib": round(services.max_version_bytes() / 2**20)}


@bp.route("/<namespace>/<name>/upload", methods=["GET", "POST"])
@login_required
@limit_uploads
def upload(namespace: str, name: str):
    model = _manage_or_404(namespace, name)
    form = {"message": "", "tag": ""}
    errors: list[str] = []
    if request.method == "POST":
        form = {"message": request.form.get("message", "").strip()[:5000],
                "tag": request.form.get("tag", "").strip()[:64]}
        try:
            version = _publish_from_form(model.namespace, model.name, None)
        except services.ModelError as err:
            db.session().rollback()
            errors.extend(err.problems)
        else:
            flash(_("Published version %(n)s. It is being validated in the sandbox.",
                    n=version.number), "success")
            return redirect(services.model_url(model))
    return render_template("zoo/new.html", form=form, errors=errors, model=model,
                           namespaces=[], limits=_limits()), 400 if errors else 200


@bp.get("/<namespace>/<name>")
def model(namespace: str, name: str):
    ref = request.args.get("version", "").strip()[:64] or None
    model, version = services.find_model_and_latest(namespace, name)
    if not services.can_view(model, current_user):
        abort(404)
    if ref is not None:
        version = services.resolve_version(model, ref)
        if version is None:
            abort(404)
    job = None
    if version is not None and version.validation_status in ("queued", "running") \
            and version.validation_job_id:
        from hub.infra.jobs import get_job

        job = get_job(version.validation_job_id)
    return render_template(
        "zoo/model.html", model=model, version=version,
        version_body=_version_body(model, version) if version is not None else "",
        version_list=_version_list(model, version) if version is not None else "",
        liked=services.likes(model, current_user),
        comments=services.visible_comments(model, current_user),
        references=services.references_to(model, current_user), job=job,
        can_manage=services.can_manage(model, current_user),
    )


def _version_body(model, version):
    """A version's metrics, card, signature, graph and files as HTML: the same for every
    reader, so rendered once per (language, version, validation outcome)."""
    from flask_babel import get_locale

    metrics = metric_lines(version)
    base = url_for("zoo.index")

    def render():
        card = version.card or {}
        version_files = services.files_of(version)
        program = None
        if version.architecture == "program":
            graph_path = (f"{version.program_dir}/graph.json" if version.program_dir
                          else "graph.json")
            graph_file = next((f for f in version_files if f.path == graph_path), None)
            if graph_file is not None:
                program = graphs.summary_of_blob(graph_file.digest)
        # Everything shown is worked out here, in Python: a macro's loops calling filters,
        # gettext and url_for cost several times as much on a page's first view.
        signature = [(_("input"), s) for s in card.get("inputs") or []] + \
            [(_("output"), s) for s in card.get("outputs") or []]
        files = [(url_for("zoo.resolve", namespace=model.namespace, name=model.name,
                          ref=version.number, path=f.path), f.path, _filesize(f.size),
                  f.digest[:12]) for f in version_files]
        macro = get_template_attribute("zoo/_model_parts.html", "version_body")
        return macro(model, version, _readme_html(version, card), _metric_rows(metrics),
                     [(label, s.get("name", ""), _shape(s.get("shape")), s.get("dtype", ""))
                      for label, s in signature], program, files)

    key = fragments.version_body_key(model, version, metrics, str(get_locale() or "en"), base)
    return fragments.VERSION_BODIES.get_or_render(key, render)


def _shape(shape) -> str:
    """``N × 64`` (a free dimension is N); ``()`` for a scalar."""
    return " × ".join(str(d) if d else "N" for d in shape) if shape else "()"


def _metric_rows(metrics: list[dict]) -> list[tuple]:
    """(metric, dataset, split, claimed, CSS class, re-measured outcome) of each metric line
    (:func:`hub.zoo.validation.metric_lines`), as the page shows it."""
    rows = []
    for m in metrics:
        claimed = format_metric(m["name"], m["claimed"], claimed=True)
        if m["measured"] is not None:
            measured = format_metric(m["name"], m["measured"])
            if m["ok"]:
                css, outcome = "metric-ok", _("verified: %(measured)s (claimed %(claimed)s)",
                                             measured=measured, claimed=claimed)
            else:
                css, outcome = "metric-mismatch", _(
                    "mismatch: measured %(measured)s, claimed %(claimed)s",
                    measured=measured, claimed=claimed)
        elif m["verifiable"] and m["why"]:
            css, outcome = "metric-mismatch", _("not verified: %(why)s", why=m["why"])
        elif m["verifiable"]:
            css, outcome = "muted", _("not measured yet")
        else:
            css, outcome = "muted", _("not verifiable: the hub does not hold this dataset")
        rows.append((m["name"], m["dataset"], m["split"], claimed, css, outcome))
    return rows


def _readme_html(version, card) -> Markup:
    """The card as sanitized HTML: kept with the version since it was published
    (``readme_html``, the output of nh3 via :func:`hub.zoo.card.stored_html`), else rendered
    now (versions published before it was kept)."""
    if version.readme_html is not None:
        return Markup(version.readme_html)
    return fragments.card_html(card.get("readme", ""))


def _version_list(model, version):
    """The model's versions with their tags as HTML, rendered once per (language, versions
    and tags as they are now, version shown)."""
    from flask_babel import get_locale

    versions = services.versions_of(model)
    tags = services.tags_of(model)

    def render():
        page_url = url_for("zoo.model", namespace=model.namespace, name=model.name)
        title, state = _("Version %(n)s", n="{n}"), _("validation %(state)s", state="{n}")
        rows = [(v.id == version.id, f"{page_url}?version={v.number}",
                 title.replace("{n}", str(v.number)), tags.get(v.id, ()),
                 f"{v.created_at.strftime('%Y-%m-%d %H:%M')} · {_filesize(v.total_size)} · "
                 f"{state.replace('{n}', v.validation_status)}", v.message)
                for v in versions]
        macro = get_template_attribute("zoo/_model_parts.html", "version_list")
        return macro(rows)

    key = fragments.version_list_key(model, version, versions, tags,
                                     str(get_locale() or "en"), url_for("zoo.index"))
    return fragments.VERSION_LISTS.get_or_render(key, render)


@bp.get("/<namespace>/<name>/resolve/<ref>/<path:path>")
def resolve(namespace: str, name: str, ref: str, path: str):
    """Download one file of a pinned version (number or tag); ETag = the file's SHA-256."""
    from hub.infra.storage import BlobNotFound, send_blob

    model = _model_or_404(namespace, name)
    version = services.resolve_version(model, ref)
    found = services.find_file(version, path) if version is not None else None
    if found is None:
        abort(404)
    try:
        response = send_blob(found.digest, download_name=path.rsplit("/", 1)[-1])
    except BlobNotFound:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if found.kind == "weights" and response.status_code == 200:
        services.record_download(model.id)
    return response


@bp.post("/<namespace>/<name>/like")
@login_required
def like(namespace: str, name: str):
    model = _model_or_404(namespace, name)
    services.set_like(model, current_user, request.form.get("like") != "0")
    return redirect(services.model_url(model))


@bp.post("/<namespace>/<name>/comments")
@login_required
def comment(namespace: str, name: str):
    model = _model_or_404(namespace, name)
    try:
        services.add_comment(model, current_user, request.form.get("body", ""))
    except services.ModelError as err:
        flash(err.message, "error")
    return redirect(services.model_url(model) + "#discussion")


@bp.post("/<namespace>/<name>/comments/<int:comment_id>/hide")
@login_required
def hide_comment(namespace: str, name: str, comment_id: int):
    model = _manage_or_404(namespace, name)
    comment = db.session().get(ModelComment, comment_id)
    if comment is None or comment.model_id != model.id:
        abort(404)
    comment.is_hidden = request.form.get("hidden") != "0"
    audit.record("model.comment.hide" if comment.is_hidden else "model.comment.show",
                 target=f"model_comment:{comment.id}", details={"model": model.id})
    db.session().commit()
    return redirect(services.model_url(model) + "#discussion")


@bp.post("/<namespace>/<name>/tags")
@login_required
def tag(namespace: str, name: str):
    model = _manage_or_404(namespace, name)
    version = services.resolve_version(model, request.form.get("version", ""))
    if version is None:
        abort(404)
    try:
        services.add_tag(model, request.form.get("tag", "").strip(), version, current_user)
    except services.ModelError as err:
        db.session().rollback()
        flash(err.message, "error")
    return redirect(services.model_url(model, version=version.number))


@bp.post("/<namespace>/<name>/revalidate")
@login_required
def revalidate(namespace: str, name: str):
    model = _manage_or_404(namespace, name)
    version = services.resolve_version(model, request.form.get("version", ""))
    if version is None:
        abort(404)
    version.validation_status = "queued"
    version.validation_job_id = None
    db.session().commit()
    services.request_validation(version)
    flash(_("Validation queued."), "success")
    return redirect(services.model_url(model, version=version.number))


@bp.post("/<namespace>/<name>/delete")
@login_required
def delete(namespace: str, name: str):
    model = _manage_or_404(namespace, name)
    full = model.full_name
    services.delete_model(model, current_user)
    flash(_("Deleted the model %(name)s.", name=full), "success")
    return redirect(url_for("zoo.index"))


def graph_filters(app: Flask) -> None:
    """Template helpers of the model pages."""
    app.jinja_env.filters.setdefault("filesize", _filesize)


def _filesize(n: int) -> str:
    size = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)
