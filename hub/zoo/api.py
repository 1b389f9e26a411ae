"""The model zoo's JSON API under ``/api/v1/models``.

Publishing a version takes two steps, so each file streams as a raw request body (never a
multipart form held in memory) and a failed or abandoned push leaves no version and no rows:

1. ``POST /api/v1/models/{owner}/{name}/files?path=weights.safetensors`` with the file's
   bytes as the body stores them as a blob (size-checked while streaming) and answers
   ``{path, digest, size, receipt}``. Nothing else is written.
2. ``POST /api/v1/models/{owner}/{name}/versions`` with ``{"message": …, "files": [{path,
   digest, receipt}, …]}`` checks the whole version (card, safetensors headers, architecture,
   sizes) and creates it in one transaction (the model too, on the first push), then queues
   its validation. The receipts prove the caller uploaded each blob.

Downloads pin a version: ``GET /api/v1/models/{owner}/{name}/versions/{version}/files/{path}``
(``version`` is a number or a tag), with the file's SHA-256 as a strong ETag.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from marshmallow import Schema, fields, validate

from hub import db
from hub.api.core import (
    api,
    api_error,
    auth,
    conditional,
    current_api_user,
    json_body,
    paginate,
    schema,
    send_blob,
)
from hub.security import limit_uploads, limiter
from hub.zoo import services
from hub.zoo.models import ModelVersion, ZooModel
from hub.zoo.validation import metric_lines


@schema
class ModelSchema(Schema):
    id = fields.Integer()
    full_name = fields.String(metadata={"description": "owner/name"})
    owner = fields.String()
    name = fields.String()
    summary = fields.String()
    task = fields.String()
    license = fields.String()
    tags = fields.List(fields.String())
    public = fields.Boolean()
    latest_version = fields.Integer()
    validation_status = fields.String(metadata={"description": "queued, running, passed, "
                                                               "failed"})
    verified = fields.Boolean()
    downloads = fields.Integer()
    likes = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


@schema
class ModelFileSchema(Schema):
    path = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    kind = fields.String(metadata={"description": "card, weights, program, module or text"})
    url = fields.String(metadata={"description": "pinned download URL"})


@schema
class ModelVersionSchema(Schema):
    number = fields.Integer()
    message = fields.String()
    tags = fields.List(fields.String())
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    architecture = fields.String(metadata={"description": "program or module"})
    total_size = fields.Integer()
    card = fields.Dict()
    files = fields.List(fields.Nested(ModelFileSchema))
    validation = fields.Dict(metadata={"description": "{status, error, outputs, metrics}"})


class _StagedSchema(Schema):
    path = fields.String(required=True, validate=validate.Length(1, 255))
    digest = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    receipt = fields.String(required=True, validate=validate.Length(1, 128))


@schema
class NewVersionSchema(Schema):
    message = fields.String(required=True, validate=validate.Length(1, 5000))
    files = fields.List(fields.Nested(_StagedSchema), required=True,
                        validate=validate.Length(1, 200))
    public = fields.Boolean(load_default=None, allow_none=True,
                            metadata={"description": "visibility (a new model: default true)"})
    tag = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))


@schema
class NewTagSchema(Schema):
    tag = fields.String(required=True, validate=validate.Length(1, 64))
    version = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))


def dump_model(model: ZooModel) -> dict:
    return {
        "id": model.id, "full_name": model.full_name, "owner": model.namespace,
        "name": model.name, "summary": model.summary, "task": model.task,
        "license": model.license, "tags": model.tag_list, "public": model.is_public,
        "latest_version": model.latest_number, "validation_status": model.validation_status,
        "verified": model.verified, "downloads": model.downloads, "likes": model.likes,
        "created_at": model.created_at.isoformat(), "updated_at": model.updated_at.isoformat(),
    }


def file_url(model: ZooModel, number: int, path: str) -> str:
    return f"/api/v1/models/{model.namespace}/{model.name}/versions/{number}/files/{path}"


def dump_version(model: ZooModel, version: ModelVersion, tags: list[str]) -> dict:
    card = dict(version.card or {})
    card.pop("readme", None)
    return {
        "number": version.number, "message": version.message, "tags": tags,
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by.username if version.created_by else None,
        "architecture": version.architecture, "total_size": version.total_size, "card": card,
        "files": [{"path": f.path, "size": f.size, "sha256": f.digest, "kind": f.kind,
                   "url": file_url(model, version.number, f.path)} for f in version.files],
        "validation": {"status": version.validation_status, "error": version.validation_error,
                       "job_id": version.validation_job_id,
                       "outputs": (version.validation or {}).get("outputs", []),
                       "metrics": metric_lines(version)},
    }


def _visible_model(namespace: str, name: str) -> ZooModel:
    model = services.find_model(namespace, name)
    if not services.can_view(model, current_api_user()):
        api_error(404, f"there is no model '{namespace}/{name}'")
    return model


def _fail(err: services.ModelError):
    db.session().rollback()
    api_error(err.status, err.message, err.code)


@api.get("/models")
@auth(optional=True)
def list_models():
    """Models, searched, filtered and sorted (private ones only for their owners).
    ---
    get:
      tags: [models]
      parameters:
        - in: query
          name: q
          schema: {type: string}
          description: words in the name, summary or tags
        - {in: query, name: task, schema: {type: string}}
        - {in: query, name: tag, schema: {type: string}}
        - {in: query, name: license, schema: {type: string}}
        - {in: query, name: verified, schema: {type: boolean}}
        - {in: query, name: owner, schema: {type: string}}
        - in: query
          name: sort
          schema: {type: string, enum: [trending, downloads, likes, recent]}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        200: {description: "a page of models: {items: [Model], page, per_page, total, pages}"}
        400: {$ref: '#/components/responses/Invalid'}
    """
    sort = request.args.get("sort", "trending")
    if sort not in services.SORTS:
        api_error(400, f"'sort' must be one of {', '.join(services.SORTS)}", "bad_parameter")
    raw = request.args.get("verified", "").lower()
    if raw not in ("", "true", "false", "1", "0"):
        api_error(400, "'verified' must be true or false", "bad_parameter")
    verified = None if raw == "" else raw in ("true", "1")
    stmt = services.list_models(
        current_api_user(), q=request.args.get("q", "")[:200] or None,
        task=request.args.get("task", "")[:64] or None,
        tag=request.args.get("tag", "")[:64] or None,
        license=request.args.get("license", "")[:64] or None, verified=verified,
        owner=request.args.get("owner", "")[:40] or None, sort=sort)
    return paginate(stmt, dump_model)


@api.get("/models/<namespace>/<name>")
@auth(optional=True)
def get_model(namespace: str, name: str):
    """One model, with its latest version.
    ---
    get:
      tags: [models]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: Model}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    model = _visible_model(namespace, name)
    body = dump_model(model)
    latest = services.latest_version(model)
    tags = services.tags_of(model)
    body["latest"] = dump_version(model, latest, tags.get(latest.id, [])) if latest else None
    body["references"] = [{"kind": r.kind, "id": r.ref_id, "title": r.title, "url": r.url}
                          for r in services.references_to(model, current_api_user())]
    return conditional(jsonify(body))


