"""Publishing, versions, downloads and validation of models (the real sandbox runs)."""

from __future__ import annotations

from sqlalchemy import func, select

from hub import db as hub_db
from hub.zoo.models import ModelFile, ModelVersion, ZooModel

from .conftest import api_push, write_module, write_program


def _count(app, model) -> int:
    with app.app_context():
        return hub_db.session().scalar(select(func.count()).select_from(model))


def test_push_validates_verifies_and_downloads_a_pinned_version(
        app, client, make_user, make_token, tmp_path, accuracy):
    ada = make_user(username="ada")
    token = make_token(ada)
    response = api_push(client, token, "ada/digits-linear",
                        write_program(tmp_path / "m", accuracy=accuracy), "least squares")
    assert response.status_code == 201, response.get_json()
    version = response.get_json()
    assert version["number"] == 1 and version["architecture"] == "program"
    assert version["validation"]["status"] == "passed", version["validation"]
    [metric] = version["validation"]["metrics"]
    assert metric["ok"] is True and abs(metric["measured"] - accuracy) < 1e-6

    model = client.get("/api/v1/models/ada/digits-linear").get_json()
    assert model["verified"] is True and model["latest_version"] == 1
    assert model["task"] == "image-classification" and model["tags"] == ["digits", "linear"]

    weights = (tmp_path / "m" / "weights.safetensors").read_bytes()
    url = "/api/v1/models/ada/digits-linear/versions/1/files/weights.safetensors"
    got = client.get(url)
    assert got.status_code == 200 and got.data == weights
    etag = got.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    web = client.get("/models/ada/digits-linear/resolve/1/weights.safetensors")
    assert web.data == weights and web.headers["ETag"] == etag
    assert client.get("/api/v1/models/ada/digits-linear").get_json()["downloads"] == 2

    page = client.get("/models/ada/digits-linear").get_data(as_text=True)
    pct = f"{accuracy * 100:.1f}%"
    assert f"verified: {pct} (claimed {pct})" in page
    assert "passed: the model loads in the sandbox" in page
    assert "<table>" in page  # the card's Markdown table, rendered
    assert "weights.safetensors" in page and "graph.json" in page
    assert 'data-testid="model-graph"' in page and "650" in page  # 64*10 + 10 parameters


def test_versions_are_immutable_and_tags_pin_them(app, client, make_user, make_token,
                                                  tmp_path, accuracy):
    ada = make_user(username="ada")
    token = make_token(ada)
    headers = {"Authorization": f"Bearer {token}"}
    folder = write_program(tmp_path / "m", accuracy=accuracy)
    first_card = (folder / "README.md").read_bytes()
    assert api_push(client, token, "ada/lin", folder, "one", tag="v1.0").status_code == 201
    (folder / "README.md").write_text(
        (folder / "README.md").read_text().replace("A linear", "The same linear"))
    second = api_push(client, token, "ada/lin", folder, "two")
    assert second.status_code == 201 and second.get_json()["number"] == 2

    by_tag = client.get("/api/v1/models/ada/lin/versions/v1.0").get_json()
    assert by_tag["number"] == 1 and by_tag["message"] == "one" and by_tag["tags"] == ["v1.0"]
    old = client.get("/api/v1/models/ada/lin/versions/v1.0/files/README.md")
    assert old.data == first_card
    new = client.get("/api/v1/models/ada/lin/versions/latest/files/README.md")
    assert b"The same linear" in new.data
    listing = client.get("/api/v1/models/ada/lin/versions").get_json()
    assert [v["number"] for v in listing["items"]] == [2, 1]

    moved = client.post("/api/v1/models/ada/lin/tags", json={"tag": "v1.0", "version": 2},
                        headers=headers)
    assert moved.status_code == 409
    assert client.post("/api/v1/models/ada/lin/tags", json={"tag": "v2.0", "version": 2},
                       headers=headers).status_code == 201
    assert client.get("/api/v1/models/ada/lin/versions/v2.0").get_json()["number"] == 2


def test_module_model_with_an_overclaimed_metric_passes_but_is_not_verified(
        app, client, make_user, make_token, tmp_path):
    ada = make_user(username="ada")
    folder = write_module(tmp_path / "m", accuracy=0.999)
    response = api_push(client, make_token(ada), "ada/mod", folder)
    assert response.status_code == 201
    validation = response.get_json()["validation"]
    assert validation["status"] == "passed" and validation["metrics"][0]["ok"] is False
    assert client.get("/api/v1/models/ada/mod").get_json()["verified"] is False
    page = client.get("/models/ada/mod").get_data(as_text=True)
    assert "mismatch: measured" in page and "claimed 99.9%" in page
    assert client.get("/api/v1/models?verified=true").get_json()["total"] == 0
    assert client.get("/api/v1/models?verified=false").get_json()["total"] == 1


def test_validation_failure_is_shown_with_its_error(app, client, make_user, make_token,
                                                    tmp_path):
    ada = make_user(username="ada")
    token = make_token(ada)
    wrong_shape = write_program(tmp_path / "a", outputs_shape=(None, 7))
    response = api_push(client, token, "ada/wrong-shape", wrong_shape)
    validation = response.get_json()["validation"]
    assert validation["status"] == "failed"
    assert "has shape [2, 10], the card says [None, 7]" in validation["error"]
    page = client.get("/models/ada/wrong-shape").get_data(as_text=True)
    assert "validation-failed" in page and "the card says [None, 7]" in page

    broken = write_module(tmp_path / "b", source="import framework as fw\n\n"
                          "def build_model():\n    raise ValueError('no such layer')\n")
    failed = api_push(client, token, "ada/broken", broken).get_json()["validation"]
    assert failed["status"] == "failed" and "ValueError: no such layer" in failed["error"]

    mismatched = write_module(tmp_path / "c", source="import framework as fw\n\n"
                              "def build_model():\n    return fw.nn.Linear(64, 12)\n")
    failed = api_push(client, token, "ada/mismatched", mismatched).get_json()["validation"]
    assert failed["status"] == "failed" and "size" in failed["error"].lower()


