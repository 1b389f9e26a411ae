"""The model pages' rendered-piece caches (hub/zoo/fragments.py): a change to a model shows
at once, every language gets its own rows, and nothing one viewer may see reaches another."""

from __future__ import annotations

from hub import db as hub_db
from hub.zoo import fragments
from hub.zoo.models import ZooModel


def _model(app, owner, name, **fields):
    with app.app_context():
        session = hub_db.session()
        model = ZooModel(namespace=owner.username, owner_id=owner.id, name=name,
                         summary=f"The {name} model", task="image-classification",
                         license="mit", tags=" digits mlp ", latest_number=1, **fields)
        session.add(model)
        session.commit()
        return model.id


def _update(app, model_id, **fields):
    with app.app_context():
        session = hub_db.session(write=True)
        model = session.get(ZooModel, model_id)
        for key, value in fields.items():
            setattr(model, key, value)
        session.commit()


def test_list_rows_show_every_change_at_once(app, client, make_user):
    ada = make_user(username="ada")
    model_id = _model(app, ada, "digits-mlp", downloads=7, likes=2, verified=False)
    page = client.get("/models").get_data(as_text=True)
    assert "7 downloads" in page and "2 likes" in page and "badge-verified" not in page
    again = client.get("/models").get_data(as_text=True)
    assert _model_list(again) == _model_list(page)  # the rows, now from the cache
    _update(app, model_id, downloads=8, likes=3, verified=True, summary="Now verified")
    page = client.get("/models").get_data(as_text=True)
    assert "8 downloads" in page and "3 likes" in page and "badge-verified" in page
    assert "Now verified" in page and "7 downloads" not in page
    _update(app, model_id, tags=" digits cnn ")
    page = client.get("/models").get_data(as_text=True)
    assert "#cnn" in page and "#mlp" not in page
    _update(app, model_id, summary="<b>bold</b> & more")
    rows = _model_list(client.get("/models").get_data(as_text=True))
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in rows and "<b>" not in rows


def test_list_rows_are_rendered_per_language(app, client, make_user):
    _model(app, make_user(username="ada"), "digits-mlp", downloads=7)
    english = client.get("/models").get_data(as_text=True)
    client.set_cookie("skiff_lang", "zh")
    chinese = client.get("/models").get_data(as_text=True)
    assert "7 downloads" in english
    assert "7 downloads" not in chinese and "7 次下载" in chinese
    client.delete_cookie("skiff_lang")
    assert "7 downloads" in client.get("/models").get_data(as_text=True)


def test_a_private_model_row_reaches_only_those_who_may_see_it(app, client, make_user, login):
    ada, bob = make_user(username="ada"), make_user(username="bob")
    _model(app, ada, "secret-model", is_public=False)
    _model(app, ada, "open-model")
    login(client, ada)
    page = client.get("/models").get_data(as_text=True)
    assert "secret-model" in page and "Private" in page  # its row is in the cache now
    client.post("/logout")
    for viewer in (None, bob):
        if viewer is not None:
            login(client, viewer)
        page = client.get("/models").get_data(as_text=True)
        assert "open-model" in page and "secret-model" not in page
    assert client.get("/models/ada/secret-model").status_code == 404


def test_card_html_is_rendered_once_per_text_and_sanitized():
    text = "# Title\n\n<script>alert(1)</script>\n\n[link](javascript:alert(1)) *fine*\n"
    first = fragments.card_html(text)
    assert fragments.card_html(text) is first  # the cached piece
    html = str(first)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html and "<em>fine</em>" in html
    other = fragments.card_html(text + "\nMore.\n")
    assert other is not first and "More." in other
    assert fragments.card_html("") == ""


def test_the_cache_stays_within_its_size():
    from markupsafe import Markup

    cache = fragments.FragmentCache(max_bytes=2000)
    for i in range(50):
        cache.get_or_render(i, lambda i=i: Markup(f"<li>{i}</li>" + "x" * 100))
    assert cache.size <= 2000 and 0 < len(cache) < 50
    # The newest stay, the oldest went first; an evicted key is rendered again.
    assert cache.get_or_render(49, lambda: Markup("new")) != "new"
    assert cache.get_or_render(0, lambda: Markup("new")) == "new"
    # A piece bigger than the whole cache is returned but not kept.
    big = cache.get_or_render("big", lambda: Markup("y" * 5000))
    assert len(big) == 5000 and cache.size <= 2000


