"""A submission may name the zoo models it ran (web form, API, ``skiff bench submit --model``):
unknown or invisible names are refused with nothing stored; a verified result is linked from
the models' pages ("Used in") and the model API, and the link goes when the result is
withdrawn or never verified."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from hub import db
from hub.leaderboards.models import Submission
from hub.zoo.models import ModelReference, ZooModel
from tests.hub.conftest import sign_in
from tests.hub.leaderboards.test_flow import _needs_review


def _token(app, user, scopes):
    from hub.accounts.models import User
    from hub.api import tokens

    with app.app_context():
        secret = tokens.create_token(db.session().get(User, user.id), "t", scopes).secret
        db.session().commit()
    return {"Authorization": f"Bearer {secret}"}


def _models(app, make_user):
    """ada's public ada/net and her private ada/draft."""
    ada = make_user(username="ada")
    with app.app_context():
        session = db.session()
        session.add(ZooModel(namespace="ada", owner_id=ada.id, name="net", latest_number=1))
        session.add(ZooModel(namespace="ada", owner_id=ada.id, name="draft", latest_number=1,
                             is_public=False))
        session.commit()
    return ada


def _api_submit(client, app, vendor, path, models):
    with open(path, "rb") as fh:
        return client.post(f"/api/v1/systems/{vendor.system_id}/submissions",
                           query_string=[("model", m) for m in models], data=fh.read(),
                           headers={**_token(app, vendor.user, ["read", "submit"]),
                                    "Content-Type": "application/octet-stream"})


def _refs(client, model="ada/net"):
    return client.get(f"/api/v1/models/{model}").get_json()["references"]


def _count(app, table) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(table))


def test_verified_result_is_linked_until_withdrawn(app, client, vendor, make_bundle,
                                                   make_user):
    _models(app, make_user)
    answer = _api_submit(client, app, vendor, make_bundle(), ["ada/net", "ada/net"])
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    public_id = body["id"]
    assert body["status"] == "verified" and body["models"] == ["ada/net"]
    title = f"gemm-128, train-mlp, infer-latency-mlp +1 · {public_id} · Testbox 1"
    assert _refs(client) == [{"kind": "leaderboard", "id": public_id, "title": title,
                              "url": f"/leaderboards/results/{public_id}"}]
    page = client.get("/models/ada/net").get_data(as_text=True)
    section = page[page.index('class="used-in"'):page.index('id="discussion"')]
    assert f'href="/leaderboards/results/{public_id}"' in section
    assert ">Leaderboard result</span>" in section
    zh = client.get("/models/ada/net", headers={"Accept-Language": "zh"}).get_data(
        as_text=True)
    assert ">排行榜结果</span>" in zh
    # the result page links back to the model
    result = client.get(f"/leaderboards/results/{public_id}").get_data(as_text=True)
    assert 'href="/models/ada/net">ada/net</a>' in result

    withdrawn = client.post(f"/api/v1/submissions/{public_id}/withdraw",
                            headers=_token(app, vendor.user, ["submit"]))
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert _refs(client) == []
    assert "/leaderboards/results/" not in client.get("/models/ada/net").get_data(as_text=True)


