"""Languages: English and Simplified Chinese through Flask-Babel.

Every user-facing string goes through ``gettext``/``_`` (``lazy_gettext`` at import time). The
catalogs are ``.po`` files, committed: ``hub/translations/zh/LC_MESSAGES/messages.po`` for the
core, and a feature may keep its own next to its code,
``hub/<feature>/translations/zh/LC_MESSAGES/messages.po``; all of them are merged. The binary
``.mo`` files are not committed: they are compiled from the ``.po`` files when the app starts
and whenever a ``.po`` is newer than its ``.mo`` (see :func:`compile_catalogs`).

The language is chosen by, in order: the signed-in user's saved choice, the ``skiff_lang``
cookie set by the switcher, the browser's ``Accept-Language``, English.

``python -m hub.i18n check`` lists strings in code or templates that a catalog lacks;
``python -m hub.i18n update`` adds them (with an empty translation) to the catalog of the
package they were found in, for a translator to fill.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user

HUB = Path(__file__).resolve().parent
LANG_COOKIE = "skiff_lang"
babel = Babel()

#: How strings are found in the hub's code and templates.
EXTRACT_METHODS = [
    ("**/migrations/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
]
EXTRACT_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                    "_l": None, "pgettext": ((1, "c"), 2), "lazy_ngettext": (1, 2),
                    "N_": None}


def translation_directories() -> list[Path]:
    """The core catalog folder first, then every feature's ``translations`` folder."""
    dirs = [HUB / "translations"]
    dirs += sorted(p for p in HUB.glob("*/translations") if p.is_dir() and p != dirs[0])
    return [d for d in dirs if d.is_dir()]


def compile_catalogs(directories: list[Path] | None = None) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or older; return the ``.mo`` files written.

    Written atomically (temporary file, then rename) so a concurrent start never reads half a
    catalog.
    """
    written = []
    for directory in directories or translation_directories():
        for po_path in directory.glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=po_path.parts[-3])
            tmp = mo_path.with_name(f".{mo_path.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            os.replace(tmp, mo_path)
            written.append(mo_path)
    return written


def select_locale() -> str:
    """Pick the language of this request (see the module docstring for the order)."""
    languages = list(current_app.config["LANGUAGES"])
    override = g.get("skiff_locale")
    if override in languages:
        return override
    if not has_request_context():  # CLI commands and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in languages:
            return current_user.locale
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def _catalog():
    """The translations of the current request's language, remembered for the request (and
    looked up again if the language changes, as ``flask_babel.refresh()`` makes it)."""
    from flask_babel import get_translations

    if not has_request_context():
        return get_translations()
    context = g._get_current_object()
    babel_state = getattr(context, "_flask_babel", None)
    locale = getattr(babel_state, "babel_locale", None)
    remembered = getattr(context, "_skiff_catalog", None)
    if remembered is not None and locale is not None and remembered[0] is locale:
        return remembered[1]
    translations = get_translations()
    context._skiff_catalog = (get_locale(), translations)
    return translations


def html_lang() -> str:
    """The ``lang`` attribute of the page: BCP 47 (``zh-Hans`` for Simplified Chinese)."""
    code = str(get_locale() or "en")
    return "zh-Hans" if code.startswith("zh") else code


def init_app(app: Flask) -> None:
    """Compile catalogs if needed and install Flask-Babel on ``app``."""
    directories = translation_directories()
    try:
        compile_catalogs(directories)
    except OSError:
        # A read-only install: compile into the instance folder instead.
        cache = Path(app.instance_path) / "translations"
        for directory in directories:
            target = cache / directory.parent.name
            for po_path in directory.glob("*/LC_MESSAGES/*.po"):
                dest = target / po_path.relative_to(directory)
                dest.parent.mkdir(parents=True, exist_ok=True)
                if not dest.exists() or dest.stat().st_mtime < po_path.stat().st_mtime:
                    dest.write_bytes(po_path.read_bytes())
        directories = [cache / d.parent.name for d in directories]
        compile_catalogs(directories)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in directories)
    babel.init_app(app, locale_selector=select_locale)
    # A page translates dozens of strings: templates find the catalog once per request
    # (Flask-Babel's own lookup walks the request context again for every string).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalog().ugettext(s),
        ngettext=lambda s, p, n: _catalog().ungettext(s, p, n),
        pgettext=lambda c, s: _catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["html_lang"] = html_lang
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")


# --- keeping the catalogs complete --------------------------------------------------------


def extract_messages() -> dict[str, tuple[Path, str, str | tuple[str, str]]]:
    """Every translatable string in the hub: msgid -> (catalog folder, location, full id).

    The full id is a ``(singular, plural)`` pair for ``ngettext`` strings.
    """
    found: dict[str, tuple[Path, str, str | tuple[str, str]]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(HUB), EXTRACT_METHODS, keywords=EXTRACT_KEYWORDS, comment_tags=()
    ):
        full = tuple(m for m in message if m) if isinstance(message, tuple) else message
        if isinstance(full, tuple) and len(full) == 1:
            full = full[0]
        msgid = full[0] if isinstance(full, tuple) else full
        if not msgid or msgid in found:
            continue
        package = Path(filename).parts[0]
        own = HUB / package / "translations"
        found[msgid] = (own if own.is_dir() else HUB / "translations", filename, full)
    return found


def load_catalogs(locale: str = "zh") -> dict[str, str]:
    """Every translation of ``locale`` across all catalogs: msgid -> msgstr."""
    translations: dict[str, str] = {}
    for directory in translation_directories():
        po_path = directory / locale / "LC_MESSAGES" / "messages.po"
        if po_path.exists():
            with po_path.open("rb") as fh:
                for message in read_po(fh, locale=locale):
                    if message.id and not message.fuzzy:
                        key = message.id[0] if isinstance(message.id, tuple) else message.id
                        value = message.string
                        value = value[0] if isinstance(value, tuple) else value
                        if value:
                            translations[key] = value
    return translations


def missing_translations(locale: str = "zh") -> dict[str, tuple[Path, str, object]]:
    """Strings used in the hub that have no translation into ``locale``."""
    known = load_catalogs(locale)
    return {m: where for m, where in extract_messages().items() if m not in known}


def add_missing(locale: str = "zh") -> int:
    """Append every missing string, untranslated, to its package's catalog; return how many."""
    missing = missing_translations(locale)
    by_dir: dict[Path, list] = {}
    for directory, _where, full in missing.values():
        by_dir.setdefault(directory, []).append(full)
    for directory, msgids in by_dir.items():
        po_path = directory / locale / "LC_MESSAGES" / "messages.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="Skiff", version=None, fuzzy=False,
                              header_comment="# Skiff hub translations.")
        for full in msgids:
            key = full[0] if isinstance(full, tuple) else full
            if key in catalog:
                catalog.delete(key)
            catalog.add(full, ("",) if isinstance(full, tuple) else "")
        with po_path.open("wb") as fh:
            write_po(fh, catalog, omit_header=False, width=100)
    return len(missing)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command == "check":
        missing = missing_translations()
        for msgid, (_directory, where, _full) in sorted(missing.items(), key=lambda kv: kv[1][1]):
            print(f"{where}: {msgid!r}")
        return 1 if missing else 0
    if command == "update":
        print(f"added {add_missing()} strings")
        return 0
    if command == "compile":
        for path in compile_catalogs():
            print(path)
        return 0
    print("usage: python -m hub.i18n [check|update|compile]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
