"""Security shared by every feature: CSRF, cookies, headers, rate limits and authorization.

What other features use:

* ``csrf`` — Flask-WTF's ``CSRFProtect``: every POST/PUT/PATCH/DELETE form needs
  ``{{ csrf_token() }}`` (``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``).
  JSON API views authenticated by bearer tokens call ``csrf.exempt`` on their blueprint.
* ``limiter`` and the named limits ``limit_login``, ``limit_register``, ``limit_tokens``,
  ``limit_uploads``: decorate a view, for example::

      @bp.post("/upload")
      @limit_uploads
      def upload(): ...

  Each named limit is shared across every view that uses it (the web form and the API count
  together). Counters live in memory, or in Redis when ``RATELIMIT_STORAGE_URI`` (or a Redis
  ``QUEUE_URL``) says so. The limiter is process-wide; the most recently created app's settings
  apply to it.
* ``require_owner_or_404(obj)`` — the object, if the current user owns it (directly, through an
  organization they belong to, or as an admin); otherwise 404, so private objects do not leak.
* ``role_required("teacher")`` / ``admin_required`` — view decorators: anonymous visitors are
  sent to the login page (401 JSON under ``/api/``), others without the role get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()
limiter = Limiter(get_remote_address)

#: Sent with every page unless a view sets its own (stricter) policy: no inline scripts at all.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _configured(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


_WRITES = ["POST", "PUT", "PATCH", "DELETE"]
#: Decorators applying the site's named rate limits (see the module docstring).
limit_login = limiter.shared_limit(_configured("RATELIMIT_LOGIN"), scope="login", methods=_WRITES)
limit_register = limiter.shared_limit(
    _configured("RATELIMIT_REGISTER"), scope="register", methods=_WRITES
)
limit_tokens = limiter.shared_limit(
    _configured("RATELIMIT_TOKENS"), scope="tokens", methods=_WRITES
)
limit_uploads = limiter.shared_limit(
    _configured("RATELIMIT_UPLOADS"), scope="uploads", methods=_WRITES
)


class SkiffSessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions whose cookie is ``Secure`` whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    """Install CSRF protection, the limiter, secure cookies and security headers on ``app``."""
    proxies = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies:
        # Behind a reverse proxy the client address and scheme come from X-Forwarded-*.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.session_interface = SkiffSessionInterface()
    csrf.init_app(app)
    limiter.init_app(app)
    app.after_request(_add_security_headers)
    app.before_request(_refuse_nul_characters)


def _refuse_nul_characters():
    """Refuse NUL characters in the path, query and form fields with a 400.

    No text the hub stores or looks up may contain one (PostgreSQL text cannot hold NUL), so
    such a request is bad input, answered as such instead of failing deep in a query.
    """
    fields = [request.path, *request.args.keys(), *request.args.values()]
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        fields += [*request.form.keys(), *request.form.values()]
    if any("\x00" in f for f in fields):
        from flask_babel import gettext

        abort(400, gettext("Text fields and addresses cannot contain NUL characters."))
    return None


def _add_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# --- authorization -------------------------------------------------------------------------


def wants_json() -> bool:
    """True for API requests, which get JSON errors instead of pages."""
    return request.path.startswith("/api/")


def user_org_ids(user) -> set[int]:
    """Ids of the organizations ``user`` belongs to."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    from hub import db
    from hub.accounts.models import Membership

    rows = db.session().query(Membership.organization_id).filter_by(user_id=user.id)
    return {org_id for (org_id,) in rows}


def can_manage(obj: Any, user: Any = None) -> bool:
    """True if ``user`` (default: the current user) may change ``obj``.

    Owners may (``obj.owner_id``, or ``obj.user_id``), members of the owning organization may
    (``obj.organization_id``), and admins may change anything.
    """
    user = current_user if user is None else user
    if obj is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_admin", False):
        return True
    owner_id = getattr(obj, "owner_id", getattr(obj, "user_id", None))
    if owner_id is not None and owner_id == user.id:
        return True
    org_id = getattr(obj, "organization_id", None)
    return org_id is not None and org_id in user_org_ids(user)


def require_owner_or_404(obj: Any, user: Any = None):
    """Return ``obj`` if ``user`` may manage it (see :func:`can_manage`), else abort with 404.

    404 rather than 403: someone else's private object should look exactly like a missing one.
    """
    if not can_manage(obj, user):
        abort(404)
    return obj


def require_visible_or_404(obj: Any, user: Any = None, *, public_attr: str = "is_public"):
    """Return ``obj`` if it is public (``obj.<public_attr>`` true) or ``user`` manages it."""
    if obj is not None and getattr(obj, public_attr, False):
        return obj
    return require_owner_or_404(obj, user)


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow a view only to signed-in users holding one of ``roles`` (admins hold all)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


admin_required = role_required("admin")
