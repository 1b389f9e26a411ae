"""Site-wide pages: the home page, the health check and the language switcher."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, jsonify, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hub import __version__, db
from hub.i18n import LANG_COOKIE

bp = Blueprint("site", __name__)

#: Main navigation: label, candidate endpoints (first registered one wins), fallback path.
NAVIGATION = (
    (_l("Courses"), ("courses.index",), "/courses"),
    (_l("Notebooks"), ("notebooks.index",), "/notebooks"),
    (_l("Models"), ("zoo.index",), "/models"),
    (_l("Leaderboards"), ("leaderboards.index",), "/leaderboards"),
)


ROLE_LABELS = {
    "member": _l("Member"),
    "teacher": _l("Teacher"),
    "partner": _l("Partner"),
    "admin": _l("Admin"),
}

#: Extra links of the account menu: (label, endpoint). Features append with
#: :func:`register_account_link` (for example the API tokens page).
ACCOUNT_LINKS: list[tuple[object, str]] = []
#: Templates included at the end of the settings page (for example the API tokens section).
SETTINGS_SECTIONS: list[str] = []


def register_account_link(label, endpoint: str) -> None:
    """Add a link to the account menu (once; the label is translatable)."""
    if all(e != endpoint for _, e in ACCOUNT_LINKS):
        ACCOUNT_LINKS.append((label, endpoint))


def register_settings_section(template: str) -> None:
    """Include ``template`` in the settings page (it sees ``current_user``)."""
    if template not in SETTINGS_SECTIONS:
        SETTINGS_SECTIONS.append(template)


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def nav_links() -> list[tuple[str, str]]:
    """(label, url) of the main navigation, linking to the features that are installed;
    built once per language and URL root (every page shows it)."""
    from flask import url_for
    from flask_babel import get_locale

    memo = current_app.extensions.setdefault("skiff_nav_links", {})
    key = (str(get_locale() or ""), request.script_root)
    links = memo.get(key)
    if links is None:
        links = []
        for label, endpoints, fallback in NAVIGATION:
            endpoint = next((e for e in endpoints if e in current_app.view_functions), None)
            links.append((str(label), url_for(endpoint) if endpoint else fallback))
        memo[key] = links
    return list(links)


def site_url(endpoint: str, **values: str) -> str:
    """``url_for(endpoint, **values)`` for a URL that is the same on every request (a static
    file, a fixed page), built once per URL root: the site's frame links a dozen of them on
    every page."""
    from flask import url_for

    memo = current_app.extensions.setdefault("skiff_site_urls", {})
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    url = memo.get(key)
    if url is None:
        url = memo[key] = url_for(endpoint, **values)
    return url


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok", version=__version__)


@bp.get("/")
def home():
    return render_template("home.html")


@bp.post("/language")
def set_language():
    """Remember the chosen language: in a cookie, and on the account when signed in."""
    lang = request.form.get("lang", "")
    target = safe_next(request.form.get("next") or request.referrer and urlsplit(
        request.referrer).path)
    response = redirect(target)
    if lang not in current_app.config["LANGUAGES"]:
        return response
    g.skiff_locale = lang
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
        secure=request.is_secure,
    )
    if current_user.is_authenticated:
        user = db.session().merge(current_user._get_current_object())
        user.locale = lang
        db.session().commit()
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # Browsers ask for /favicon.ico whatever the page links: answer with the site's icon.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("skiff.svg"))
    from flask_babel import format_date, format_datetime

    app.jinja_env.globals.update(
        nav_links=nav_links,
        site_url=site_url,
        role_label=role_label,
        format_date=format_date,
        format_datetime=format_datetime,
        account_menu_links=lambda: [
            (str(label), endpoint) for label, endpoint in ACCOUNT_LINKS
            if endpoint in current_app.view_functions
        ],
        settings_sections=lambda: list(SETTINGS_SECTIONS),
    )
