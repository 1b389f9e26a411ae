"""``/api/v1/notebooks``: list, upload (streamed body), show, download, run and delete."""

from __future__ import annotations

from flask import jsonify, request
from marshmallow import Schema, fields
from sqlalchemy.exc import IntegrityError

from hub import db
from hub.api.core import api, api_error, auth, conditional, current_api_user, paginate, schema
from hub.notebooks import services
from hub.notebooks.models import Notebook, NotebookRun, NotebookVersion
from hub.security import can_manage, limit_uploads


@schema
class NotebookVersionSchema(Schema):
    number = fields.Integer()
    sha256 = fields.String()
    size = fields.Integer()
    cells = fields.Integer()
    source = fields.String(metadata={"description": "upload or run"})
    render_state = fields.String()
    created_at = fields.DateTime()
    download_url = fields.String()


@schema
class NotebookRunSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, passed, failed, "
                                                    "timed_out or error"})
    version = fields.Integer(allow_none=True)
    result_version = fields.Integer(allow_none=True)
    failed_cell = fields.Integer(allow_none=True)
    error = fields.String()
    framework_version = fields.String()
    duration = fields.Float(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


@schema
class NotebookSchema(Schema):
    owner = fields.String()
    slug = fields.String()
    title = fields.String()
    description = fields.String()
    tags = fields.List(fields.String())
    public = fields.Boolean()
    url = fields.String()
    versions = fields.List(fields.Nested(NotebookVersionSchema))
    latest_run = fields.Nested(NotebookRunSchema, allow_none=True)


def dump_version(notebook: Notebook, version: NotebookVersion) -> dict:
    return {
        "number": version.number, "sha256": version.digest, "size": version.size,
        "cells": version.cell_count, "source": version.source,
        "render_state": version.render_state, "created_at": version.created_at.isoformat(),
        "download_url": f"/api/v1/notebooks/{notebook.owner.username}/{notebook.slug}"
                        f"/download?version={version.number}",
    }


def dump_run(run: NotebookRun | None) -> dict | None:
    if run is None:
        return None
    return {
        "id": run.id, "status": run.status,
        "version": run.version.number if run.version else None,
        "result_version": run.result_version.number if run.result_version else None,
        "failed_cell": run.failed_cell, "error": run.error,
        "framework_version": run.framework_version, "duration": run.duration,
        "job_id": run.job_id, "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def dump_notebook(notebook: Notebook, *, full: bool = False) -> dict:
    data = {
        "owner": notebook.owner.username, "slug": notebook.slug, "title": notebook.title,
        "description": notebook.description, "tags": notebook.tag_list,
        "public": notebook.is_public, "url": services.notebook_url(notebook),
        "versions": [dump_version(notebook, v) for v in notebook.versions] if full else
        [dump_version(notebook, notebook.latest_version)] if notebook.latest_version else [],
    }
    if full:
        data["latest_run"] = dump_run(services.latest_run(notebook))
    return data


def _visible_or_404(owner: str, slug: str) -> Notebook:
    notebook = services.find_notebook(owner, slug)
    if not services.can_view(notebook, current_api_user()):
        api_error(404, f"there is no notebook '{owner}/{slug}'")
    return notebook


def _managed_or_404(owner: str, slug: str) -> Notebook:
    notebook = services.find_notebook(owner, slug)
    if notebook is None or not can_manage(notebook, current_api_user()):
        api_error(404, f"there is no notebook '{owner}/{slug}'")
    return notebook


def _flag(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    api_error(400, f"'{name}' must be true or false", "bad_parameter")
    return None


@api.get("/notebooks")
@auth(optional=True)
def list_notebooks():
    """Notebooks the caller may see, newest first, paginated.
    ---
    get:
      tags: [notebooks]
      parameters:
        - {in: query, name: q, schema: {type: string}, description: words to find}
        - {in: query, name: tag, schema: {type: string}}
        - {in: query, name: owner, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        200: {description: "a page of notebooks: {items: [Notebook], page, per_page, total, pages}"}
    """
    from hub.accounts.models import User

    owner_id = None
    owner = request.args.get("owner")
    if owner:
        user = db.session().scalar(db_select_user(User, owner))
        owner_id = user.id if user is not None else -1
    stmt = services.visible_notebooks(current_api_user(), q=request.args.get("q") or None,
                                      tag=request.args.get("tag") or None, owner_id=owner_id)
    return paginate(stmt, dump_notebook)


def db_select_user(model, username: str):
    from sqlalchemy import select

    return select(model).where(model.username == username.lower())


@api.post("/notebooks")
@limit_uploads
@auth("write")
def upload_notebook():
    """Upload a notebook: the request body is the ``.ipynb`` file itself (streamed).

    Uploading to an existing slug of yours adds a version. Invalid JSON or a document that is
    not a valid notebook is refused with 400 and nothing is stored.
    ---
    post:
      tags: [notebooks]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: title, schema: {type: string}}
        - {in: query, name: slug, schema: {type: string}}
        - {in: query, name: description, schema: {type: string}}
        - {in: query, name: tags, schema: {type: string}, description: comma-separated}
        - {in: query, name: public, schema: {type: boolean}}
        - {in: query, name: filename, schema: {type: string}}
      requestBody:
        required: true
        content: {application/x-ipynb+json: {schema: {type: string, format: binary}},
                  application/octet-stream: {schema: {type: string, format: binary}}}
      responses:
        201: {content: {application/json: {schema: Notebook}}}
        400: {$ref: '#/components/responses/Invalid'}
        401: {$ref: '#/components/responses/Unauthorized'}
        413: {description: the notebook is too large}
    """
    user = current_api_user()
    # End the transaction that authentication opened: no database lock is held while the
    # body streams in.
    db.session().commit()
    try:
        data = services.spool(request.stream)
        if not data:
            raise services.NotebookError("the request body is empty: send the .ipynb file",
                                         400, "empty_body")
        version = services.upload_notebook(
            user, data, title=request.args.get("title") or None,
            slug=request.args.get("slug") or None,
            description=request.args.get("description"), tags=request.args.get("tags"),
            is_public=_flag("public"), filename=request.args.get("filename") or None)
    except services.NotebookError as err:
        db.session().rollback()
        api_error(err.status, str(err), err.code)
    except IntegrityError:
        db.session().rollback()
        api_error(409, "another upload of this notebook arrived at the same time; try again",
                  "conflict")
    notebook = version.notebook
    body = dump_notebook(notebook, full=True)
    body["version"] = version.number
    return jsonify(body), 201


@api.get("/notebooks/<owner>/<slug>")
@auth(optional=True)
def get_notebook(owner: str, slug: str):
    """A notebook with its versions and latest run.
    ---
    get:
      tags: [notebooks]
      parameters:
        - {in: path, name: owner, required: true, schema: {type: string}}
        - {in: path, name: slug, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: Notebook}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    notebook = _visible_or_404(owner, slug)
    return conditional(jsonify(dump_notebook(notebook, full=True)))


@api.get("/notebooks/<owner>/<slug>/download")
@auth(optional=True)
def download_notebook(owner: str, slug: str):
    """The ``.ipynb`` file of one version (default: the newest), as an attachment.
    ---
    get:
      tags: [notebooks]
      parameters:
        - {in: path, name: owner, required: true, schema: {type: string}}
        - {in: path, name: slug, required: true, schema: {type: string}}
        - {in: query, name: version, schema: {type: integer, minimum: 1}}
      responses:
        200: {content: {application/x-ipynb+json: {schema: {type: string, format: binary}}}}
        304: {description: not modified (If-None-Match)}
        404: {$ref: '#/components/responses/NotFound'}
    """
    from hub.api.core import send_blob

    notebook = _visible_or_404(owner, slug)
    raw = request.args.get("version")
    number = None
    if raw:
        if not raw.isdigit():
            api_error(400, "'version' must be a whole number", "bad_parameter")
        number = int(raw)
    version = services.get_version(notebook, number)
    if version is None:
        api_error(404, f"notebook '{owner}/{slug}' has no version {raw}")
    return send_blob(version.digest, f"{notebook.slug}.ipynb", "application/x-ipynb+json")


@api.post("/notebooks/<owner>/<slug>/runs")
@auth("write")
def run_notebook(owner: str, slug: str):
    """Run a version (default: the newest) in the sandbox; poll the run or its job.
    ---
    post:
      tags: [notebooks]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: owner, required: true, schema: {type: string}}
        - {in: path, name: slug, required: true, schema: {type: string}}
        - {in: query, name: version, schema: {type: integer, minimum: 1}}
      responses:
        202: {content: {application/json: {schema: NotebookRun}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    notebook = _managed_or_404(owner, slug)
    version = services.get_version(notebook, request.args.get("version", type=int))
    if version is None:
        api_error(404, "there is no such version")
    run = services.request_run(version, requested_by=current_api_user())
    return jsonify(dump_run(run)), 202


@api.get("/notebooks/<owner>/<slug>/runs/latest")
@auth(optional=True)
def latest_notebook_run(owner: str, slug: str):
    """The newest run of the notebook.
    ---
    get:
      tags: [notebooks]
      parameters:
        - {in: path, name: owner, required: true, schema: {type: string}}
        - {in: path, name: slug, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: NotebookRun}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    notebook = _visible_or_404(owner, slug)
    run = services.latest_run(notebook)
    if run is None:
        api_error(404, "this notebook has not been run")
    return jsonify(dump_run(run))


@api.delete("/notebooks/<owner>/<slug>")
@auth("write")
def delete_notebook(owner: str, slug: str):
    """Delete a notebook and all its versions.
    ---
    delete:
      tags: [notebooks]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: owner, required: true, schema: {type: string}}
        - {in: path, name: slug, required: true, schema: {type: string}}
      responses:
        200: {description: deleted}
        404: {$ref: '#/components/responses/NotFound'}
    """
    notebook = _managed_or_404(owner, slug)
    services.delete_notebook(notebook, by=current_api_user())
    db.session().commit()
    return jsonify(deleted=f"{owner}/{slug}")
