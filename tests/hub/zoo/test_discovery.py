"""Finding models: search, filters, sorting (pages and API), likes, discussion with
moderation, "used in" references, and the graph of a static program."""

from __future__ import annotations

from datetime import timedelta

from hub import db as hub_db
from hub.db import utcnow
from hub.zoo import graph as graphs
from hub.zoo import services
from hub.zoo.models import ZooModel

from .conftest import api_push, write_program


def _models(app, owner):
    rows = [
        ("digits-mlp", "image-classification", "mit", " digits mlp ", True, 50, 1, 3),
        ("digits-cnn", "image-classification", "apache-2.0", " digits cnn ", True, 10, 9, 1),
        ("char-lm", "text-generation", "mit", " text lstm ", False, 99, 0, 10),
        ("pinn-heat", "physics", "bsd-3-clause", " physics ", True, 0, 5, 0),
    ]
    with app.app_context():
        session = hub_db.session()
        for i, (name, task, lic, tags, verified, downloads, likes, age) in enumerate(rows):
            session.add(ZooModel(namespace=owner.username, owner_id=owner.id, name=name,
                                 summary=f"The {name} model", task=task, license=lic, tags=tags,
                                 verified=verified, downloads=downloads, likes=likes,
                                 latest_number=1, trend=float(i),
                                 updated_at=utcnow() - timedelta(days=age)))
        session.commit()


def _names(client, **params) -> list[str]:
    body = client.get("/api/v1/models", query_string=params).get_json()
    return [m["name"] for m in body["items"]]


def test_api_filters_and_sorts(app, client, make_user):
    _models(app, make_user(username="ada"))
    assert _names(client, sort="downloads") == ["char-lm", "digits-mlp", "digits-cnn",
                                                "pinn-heat"]
    assert _names(client, sort="likes")[0] == "digits-cnn"
    assert _names(client, sort="recent") == ["pinn-heat", "digits-cnn", "digits-mlp",
                                             "char-lm"]
    assert _names(client, sort="trending") == ["pinn-heat", "char-lm", "digits-cnn",
                                               "digits-mlp"]
    assert sorted(_names(client, task="image-classification")) == ["digits-cnn", "digits-mlp"]
    assert _names(client, tag="cnn") == ["digits-cnn"]
    assert sorted(_names(client, license="mit")) == ["char-lm", "digits-mlp"]
    assert "char-lm" not in _names(client, verified="true")
    assert _names(client, q="digits cnn") == ["digits-cnn"]
    assert _names(client, q="lstm") == ["char-lm"]
    assert client.get("/api/v1/models?sort=best").status_code == 400
    page = client.get("/api/v1/models?per_page=2&sort=downloads")
    assert page.get_json()["pages"] == 2 and 'rel="next"' in page.headers["Link"]


def test_list_page_searches_and_filters(app, client, make_user):
    _models(app, make_user(username="ada"))
    page = client.get("/models?q=digits&task=image-classification&verified=1&sort=likes")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.index("ada/digits-cnn") < text.index("ada/digits-mlp")
    assert "ada/char-lm" not in text and "ada/pinn-heat" not in text
    assert '<option value="physics"' in text  # the task filter offers tasks in use


def test_likes_count_and_move_trending(app, client, make_user, login):
    _models(app, make_user(username="ada"))
    bob = make_user(username="bob")
    login(client, bob)
    assert client.post("/models/ada/digits-mlp/like", data={"like": "1"}).status_code == 302
    client.post("/models/ada/digits-mlp/like", data={"like": "1"})
    assert client.get("/api/v1/models/ada/digits-mlp").get_json()["likes"] == 2  # 1 + bob
    assert _names(client, sort="trending")[0] == "digits-mlp"
    client.post("/models/ada/digits-mlp/like", data={"like": "0"})
    assert client.get("/api/v1/models/ada/digits-mlp").get_json()["likes"] == 1


def test_discussion_comments_are_moderated_through_reports(app, client, make_user, login,
                                                           make_token, tmp_path):
    ada = make_user(username="ada")
    assert api_push(client, make_token(ada), "ada/net", write_program(tmp_path / "m")
                    ).status_code == 201
    bob = make_user(username="bob")
    root, boss = make_user(role="admin", username="root"), make_user(role="admin", username="boss")
    login(client, bob)
    client.post("/models/ada/net/comments", data={"body": "Buy <b>pills</b>"})
    page = client.get("/models/ada/net").get_data(as_text=True)
    assert "Buy &lt;b&gt;pills&lt;/b&gt;" in page
    from hub.admin import moderation
    from hub.zoo.models import ModelComment

    with app.test_request_context(method="POST"):
        session = hub_db.session()
        comment = session.query(ModelComment).one()
        report = moderation.file_report(bob, "model_comment", comment.id, "spam")
        moderation.decide(report, "hide", root)
        session.commit()
    assert "pills" not in client.get("/models/ada/net").get_data(as_text=True)
    with app.test_request_context(method="POST"):
        model = services.find_model("ada", "net")
        report = moderation.file_report(bob, "model", model.id, "stolen weights")
        moderation.decide(report, "hide", boss)
        hub_db.session().commit()
    assert client.get("/models/ada/net").status_code == 404
    assert "ada/net" not in client.get("/models").get_data(as_text=True)


def test_references_show_where_a_model_is_used(app, client, make_user, make_token, tmp_path):
    ada = make_user(username="ada")
    api_push(client, make_token(ada), "ada/net", write_program(tmp_path / "m"))
    with app.test_request_context(method="POST"):
        import nbformat

        from hub.notebooks import services as notebooks

        # A public notebook that names no model itself: the references come from below.
        data = nbformat.writes(nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("# Fine-tuning")])).encode()
        notebook_id = notebooks.upload_notebook(ada, data, slug="tune", render=False).notebook_id
        found = services.sync_references(
            "notebook", notebook_id, "Fine-tuning ada/net", "/notebooks/ada/tune",
            "model = fw.hub.load('ada/net')  # also ada/missing and bob/none")
        assert [m.full_name for m in found] == ["ada/net"]
        services.add_reference("ada/net", "leaderboard", "42", title="Digits board, entry 3",
                               url="/leaderboards/digits#42")
        hub_db.session().commit()
    page = client.get("/models/ada/net").get_data(as_text=True)
    assert "Fine-tuning ada/net" in page and "Digits board, entry 3" in page
    refs = client.get("/api/v1/models/ada/net").get_json()["references"]
    assert {r["kind"] for r in refs} == {"notebook", "leaderboard"}
    with app.test_request_context(method="POST"):
        services.remove_references("notebook", notebook_id)
        hub_db.session().commit()
    assert "Fine-tuning" not in client.get("/models/ada/net").get_data(as_text=True)


def test_graph_summary_lists_layers_shapes_and_parameters(tmp_path):
    import json

    import framework as fw

    model = fw.nn.Sequential(fw.nn.Linear(64, 16), fw.nn.ReLU(), fw.nn.Linear(16, 10))
    fw.jit.save(model, str(tmp_path / "p"), [fw.jit.InputSpec([None, 64])])
    summary = graphs.summarize(json.loads((tmp_path / "p" / "graph.json").read_text()))
    assert [layer["name"] for layer in summary["layers"]] == ["0", "1", "2"]
    assert [layer["params"] for layer in summary["layers"]] == [64 * 16 + 16, 0, 16 * 10 + 10]
    assert summary["layers"][0]["output"] == "(N, 16)" and "matmul" in summary["layers"][0]["ops"]
    assert summary["params"] == 1210 and summary["inputs"] == ["(N, 64)"]
    assert summary["outputs"] == ["(N, 10)"]
