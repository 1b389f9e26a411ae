"""Notebooks that use zoo models appear under "Used in" on the models' pages and in the model
API: recorded on every upload, replaced by each new version, gone when deleted, and a private
or hidden notebook is never shown to people who cannot open it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import db as hub_db
from hub.api import tokens
from hub.zoo.models import ModelReference, ZooModel
from tests.hub.conftest import sign_in
from tests.hub.notebooks.conftest import make_notebook

USES_NET = make_notebook(
    "# md\n# Tuning\nWe start from [ada/net](/models/ada/net); the data is in data/train.csv.",
    'import framework as fw\nnet = fw.hub.load("ada/net", version=1)\n'
    'other = fw.hub.load("ada/missing")\nsecret = fw.hub.load("bob/secret")')
NO_MODEL = make_notebook("# md\n# Tuning\nNow trained from scratch.", "x = 1")


@pytest.fixture
def app_config():
    return {"JOBS_IMMEDIATE": False}


@pytest.fixture
def people(app, make_user):
    """ada owns the public model ada/net, bob the private bob/secret; grace writes notebooks
    (with an API token); eve is someone else."""
    ada, bob = make_user(username="ada"), make_user(username="bob")
    grace, eve = make_user(username="grace"), make_user(username="eve")
    with app.app_context():
        session = hub_db.session()
        session.add(ZooModel(namespace="ada", owner_id=ada.id, name="net", latest_number=1))
        session.add(ZooModel(namespace="bob", owner_id=bob.id, name="secret", latest_number=1,
                             is_public=False))
        secret = tokens.create_token(grace, "tests", ["read", "write"]).secret
        session.commit()
    return type("People", (), {"ada": ada, "bob": bob, "grace": grace, "eve": eve,
                               "token": {"Authorization": f"Bearer {secret}"}})


def _push(client, people, data, **params):
    answer = client.post("/api/v1/notebooks", query_string={"slug": "tune", **params},
                         data=data, headers={**people.token,
                                             "Content-Type": "application/x-ipynb+json"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def _notebook_id(app, slug="tune") -> str:
    from hub.notebooks import services as notebooks

    with app.app_context():
        return str(notebooks.find_notebook("grace", slug).id)


def _api_refs(client, model="ada/net", headers=None):
    answer = client.get(f"/api/v1/models/{model}", headers=headers or {})
    assert answer.status_code == 200
    return answer.get_json()["references"]


def _used_in(client, model="ada/net") -> str:
    page = client.get(f"/models/{model}").get_data(as_text=True)
    return page[page.index('class="used-in"'):page.index('id="discussion"')]


def test_uploaded_notebook_links_the_models_it_loads(app, client, people):
    _push(client, people, USES_NET, title="Tuning ada/net")
    notebook_id = _notebook_id(app)
    refs = _api_refs(client)
    assert refs == [{"kind": "notebook", "id": notebook_id, "title": "Tuning ada/net",
                     "url": "/notebooks/grace/tune"}]
    section = _used_in(client)
    assert 'href="/notebooks/grace/tune"' in section and "Tuning ada/net" in section
    assert ">Notebook</span>" in section
    # A model nobody named stays without links; the path and the missing model named none.
    with app.app_context():
        rows = hub_db.session().scalars(select(ModelReference)).all()
        assert [(r.kind, r.ref_id) for r in rows] == [("notebook", notebook_id)]

    # The next version no longer uses the model: the link goes.
    _push(client, people, NO_MODEL)
    assert _api_refs(client) == []
    assert "/notebooks/grace/tune" not in _used_in(client)
    # ... and comes back with a version that uses it again, under the new title.
    _push(client, people, USES_NET, title="Tuning, second try")
    assert [r["title"] for r in _api_refs(client)] == ["Tuning, second try"]


def test_used_in_is_translated(app, client, people):
    _push(client, people, USES_NET)
    page = client.get("/models/ada/net", headers={"Accept-Language": "zh"}).get_data(
        as_text=True)
    section = page[page.index('class="used-in"'):page.index('id="discussion"')]
    assert ">笔记本</span>" in section and "Notebook" not in section


def test_private_model_is_only_linked_by_notebooks_of_people_who_can_see_it(app, client,
                                                                             people):
    _push(client, people, USES_NET)
    with app.app_context():
        secret = hub_db.session().scalar(select(ZooModel).where(ZooModel.name == "secret"))
        assert hub_db.session().scalars(select(ModelReference).where(
            ModelReference.model_id == secret.id)).all() == []
        from hub.accounts.models import User
        from hub.notebooks import services as notebooks

        bob = hub_db.session().get(User, people.bob.id)
        notebooks.upload_notebook(bob, USES_NET, slug="mine", render=False)
        hub_db.session().commit()
    sign_in(client, people.bob)
    assert "/notebooks/bob/mine" in _used_in(client, "bob/secret")


def test_private_notebook_is_shown_only_to_those_who_may_open_it(app, client, people):
    _push(client, people, USES_NET, title="Secret tuning", public="false")
    # Anonymous and another person: neither the page nor the API mentions it.
    assert _api_refs(client) == []
    assert "Secret tuning" not in _used_in(client)
    with app.app_context():
        eve_token = tokens.create_token(people.eve, "t", ["read"]).secret
        hub_db.session().commit()
    assert _api_refs(client, headers={"Authorization": f"Bearer {eve_token}"}) == []
    sign_in(client, people.eve)
    assert "Secret tuning" not in _used_in(client)
    # Its owner sees it.
    assert [r["title"] for r in _api_refs(client, headers=people.token)] == ["Secret tuning"]
    sign_in(client, people.grace)
    assert "Secret tuning" in _used_in(client)
    # Made public (and renamed) on its edit page: everyone sees it under its new title.
    answer = client.post("/notebooks/grace/tune/edit",
                         data={"title": "Open tuning", "public": "on", "tags": ""})
    assert answer.status_code == 302
    with client.session_transaction() as session:
        session.clear()
    assert [r["title"] for r in _api_refs(client)] == ["Open tuning"]
    assert "Open tuning" in _used_in(client)
    # Hidden by moderation: gone again for others.
    with app.app_context():
        from hub.notebooks import services as notebooks

        notebook = notebooks.find_notebook("grace", "tune")
        notebooks.set_hidden(notebook, True)
        hub_db.session().commit()
    assert _api_refs(client) == []
    assert "Open tuning" not in _used_in(client)


def test_course_lessons_follow_their_course_visibility(app, client, people):
    """A course imports its lessons through the same service and publishes them by setting
    their visibility directly; the links follow without another upload."""
    from hub.accounts.models import User
    from hub.notebooks import services as notebooks

    with app.app_context():
        grace = hub_db.session().get(User, people.grace.id)
        version = notebooks.import_notebook(grace, USES_NET, title="Lesson 1", slug="lesson-1",
                                            is_public=False, render=False, tags=["course"])
        hub_db.session().commit()
        notebook_id = version.notebook_id
    assert _api_refs(client) == []
    with app.app_context():
        from hub.notebooks.models import Notebook

        hub_db.session().get(Notebook, notebook_id).is_public = True
        hub_db.session().commit()
    assert [r["title"] for r in _api_refs(client)] == ["Lesson 1"]


def test_deleting_a_notebook_removes_its_links(app, client, people):
    _push(client, people, USES_NET, title="Short-lived")
    assert len(_api_refs(client)) == 1
    answer = client.delete("/api/v1/notebooks/grace/tune", headers=people.token)
    assert answer.status_code == 200
    assert _api_refs(client) == []
    with app.app_context():
        assert hub_db.session().scalars(select(ModelReference)).all() == []


def test_importing_the_same_notebook_again_links_models_published_since(app, client, people):
    from hub.accounts.models import User
    from hub.notebooks import services as notebooks

    lesson = make_notebook('import framework as fw\nmodel = fw.hub.load("ada/later")')
    with app.app_context():
        grace = hub_db.session().get(User, people.grace.id)
        first = notebooks.import_notebook(grace, lesson, title="Lesson 2", slug="lesson-2",
                                          render=False)
        hub_db.session().commit()
        first_id = first.id
        hub_db.session().add(ZooModel(namespace="ada", owner_id=people.ada.id, name="later",
                                      latest_number=1))
        hub_db.session().commit()
    assert _api_refs(client, "ada/later") == []
    with app.app_context():
        grace = hub_db.session().get(User, people.grace.id)
        again = notebooks.import_notebook(grace, lesson, title="Lesson 2", slug="lesson-2",
                                          render=False)
        hub_db.session().commit()
        assert again.id == first_id  # no new version for the same bytes
    assert [r["title"] for r in _api_refs(client, "ada/later")] == ["Lesson 2"]
