"""The model zoo: publish models as immutable versions, validate them in the sandbox,
re-measure claimed metrics, and find and reuse them.

Services for other features are in :mod:`hub.zoo.services` (``publish_model_dir``,
``find_model``, ``add_reference``/``sync_references`` for "used in" links); pages in
:mod:`hub.zoo.views`, the JSON API (``/api/v1/models``) in :mod:`hub.zoo.api`, the validation
job in :mod:`hub.zoo.tasks` and :mod:`hub.zoo.validation`, the ``skiff model`` commands in
:mod:`hub.zoo.cli`. The format of a model folder is described in ``docs/hub-models.md``.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def _get(model_cls, ref_id: str):
    from hub import db

    return db.session().get(model_cls, int(ref_id)) if ref_id.isdigit() and len(
        ref_id) < 10 else None


def _describe_model(ref_id: str):
    from hub.zoo.models import ZooModel
    from hub.zoo.services import model_url

    model = _get(ZooModel, ref_id)
    return None if model is None else (model.full_name, model_url(model))


def _hide_model(ref_id: str, hidden: bool) -> None:
    from hub.zoo.models import ZooModel
    from hub.zoo.services import set_hidden

    model = _get(ZooModel, ref_id)
    if model is not None:
        set_hidden(model, hidden)


def _describe_comment(ref_id: str):
    from hub import db
    from hub.zoo.models import ModelComment, ZooModel
    from hub.zoo.services import model_url

    comment = _get(ModelComment, ref_id)
    if comment is None:
        return None
    model = db.session().get(ZooModel, comment.model_id)
    return f"{comment.body[:80]} ({model.full_name})", model_url(model) + "#discussion"


def _hide_comment(ref_id: str, hidden: bool) -> None:
    from hub.zoo.models import ModelComment

    comment = _get(ModelComment, ref_id)
    if comment is not None:
        comment.is_hidden = bool(hidden)


def _profile_items(user, viewer):
    from hub import db
    from hub.accounts.profile import ProfileItem
    from hub.zoo.services import list_models, model_url

    stmt = list_models(viewer, owner=user.username, sort="recent").limit(50)
    return [ProfileItem(m.full_name, model_url(m), m.summary[:120])
            for m in db.session().scalars(stmt)]


def init_app(app: Flask) -> None:
    """Register the pages, the API endpoints, search, moderation and the profile section."""
    from hub import search
    from hub.accounts.profile import register_section
    from hub.admin import moderation
    from hub.site import register_account_link
    from hub.zoo import api  # noqa: F401 - registers the /api/v1/models endpoints
    from hub.zoo.views import bp, graph_filters

    app.register_blueprint(bp)
    graph_filters(app)
    search.register_kind("model", _l("Models"))
    moderation.register_target("model", _l("Model"), _describe_model, _hide_model)
    moderation.register_target("model_comment", _l("Model comment"), _describe_comment,
                               _hide_comment)
    register_section("models", _l("Models"), _profile_items, order=20)
    register_account_link(_l("Publish a model"), "zoo.new")


def seed(app: Flask) -> list[str]:
    """Publish the models bundled in ``contrib/models`` as ``skiff/<name>`` (see
    :mod:`hub.zoo.bundled`); unchanged folders are left as they are."""
    from hub.zoo.bundled import publish_bundled

    return publish_bundled()
