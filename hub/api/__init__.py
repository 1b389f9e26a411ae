"""The REST API under ``/api/v1``: tokens, authentication, pagination, ETags and the
OpenAPI document (``/api/v1/openapi.json``). Features add their endpoints to
``hub.api.core.api`` (see that module); the ``skiff`` client talks to nothing else.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from hub.api.core import api, auth, current_api_user  # noqa: F401


def init_app(app: Flask) -> None:
    from hub.api import schemas, views  # noqa: F401 - register the routes and schemas
    from hub.api.ui import bp as tokens_bp
    from hub.security import csrf
    from hub.site import register_account_link, register_settings_section

    csrf.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(tokens_bp)
    register_settings_section("api/_settings_section.html")
    register_account_link(_l("API tokens"), "tokens.index")
