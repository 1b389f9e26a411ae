"""The OpenAPI 3 document, generated from the code: every ``/api/v1`` route's docstring
(the YAML after ``---``) and the marshmallow schemas registered with ``hub.api.core.schema``.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import current_app

from hub.api.core import SCHEMAS

_CONVERTER = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
RESPONSES = {
    "NotFound": {"description": "no such object, or not visible to the caller", **_ERROR},
    "Unauthorized": {"description": "missing, unknown, expired or revoked token", **_ERROR},
    "Forbidden": {"description": "the token lacks the needed scope or role", **_ERROR},
    "Invalid": {"description": "the request body or parameters are invalid", **_ERROR},
    "TooLarge": {"description": "the upload exceeds the size limit", **_ERROR},
}


def build_spec() -> dict[str, Any]:
    app = current_app
    spec = APISpec(
        title="Skiff hub API",
        version=app.config["SKIFF_VERSION"],
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Notebooks, courses, models and benchmark leaderboards. "
                             "Authenticate with 'Authorization: Bearer skf_…'."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema_cls in sorted(SCHEMAS.items()):
        # A schema nested in one registered earlier is already there under the same name.
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema_cls)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1"):
            continue
        view = app.view_functions[rule.endpoint]
        operations = load_operations_from_docstring(view.__doc__ or "")
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        ops = {m: op for m, op in operations.items() if m in methods}
        if not ops:
            continue
        for op in ops.values():
            for status, response in op.get("responses", {}).items():
                if "$ref" not in response:
                    response.setdefault("description", _describe(status))
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        paths.setdefault(path, {}).update(ops)
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def _describe(status: object) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(int(str(status))).phrase
    except ValueError:
        return "response"
