"""A version keeps its card as sanitized HTML from the moment it is published
(``ModelVersion.readme_html``); its page shows that, and versions without it (published
before it was kept) still render their card on demand."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from hub import db as hub_db
from hub.zoo import fragments, services
from hub.zoo.card import render_markdown, stored_html
from hub.zoo.models import ModelVersion, ZooModel

from .conftest import write_module

HOSTILE = ("\n<script>alert('card')</script>\n\n"
           "[click](javascript:alert(1)) and *fine*.\n")


def _publish(app, owner, name: str, folder: Path) -> int:
    with app.test_request_context():  # publishing indexes the model, with its URL
        staged = [services.stage_file(p.name, p) for p in sorted(folder.iterdir())]
        version = services.publish(owner, owner.username, name, staged, "first",
                                   validate=False)
        return version.id


def _folder(tmp_path: Path) -> Path:
    folder = write_module(tmp_path / "m")
    readme = folder / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + HOSTILE, encoding="utf-8")
    return folder


def test_publishing_keeps_the_card_as_sanitized_html(app, make_user, tmp_path):
    ada = make_user(username="ada")
    version_id = _publish(app, ada, "digits", _folder(tmp_path))
    with app.app_context():
        version = hub_db.session().get(ModelVersion, version_id)
        html = version.readme_html
        assert html == str(render_markdown(version.card["readme"]))
        assert "<table>" in html and "<em>fine</em>" in html and "Digits linear" in html
        assert "<script" not in html and "&lt;script&gt;" in html
        assert 'href="javascript' not in html


def test_the_page_shows_the_stored_card(app, client, make_user, tmp_path):
    ada = make_user(username="ada")
    version_id = _publish(app, ada, "digits", _folder(tmp_path))
    with app.app_context():
        session = hub_db.session(write=True)
        # A stored card that differs from what rendering the README now would give: the page
        # must show the stored one.
        session.get(ModelVersion, version_id).readme_html = "<p>Kept at publish time.</p>"
        session.commit()
    fragments.VERSION_BODIES.clear()
    fragments.CARDS.clear()
    page = client.get("/models/ada/digits").get_data(as_text=True)
    assert "<p>Kept at publish time.</p>" in page
    assert "Digits linear" not in page.split('data-testid="model-card"')[1].split("</section>")[0]
    assert len(fragments.CARDS) == 0  # nothing was rendered on demand


def test_a_version_without_a_stored_card_renders_it_on_demand(app, client, make_user):
    ada = make_user(username="ada")
    readme = "# Old card\n\nPublished *before* cards were kept." + HOSTILE
    with app.app_context():
        session = hub_db.session(write=True)
        model = ZooModel(namespace="ada", owner_id=ada.id, name="old", summary="Old",
                         task="image-classification", license="mit", latest_number=1)
        session.add(model)
        session.flush()
        session.add(ModelVersion(model_id=model.id, number=1, card={"readme": readme},
                                 architecture="module", message="old", readme_html=None))
        session.commit()
    page = client.get("/models/ada/old").get_data(as_text=True)
    card = page.split('data-testid="model-card"')[1].split("</section>")[0]
    assert "<h1>Old card</h1>" in card and "<em>before</em>" in card
    assert "<script" not in card and "&lt;script&gt;" in card and "href=\"javascript" not in card
    with app.app_context():
        stored = hub_db.session().scalar(select(ModelVersion.readme_html))
        assert stored is None  # a page view does not write


def test_stored_html_of_an_empty_card_is_empty():
    assert stored_html("") == ""
