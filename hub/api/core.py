"""What every ``/api/v1`` endpoint shares: the blueprint, authentication by bearer token,
JSON bodies, pagination and conditional (ETag) responses.

A feature adds endpoints to :data:`api` (``from hub.api.core import api``) with an OpenAPI
operation in the view's docstring after a ``---`` line; ``/api/v1/openapi.json`` is built
from those docstrings and the marshmallow schemas registered with :func:`schema`::

    @api.get("/things/<int:thing_id>")
    @auth(optional=True)
    def get_thing(thing_id):
        '''Show a thing.
        ---
        get:
          tags: [things]
          parameters: [{in: path, name: thing_id, schema: {type: integer}, required: true}]
          responses:
            200: {content: {application/json: {schema: Thing}}}
            404: {$ref: '#/components/responses/NotFound'}
        '''
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, g, jsonify, request, url_for
from flask_login import current_user
from marshmallow import Schema, ValidationError

from hub import db

F = TypeVar("F", bound=Callable[..., Any])

api = Blueprint("api", __name__, url_prefix="/api/v1")

#: Marshmallow schemas shown in the OpenAPI document, by component name.
SCHEMAS: dict[str, type[Schema]] = {}


def schema(cls: type[Schema]) -> type[Schema]:
    """Class decorator: list a marshmallow schema in the OpenAPI document (name without
    the ``Schema`` suffix)."""
    name = cls.__name__.removesuffix("Schema")
    SCHEMAS[name] = cls
    return cls


def api_error(status: int, message: str, code: str | None = None) -> Response:
    """Stop the request with the hub's JSON error body."""
    from hub.errors import error_response

    response, status = error_response(status, message, code)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="skiff"'
    abort(response)


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    kind, _, secret = header.partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        api_error(401, "the Authorization header must be 'Bearer <token>'")
    return secret.strip()


def current_api_user():
    """The user making this API request (token or browser session), or None."""
    return g.get("api_user")


def auth(scope: str = "read", optional: bool = False) -> Callable[[F], F]:
    """Authenticate an API view.

    A bearer token (``Authorization: Bearer skf_…``) must grant ``scope``. A signed-in
    browser session also counts, for reads (``GET``) only: a write through a cookie would
    need CSRF protection, which the API does not use. With ``optional=True`` anonymous
    requests pass (``current_api_user()`` is None) but a bad token is still refused.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from hub.api import tokens

            secret = bearer_secret()
            user = None
            if secret is not None:
                token = tokens.find_active(secret)
                if token is None:
                    api_error(401, "the token is unknown, expired or revoked")
                if not tokens.grants(token, scope):
                    api_error(403, f"this token lacks the '{scope}' scope",
                              "insufficient_scope")
                user = token.user
                g.api_token = token
                # End the lookup's transaction now: on SQLite a write request's first query
                # takes the write lock, which must not be held while a large body streams in.
                db.session().commit()
            elif request.method in ("GET", "HEAD") and current_user.is_authenticated:
                user = current_user._get_current_object()
            if user is None and not optional:
                api_error(401, "authentication required: send 'Authorization: Bearer <token>'")
            g.api_user = user
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def _has_nul(value: Any) -> bool:
    """Whether a NUL character is in any string (key or value) of decoded JSON. (Checked on
    the values: ``json.dumps`` writes NUL escaped as ``\\u0000``, so its text never shows one.)"""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def json_body(schema_cls: type[Schema], *, partial: bool = False) -> dict[str, Any]:
    """The request's JSON body loaded through ``schema_cls`` (``partial``: fields may be
    left out, for updates); 400/422 with the reasons."""
    data = request.get_json(silent=True)
    if data is None:
        api_error(400, "the request body must be a JSON object", "invalid_json")
    if not isinstance(data, dict):
        api_error(400, "the request body must be a JSON object", "invalid_json")
    if _has_nul(data):
        api_error(400, "JSON strings cannot contain NUL characters", "invalid_json")
    try:
        return schema_cls(partial=partial).load(data)
    except ValidationError as err:
        api_error(422, "invalid fields: " + json.dumps(err.messages, sort_keys=True),
                  "validation_error")
    raise AssertionError  # unreachable: api_error aborts


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        api_error(400, f"'{name}' must be a whole number", "bad_parameter")
    if not low <= value <= high:
        api_error(400, f"'{name}' must be between {low} and {high}", "bad_parameter")
    return value


def paginate(stmt: Any, dump: Callable[[Any], dict], per_page: int = 20,
             max_per_page: int = 100) -> Response:
    """A page of ``stmt``'s rows as ``{"items", "page", "per_page", "total", "pages"}``,
    with RFC 8288 ``Link`` headers to the next and previous pages."""
    from sqlalchemy import func, select

    page = _int_arg("page", 1, 1, 1_000_000)
    size = _int_arg("per_page", per_page, 1, max_per_page)
    session = db.session()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(size).offset((page - 1) * size)).all()
    pages = max(1, math.ceil(total / size))
    response = jsonify(items=[dump(r) for r in rows], page=page, per_page=size, total=total,
                       pages=pages)
    links = []
    args = dict(request.view_args or {})
    query = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    if page < pages:
        links.append(f'<{url_for(request.endpoint, **args, **query, page=page + 1, per_page=size)}'
                     f'>; rel="next"')
    if page > 1:
        links.append(f'<{url_for(request.endpoint, **args, **query, page=page - 1, per_page=size)}'
                     f'>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def conditional(response: Response, etag: str | None = None) -> Response:
    """Give ``response`` an ETag (its body's SHA-256 unless given) and answer
    ``If-None-Match`` with 304."""
    if etag is None:
        etag = hashlib.sha256(response.get_data()).hexdigest()
    response.set_etag(etag)
    return response.make_conditional(request)


def send_blob(digest: str, filename: str, mimetype: str = "application/octet-stream") -> Response:
    """Download a stored blob as an attachment (``hub.infra.storage.send_blob``: streamed,
    SHA-256 as a strong ETag, 304 on a match), with the API's JSON 404 when it is missing."""
    from hub.infra.storage import BlobNotFound
    from hub.infra.storage import send_blob as stream_blob

    try:
        response = stream_blob(digest, download_name=filename, mimetype=mimetype)
    except BlobNotFound:
        api_error(404, "that file is missing from storage")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