def _version(app, model_id, number, body, **fields):
    from hub.zoo.models import ModelVersion

    card = {"license": "mit", "task": "image-classification",
            "metrics": [{"name": "accuracy", "value": 0.9, "dataset": "digits",
                         "split": "test"}],
            "inputs": [{"name": "x", "shape": [None, 64], "dtype": "float32"}],
            "outputs": [{"name": "y", "shape": [None, 10], "dtype": "float32"}],
            "readme": f"---\nlicense: mit\n---\n# Card\n\n{body}\n"}
    with app.app_context():
        session = hub_db.session(write=True)
        version = ModelVersion(model_id=model_id, number=number, card=card,
                               architecture="module", message=f"version {number}", **fields)
        session.add(version)
        session.get(ZooModel, model_id).latest_number = number
        session.commit()
        return version.id


def test_model_page_shows_each_version_and_every_change_at_once(app, client, make_user):
    from hub.zoo.models import ModelTag, ModelVersion

    model_id = _model(app, make_user(username="ada"), "card-model")
    first = _version(app, model_id, 1, "First card body.", validation_status="queued")
    page = client.get("/models/ada/card-model").get_data(as_text=True)
    assert "First card body." in page and "not measured yet" in page
    # Validation finishes: the metric line changes.
    with app.app_context():
        session = hub_db.session(write=True)
        version = session.get(ModelVersion, first)
        version.validation_status = "passed"
        version.validation = {"metrics": [{"name": "accuracy", "dataset": "digits",
                                           "split": "test", "claimed": 0.9,
                                           "measured": 0.91, "ok": True}]}
        session.commit()
    page = client.get("/models/ada/card-model").get_data(as_text=True)
    assert "not measured yet" not in page and "verified: 91.0%" in page
    assert "validation passed" in page
    # A new version: it is the page's version now, and the list holds both.
    _version(app, model_id, 2, "Second card body.", validation_status="queued")
    page = client.get("/models/ada/card-model").get_data(as_text=True)
    assert "Second card body." in page and "First card body." not in page
    assert 'href="/models/ada/card-model?version=1"' in page
    assert "<strong>Version 2</strong>" in page
    older = client.get("/models/ada/card-model?version=1").get_data(as_text=True)
    assert "First card body." in older and "<strong>Version 1</strong>" in older
    # A tag on the first version shows in the version list.
    with app.app_context():
        session = hub_db.session(write=True)
        session.add(ModelTag(model_id=model_id, version_id=first, name="stable"))
        session.commit()
    page = client.get("/models/ada/card-model").get_data(as_text=True)
    assert '<span class="badge">stable</span>' in page
    client.set_cookie("skiff_lang", "zh")
    chinese = client.get("/models/ada/card-model").get_data(as_text=True)
    assert "<strong>Version 2</strong>" not in chinese and "Second card body." in chinese


def test_model_page_forms_of_its_owner_reach_nobody_else(app, make_user, login):
    ada, bob = make_user(username="ada"), make_user(username="bob")
    model_id = _model(app, ada, "owned-model")
    _version(app, model_id, 1, "Card body.", validation_status="passed")
    app.config["WTF_CSRF_ENABLED"] = True
    owner, anonymous, other = app.test_client(), app.test_client(), app.test_client()
    login(owner, ada)
    login(other, bob)
    owner_page = owner.get("/models/ada/owned-model").get_data(as_text=True)
    assert "Validate again" in owner_page and "Add tag" in owner_page
    for client in (anonymous, other):
        page = client.get("/models/ada/owned-model").get_data(as_text=True)
        assert "Card body." in page
        assert "Validate again" not in page and "Add tag" not in page
        assert "Delete this model" not in page
        assert _token(owner_page) not in page and _token(page) in page


def _model_list(page: str) -> str:
    start = page.index('<ul class="item-list model-list">')
    return page[start:page.index("</ul>", start)]


def _token(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


def test_a_new_version_that_gets_a_deleted_versions_id_shows_its_own_card(app, client,
                                                                         make_user):
    from datetime import timedelta

    from hub.db import utcnow

    ada = make_user(username="ada")
    old_model = _model(app, ada, "reused")
    version_id = _version(app, old_model, 1, "The old card.", validation_status="passed",
                          created_at=utcnow() - timedelta(days=1))
    assert "The old card." in client.get("/models/ada/reused").get_data(as_text=True)
    with app.app_context():
        session = hub_db.session(write=True)
        session.delete(session.get(ZooModel, old_model))
        session.commit()
    new_model = _model(app, ada, "reused")
    assert _version(app, new_model, 1, "The new card.", validation_status="passed",
                    id=version_id) == version_id
    page = client.get("/models/ada/reused").get_data(as_text=True)
    assert "The new card." in page and "The old card." not in page
