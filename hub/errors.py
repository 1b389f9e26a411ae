"""Error responses: pages for people, ``{"error": {"code", "message"}}`` JSON under ``/api/``."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from hub.security import wants_json


def _messages() -> dict[int, tuple[str, str]]:
    # code -> (title, explanation), translated per request.
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Sign in required"), _("Please sign in to continue.")),
        403: (_("Forbidden"), _("You do not have permission to do that.")),
        404: (_("Not found"), _("There is nothing here. It may have moved or been removed.")),
        405: (_("Method not allowed"), _("This address does not accept that kind of request.")),
        409: (_("Conflict"), _("That conflicts with something that already exists.")),
        413: (
            _("Upload too large"),
            _("The upload is larger than this hub accepts (%(limit)s MiB at most)."),
        ),
        429: (_("Too many requests"), _("You are going too fast. Please wait a moment and retry.")),
        500: (_("Something went wrong"), _("An unexpected error occurred. It has been logged.")),
    }


ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
}


def error_response(status: int, message: str | None = None, code: str | None = None):
    """The hub's error response for ``status``: JSON under ``/api/``, a page elsewhere."""
    from flask import current_app

    title, text = _messages().get(status, (str(status), message or ""))
    if status == 413:
        limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / (1024 * 1024)
        text = text % {"limit": f"{limit:g}"}
    if message:
        text = message
    if wants_json():
        body = {"error": {"code": code or ERROR_CODES.get(status, str(status)), "message": text}}
        return jsonify(body), status
    page = render_template("errors/error.html", status=status, title=title, message=text)
    return make_response(page), status


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    message = None
    if isinstance(exc, CSRFError):
        message = _("The form expired or was not sent from this site. Reload the page and retry.")
    elif status in (400, 409, 422) and exc.description and exc.description != type(
        exc
    ).description:
        # A view's own explanation (abort(400, "…")) is shown; the generic one is translated.
        message = exc.description
    response, code = error_response(status, message)
    if status == 429:
        retry = getattr(exc, "retry_after", None)
        if retry:
            response.headers["Retry-After"] = str(retry)
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response, code


def _handle_unexpected(exc: Exception):
    from flask import current_app

    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    current_app.logger.exception("unhandled error", exc_info=exc)
    return error_response(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(InternalServerError, _handle_http)
    if not app.testing and not app.debug:
        app.register_error_handler(Exception, _handle_unexpected)