def test_unknown_or_invisible_models_are_refused_and_nothing_is_stored(app, client, vendor,
                                                                      make_bundle, make_user):
    _models(app, make_user)
    path = make_bundle()
    for models, name in ((["ada/nope"], "ada/nope"), (["ada/net", "ada/draft"], "ada/draft"),
                         (["net"], "net")):
        answer = _api_submit(client, app, vendor, path, models)
        assert answer.status_code == 400, models
        error = answer.get_json()["error"]
        assert error["code"] == "unknown_model" and name in error["message"]
    too_many = _api_submit(client, app, vendor, path, [f"ada/m{i}" for i in range(11)])
    assert too_many.status_code == 400
    # the web form says why, and nothing is stored either
    sign_in(client, vendor.user)
    with open(path, "rb") as fh:
        form = client.post(f"/leaderboards/systems/{vendor.system_id}/submit",
                           data={"bundle": (fh, "bundle.tar.gz"), "models": "ada/nope"},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "There is no model ada/nope on the hub" in form.get_data(as_text=True)
    assert _count(app, Submission) == 0 and _count(app, ModelReference) == 0
    # ada, in the vendor's organization, may name her private model: its page (hers to
    # see) links the result, while others never learn its name from the result
    from hub.accounts.models import Membership, User

    with app.app_context():
        ada_id = db.session().scalar(select(ZooModel).where(ZooModel.name == "draft")).owner_id
        db.session().add(Membership(user_id=ada_id, organization_id=vendor.org_id,
                                    role="member"))
        db.session().commit()
        ada_user = db.session().get(User, ada_id)
    vendor_as_ada = type("V", (), {"user": ada_user, "system_id": vendor.system_id})
    answer = _api_submit(client, app, vendor_as_ada, path, ["ada/draft"])
    assert answer.status_code == 201 and answer.get_json()["models"] == ["ada/draft"]
    public_id = answer.get_json()["id"]
    with client.session_transaction() as session:
        session.clear()
    shown = client.get(f"/api/v1/submissions/{public_id}").get_json()
    assert shown["status"] == "verified" and shown["models"] == []
    assert "ada/draft" not in client.get(f"/leaderboards/results/{public_id}").get_data(
        as_text=True)
    assert client.get("/api/v1/models/ada/draft").status_code == 404
    sign_in(client, ada_user)
    assert [r["id"] for r in _refs(client, "ada/draft")] == [public_id]


def test_result_needing_review_is_linked_once_a_reviewer_approves(app, client, vendor, make_bundle,
                                                         make_user):
    _models(app, make_user)
    public_id = _needs_review(app, vendor, make_bundle)
    with app.app_context():
        submission = db.session().scalar(select(Submission).where(
            Submission.public_id == public_id))
        submission.models = ["ada/net"]
        db.session().commit()
    # needs review: on no model page yet
    assert _refs(client) == []
    judge = make_user(role="admin", username="judge")
    sign_in(client, judge)
    client.post(f"/leaderboards/results/{public_id}/review",
                data={"decision": "approve", "reason": "Reproduced on our machine"})
    assert [r["id"] for r in _refs(client)] == [public_id]


def test_web_form_names_models(app, client, vendor, make_bundle, make_user):
    _models(app, make_user)
    sign_in(client, vendor.user)
    with open(make_bundle(), "rb") as fh:
        form = client.post(f"/leaderboards/systems/{vendor.system_id}/submit",
                           data={"bundle": (fh, "bundle.tar.gz"), "models": " ada/net "},
                           content_type="multipart/form-data")
    assert form.status_code == 302 and "/leaderboards/results/" in form.headers["Location"]
    form_id = form.headers["Location"].rsplit("/", 1)[1]
    assert [r["id"] for r in _refs(client)] == [form_id]


def test_cli_names_models(app, client, live_server, vendor, bundle_dir, make_user, tmp_path,
                          monkeypatch):
    from hub.cli import main

    _models(app, make_user)
    monkeypatch.setenv("SKIFF_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SKIFF_TOKEN", _token(app, vendor.user, ["read", "submit"])[
        "Authorization"].split()[1])
    runner = CliRunner()
    done = runner.invoke(main, ["--endpoint", live_server.url, "bench", "submit",
                                str(bundle_dir), "--system", str(vendor.system_id),
                                "--model", "ada/net"])
    assert done.exit_code == 0, done.output
    assert "models: ada/net" in done.output
    assert [r["id"] for r in _refs(client)] == ["v1.0-0001"]
    refused = runner.invoke(main, ["--endpoint", live_server.url, "bench", "submit",
                                   str(bundle_dir), "--system", str(vendor.system_id),
                                   "--model", "ada/none"])
    assert refused.exit_code != 0 and "There is no model ada/none" in refused.output