@api.delete("/models/<namespace>/<name>")
@auth("write")
def delete_model(namespace: str, name: str):
    """Delete a model and all its versions (its owners only).
    ---
    delete:
      tags: [models]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
      responses:
        200: {description: deleted}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    model = services.find_model(namespace, name)
    if not services.can_manage(model, current_api_user()):
        api_error(404, f"there is no model '{namespace}/{name}'")
    services.delete_model(model, current_api_user())
    return jsonify(deleted=f"{namespace}/{name}")


@api.get("/models/<namespace>/<name>/versions")
@auth(optional=True)
def list_versions(namespace: str, name: str):
    """A model's versions, newest first.
    ---
    get:
      tags: [models]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        200: {description: "a page of versions: {items: [ModelVersion], …}"}
        404: {$ref: '#/components/responses/NotFound'}
    """
    from sqlalchemy import select

    model = _visible_model(namespace, name)
    tags = services.tags_of(model)
    stmt = select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(
        ModelVersion.number.desc())
    return paginate(stmt, lambda v: dump_version(model, v, tags.get(v.id, [])))


@api.get("/models/<namespace>/<name>/versions/<ref>")
@auth(optional=True)
def get_version(namespace: str, name: str, ref: str):
    """One version (a number, a tag, or ``latest``): card, files, validation.
    ---
    get:
      tags: [models]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
        - in: path
          name: ref
          required: true
          schema: {type: string}
          description: a version number, a tag or latest
      responses:
        200: {content: {application/json: {schema: ModelVersion}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    model = _visible_model(namespace, name)
    version = services.resolve_version(model, ref)
    if version is None:
        api_error(404, f"'{namespace}/{name}' has no version '{ref}'")
    return conditional(jsonify(dump_version(model, version,
                                            services.tags_of(model).get(version.id, []))))


@api.get("/models/<namespace>/<name>/versions/<ref>/files/<path:path>")
@auth(optional=True)
def download_file(namespace: str, name: str, ref: str, path: str):
    """Download one file of a pinned version (ETag: its SHA-256; 304 on If-None-Match).
    ---
    get:
      tags: [models]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
        - {in: path, name: ref, required: true, schema: {type: string}}
        - {in: path, name: path, required: true, schema: {type: string}}
      responses:
        200: {content: {application/octet-stream: {schema: {type: string, format: binary}}}}
        304: {description: not modified}
        404: {$ref: '#/components/responses/NotFound'}
    """
    model = _visible_model(namespace, name)
    version = services.resolve_version(model, ref)
    found = services.find_file(version, path) if version is not None else None
    if found is None:
        api_error(404, f"'{namespace}/{name}' version '{ref}' has no file '{path}'")
    response = send_blob(found.digest, path.rsplit("/", 1)[-1])
    if found.kind == "weights" and response.status_code == 200:
        services.record_download(model.id)
    return response


#: Staged files count against their own limit: one push sends many files, and each version
#: commit still counts as an upload under ``limit_uploads``.
limit_staged_files = limiter.shared_limit(
    lambda: current_app.config.get("ZOO_RATELIMIT_FILES", "300 per minute;3000 per hour"),
    scope="zoo-files", methods=["POST"])


def _check_may_push(namespace: str, name: str) -> None:
    user = current_api_user()
    model = services.find_model(namespace, name)
    if model is None:
        if not services.can_push(user, services.find_namespace(namespace)):
            api_error(403, "you may publish only under your own name or an organization you "
                      "belong to", "forbidden")
    elif not services.can_manage(model, user):
        if services.can_view(model, user):
            api_error(403, "only the model's owners may publish new versions", "forbidden")
        api_error(404, f"there is no model '{namespace}/{name}'")


@api.post("/models/<namespace>/<name>/files")
@auth("write")
@limit_staged_files
def upload_file(namespace: str, name: str):
    """Stage one file of a version: the raw body is stored (size-checked while streaming).
    ---
    post:
      tags: [models]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
        - in: query
          name: path
          required: true
          schema: {type: string}
          description: the file's path in the model folder
      requestBody:
        content: {application/octet-stream: {schema: {type: string, format: binary}}}
      responses:
        201: {description: "{path, digest, size, receipt}: name it in the version commit"}
        400: {$ref: '#/components/responses/Invalid'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        413: {$ref: '#/components/responses/TooLarge'}
    """
    _check_may_push(namespace, name)
    path = request.args.get("path", "")
    user_id = current_api_user().id
    db.session().rollback()  # release the read before streaming the body
    try:
        staged = services.stage_file(path, request.stream)
    except services.ModelError as err:
        _fail(err)
    return jsonify(path=staged.path, digest=staged.digest, size=staged.size,
                   receipt=services.receipt(user_id, staged.digest)), 201


@api.post("/models/<namespace>/<name>/versions")
@auth("write")
@limit_uploads
def create_version(namespace: str, name: str):
    """Create the next version from staged files (one transaction; queues validation).
    ---
    post:
      tags: [models]
      description: >-
        Publishing is two steps. First each file is sent as the raw body of
        POST /models/{namespace}/{name}/files?path=..., which stores it (content-addressed,
        size-checked while streaming) and answers its digest and a receipt. Then this call
        names every file with its digest and receipt; the card, the safetensors headers, the
        architecture and the size limits are checked and the version is created in one
        transaction (with the model, on the first push). A push that stops before this call,
        or that this call refuses, leaves no version and no rows.
      security: [{bearer: []}]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
      requestBody:
        content: {application/json: {schema: NewVersion}}
      responses:
        201: {content: {application/json: {schema: ModelVersion}}}
        400: {$ref: '#/components/responses/Invalid'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {description: the tag exists already}
        413: {$ref: '#/components/responses/TooLarge'}
        422: {$ref: '#/components/responses/Invalid'}
    """
    from hub.infra.storage import get_storage

    body = json_body(NewVersionSchema)
    user = current_api_user()
    _check_may_push(namespace, name)
    staged = []
    for item in body["files"]:
        if not services.check_receipt(user.id, item["digest"], item["receipt"]):
            api_error(400, f"the receipt for {item['path']} does not match: upload the file "
                      "first", "bad_receipt")
        if not get_storage().exists(item["digest"]):
            api_error(400, f"{item['path']} was not uploaded", "missing_file")
        path = item["path"]
        try:
            path = services._checked_path(path)
        except services.ModelError as err:
            _fail(err)
        staged.append(services.StagedFile(path, item["digest"], get_storage().size(
            item["digest"])))
    try:
        version = services.publish(user, namespace, name, staged, body["message"],
                                   is_public=body["public"], tag=body["tag"])
    except services.ModelError as err:
        db.session().rollback()
        from hub.errors import error_response

        response, status = error_response(err.status, err.message, err.code)
        payload = response.get_json()
        payload["error"]["problems"] = err.problems
        return jsonify(payload), status
    model = version.model
    return jsonify(dump_version(model, version, services.tags_of(model).get(version.id, []))), 201


@api.post("/models/<namespace>/<name>/tags")
@auth("write")
def create_tag(namespace: str, name: str):
    """Name a version with a tag (such as v1.0); tags never move.
    ---
    post:
      tags: [models]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: namespace, required: true, schema: {type: string}}
        - {in: path, name: name, required: true, schema: {type: string}}
      requestBody:
        content: {application/json: {schema: NewTag}}
      responses:
        201: {description: the tag}
        404: {$ref: '#/components/responses/NotFound'}
        409: {description: the tag exists already}
    """
    body = json_body(NewTagSchema)
    model = services.find_model(namespace, name)
    if not services.can_manage(model, current_api_user()):
        api_error(404, f"there is no model '{namespace}/{name}'")
    version = services.resolve_version(model, str(body["version"]))
    if version is None:
        api_error(404, f"'{namespace}/{name}' has no version {body['version']}")
    try:
        services.add_tag(model, body["tag"], version, current_api_user())
    except services.ModelError as err:
        _fail(err)
    return jsonify(tag=body["tag"], version=version.number), 201