def test_sandboxed_model_code_cannot_reach_the_hub(app, client, make_user, make_token,
                                                   tmp_path):
    ada = make_user(username="ada")
    source = ("import os\nimport framework as fw\n\n"
              f"SECRET = os.path.exists({str(app.instance_path)!r})\n\n"
              "def build_model():\n"
              "    if SECRET:\n        raise RuntimeError('saw the instance folder')\n"
              "    return fw.nn.Linear(64, 10)\n")
    response = api_push(client, make_token(ada), "ada/nosy", write_module(tmp_path / "m",
                                                                          source=source))
    assert response.get_json()["validation"]["status"] == "passed"


def test_organization_members_push_and_others_may_not(app, client, make_user, make_token,
                                                      tmp_path, db):
    from hub.accounts import services as accounts

    owner, member, outsider = make_user(username="olga"), make_user(username="moe"), \
        make_user(username="out")
    org = accounts.create_organization(db.merge(owner), "lab", "The Lab")
    from hub.accounts.models import Membership

    db.add(Membership(user_id=member.id, organization_id=org.id, role="member"))
    db.commit()
    folder = write_program(tmp_path / "m")
    assert api_push(client, make_token(member), "lab/net", folder).status_code == 201
    assert api_push(client, make_token(owner), "lab/net", folder, "again").status_code == 201
    refused = api_push(client, make_token(outsider), "lab/net", folder, "mine now")
    assert refused.status_code == 403
    assert api_push(client, make_token(outsider), "lab/other", folder).status_code == 403
    assert api_push(client, make_token(outsider), "olga/net", folder).status_code == 403
    assert client.get("/api/v1/models/lab/net").get_json()["latest_version"] == 2
    assert _count(app, ZooModel) == 1 and _count(app, ModelVersion) == 2


def test_web_form_publishes_several_files_and_a_new_version(app, client, make_user, login,
                                                            tmp_path):
    ada = make_user(username="ada")
    login(client, ada)
    folder = write_program(tmp_path / "m")

    def files():
        return [(open(folder / n, "rb"), n) for n in ("README.md", "graph.json",
                                                      "weights.safetensors")]

    response = client.post("/models/new", data={
        "namespace": "ada", "name": "webbed", "message": "from the browser", "public": "on",
        "files": files()}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/models/ada/webbed")
    again = client.post("/models/ada/webbed/upload", data={
        "message": "second", "tag": "v2", "files": files()}, content_type="multipart/form-data")
    assert again.status_code == 302
    body = client.get("/api/v1/models/ada/webbed/versions/v2").get_json()
    assert body["number"] == 2 and {f["path"] for f in body["files"]} == {
        "README.md", "graph.json", "weights.safetensors"}
    bad = client.post("/models/ada/webbed/upload", data={
        "message": "third", "files": [(open(folder / "README.md", "rb"), "README.md")]},
        content_type="multipart/form-data")
    assert bad.status_code == 400 and "architecture is missing" in bad.get_data(as_text=True)
    assert _count(app, ModelVersion) == 2


def test_publish_model_dir_skips_an_unchanged_folder(app, make_user, tmp_path):
    from hub.zoo import services

    make_user(username="ada")
    folder = write_program(tmp_path / "m")
    with app.test_request_context(method="POST"):
        first = services.publish_model_dir("ada", "bundled", folder, "bundled model")
        same = services.publish_model_dir("ada", "bundled", folder, "bundled model")
        assert same.id == first.id and same.number == 1
        (folder / "notes.txt").write_text("more")
        assert services.publish_model_dir("ada", "bundled", folder, "notes").number == 2
    assert _count(app, ModelFile) == 3 + 4


FORGER = """\
import atexit
import json

import framework as fw


def _forge():
    fake = {"ok": True, "error": "", "outputs": [{"shape": [2, 10], "dtype": "float32"}],
            "metrics": [{"name": "accuracy", "dataset": "digits", "split": "test",
                         "claimed": 0.999, "measured": 0.999}]}
    with open("/job/result.json", "w") as fh:
        json.dump(fake, fh)


def build_model():
    atexit.register(_forge)
    return fw.nn.Linear(64, 10)
"""


def test_model_code_cannot_forge_its_measured_metrics(app, client, make_user, make_token,
                                                      tmp_path, accuracy):
    ada = make_user(username="ada")
    token = make_token(ada)
    forged = api_push(client, token, "ada/forger",
                      write_module(tmp_path / "f", source=FORGER, accuracy=0.999))
    metric = forged.get_json()["validation"]["metrics"][0]
    assert metric["ok"] is False and metric["measured"] != 0.999
    assert client.get("/api/v1/models/ada/forger").get_json()["verified"] is False
    honest = api_push(client, token, "ada/honest", write_module(tmp_path / "h",
                                                                accuracy=accuracy))
    metric = honest.get_json()["validation"]["metrics"][0]
    assert metric["ok"] is True and abs(metric["measured"] - accuracy) < 1e-6
    assert client.get("/api/v1/models/ada/honest").get_json()["verified"] is True
