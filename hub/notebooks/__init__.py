"""Notebooks: upload, versions, safe rendering, sandboxed runs, likes and comments.

Services for other features are in :mod:`hub.notebooks.services` (``import_notebook``,
``request_run``, ``latest_run``, ``badge``); pages in :mod:`hub.notebooks.views`, the JSON API
in :mod:`hub.notebooks.api`, background jobs in :mod:`hub.notebooks.tasks`, the
``skiff notebook`` commands in :mod:`hub.notebooks.cli`.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def _describe_notebook(ref_id: str):
    from hub import db
    from hub.notebooks.models import Notebook
    from hub.notebooks.services import notebook_url

    notebook = db.session().get(Notebook, int(ref_id)) if ref_id.isdigit() else None
    return None if notebook is None else (notebook.title, notebook_url(notebook))


def _hide_notebook(ref_id: str, hidden: bool) -> None:
    from hub import db
    from hub.notebooks.models import Notebook
    from hub.notebooks.services import set_hidden

    notebook = db.session().get(Notebook, int(ref_id)) if ref_id.isdigit() else None
    if notebook is not None:
        set_hidden(notebook, hidden)


def _describe_comment(ref_id: str):
    from hub import db
    from hub.notebooks.models import NotebookComment
    from hub.notebooks.services import notebook_url

    comment = db.session().get(NotebookComment, int(ref_id)) if ref_id.isdigit() else None
    if comment is None:
        return None
    return (f"{comment.body[:80]} ({comment.notebook.title})",
            notebook_url(comment.notebook) + "#comments")


def _hide_comment(ref_id: str, hidden: bool) -> None:
    from hub import db
    from hub.notebooks.models import NotebookComment

    comment = db.session().get(NotebookComment, int(ref_id)) if ref_id.isdigit() else None
    if comment is not None:
        comment.is_hidden = bool(hidden)


def _profile_items(user, viewer):
    from hub import db
    from hub.accounts.profile import ProfileItem
    from hub.notebooks.services import notebook_url, visible_notebooks

    stmt = visible_notebooks(viewer, owner_id=user.id).limit(50)
    return [ProfileItem(nb.title, notebook_url(nb), nb.description[:120])
            for nb in db.session().scalars(stmt)]


def _visible_ids(ref_ids: list[str], viewer) -> set[str]:
    """Which of these notebooks ``viewer`` may open (for the "Used in" links of models)."""
    from hub import db
    from hub.notebooks.models import Notebook
    from hub.notebooks.services import visible_notebooks

    numbers = [int(i) for i in ref_ids if i.isdigit() and len(i) < 10]
    if not numbers:
        return set()
    stmt = visible_notebooks(viewer).where(Notebook.id.in_(numbers)).with_only_columns(
        Notebook.id)
    return {str(i) for i in db.session().scalars(stmt)}


def init_app(app: Flask) -> None:
    """Register the pages, the API endpoints, search, moderation, the profile section and
    the notebooks' "Used in" links on model pages."""
    from hub import search
    from hub.accounts.profile import register_section
    from hub.admin import moderation
    from hub.notebooks import api  # noqa: F401 - registers the /api/v1/notebooks endpoints
    from hub.notebooks.views import bp
    from hub.site import register_account_link

    app.register_blueprint(bp)
    search.register_kind("notebook", _l("Notebooks"))
    moderation.register_target("notebook", _l("Notebook"), _describe_notebook, _hide_notebook)
    moderation.register_target("notebook_comment", _l("Notebook comment"), _describe_comment,
                               _hide_comment)
    register_section("notebooks", _l("Notebooks"), _profile_items, order=10)
    register_account_link(_l("Upload a notebook"), "notebooks.new")
    try:
        from hub.zoo.services import register_reference_kind
    except ImportError:  # a site without the model zoo has no model pages to link from
        return
    register_reference_kind("notebook", _l("Notebook"), _visible_ids)
