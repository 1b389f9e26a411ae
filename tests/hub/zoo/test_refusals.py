"""What the zoo refuses, and that a refused or unfinished upload leaves nothing behind."""

from __future__ import annotations

import io
import json
import struct

import pytest
from sqlalchemy import func, select

from hub import db as hub_db
from hub.zoo import card as cards
from hub.zoo import files as zfiles
from hub.zoo.models import ModelFile, ModelTag, ModelVersion, ZooModel

from .conftest import api_push, card_text, write_program

TABLES = (ZooModel, ModelVersion, ModelFile, ModelTag)


def _counts(app) -> list[int]:
    with app.app_context():
        session = hub_db.session()
        return [session.scalar(select(func.count()).select_from(t)) for t in TABLES]


def _safetensors(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


# Pickle streams written out by hand (protocol 2 and 4 opcodes): no pickle module needed.
PICKLED_LIST = b"\x80\x02]q\x00(K\x01K\x02e."
PICKLED_STR = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00\x8c\x01x\x94."


@pytest.mark.parametrize("name,payload", [
    ("weights.pkl", PICKLED_LIST),
    ("model.pt", b"PK\x03\x04" + b"\0" * 60),
    ("weights.bin", PICKLED_STR),
    ("extra.dat", PICKLED_LIST),
    ("table.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False}"),
])
def test_pickle_files_are_refused_with_what_to_use_instead(app, client, make_user, make_token,
                                                           tmp_path, name, payload):
    folder = write_program(tmp_path / "m")
    (folder / name).write_bytes(payload)
    response = api_push(client, make_token(make_user(username="ada")), "ada/net", folder)
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert name in message and "fw.save" in message
    assert _counts(app) == [0, 0, 0, 0]


def test_unknown_binaries_are_refused(app, client, make_user, make_token, tmp_path):
    folder = write_program(tmp_path / "m")
    (folder / "notes.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "blob.xyz").write_bytes(b"text but unknown")
    response = api_push(client, make_token(make_user(username="ada")), "ada/net", folder)
    assert response.status_code == 400
    problems = response.get_json()["error"]["problems"]
    assert any("notes.txt" in p and "binary" in p for p in problems)
    assert any("blob.xyz" in p and "only safetensors" in p for p in problems)
    assert _counts(app) == [0, 0, 0, 0]


@pytest.mark.parametrize("blob,reason", [
    (b"\x01\x02", "shorter than the 8-byte"),
    (struct.pack("<Q", 10**9) + b"{}", "does not fit the file"),
    (struct.pack("<Q", 4) + b"nope", "not JSON"),
    (_safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, b"\0" * 12),
     "offsets outside the data"),
    (_safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, b"\0" * 12),
     "has 12 bytes, not the 16"),
    (_safetensors({"w": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
     "unknown dtype"),
    (_safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                   "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
     "overlaps or leaves gaps"),
    (_safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
     "tensors cover 4"),
])
def test_malformed_safetensors_are_refused(app, client, make_user, make_token, tmp_path, blob,
                                           reason):
    with app.test_request_context():
        with pytest.raises(zfiles.FileRefused, match=reason):
            zfiles.check_safetensors("w.safetensors", io.BytesIO(blob), len(blob))
    folder = write_program(tmp_path / "m")
    (folder / "weights.safetensors").write_bytes(blob)
    response = api_push(client, make_token(make_user(username="ada")), "ada/net", folder)
    assert response.status_code == 400 and reason in response.get_json()["error"]["message"]
    assert _counts(app) == [0, 0, 0, 0]


@pytest.mark.parametrize("app_config", [{"ZOO_MAX_FILE_BYTES": 4000}],
                         indirect=True)
def test_oversized_files_are_refused_while_streaming(app, client, make_user, make_token,
                                                     tmp_path):
    folder = write_program(tmp_path / "m")
    (folder / "big.txt").write_text("x" * 5000)
    response = api_push(client, make_token(make_user(username="ada")), "ada/net", folder)
    assert response.status_code == 413
    assert "big.txt is larger than the limit" in response.get_json()["error"]["message"]
    assert _counts(app) == [0, 0, 0, 0]


@pytest.mark.parametrize("app_config", [{
                                         "ZOO_MAX_VERSION_BYTES": 6000}], indirect=True)
def test_oversized_versions_are_refused(app, client, make_user, make_token, tmp_path):
    folder = write_program(tmp_path / "m")
    (folder / "notes.txt").write_text("y" * 4000)
    response = api_push(client, make_token(make_user(username="ada")), "ada/net", folder)
    assert response.status_code == 413 and "more than the limit" in response.get_json()[
        "error"]["message"]
    assert _counts(app) == [0, 0, 0, 0]


def test_a_half_finished_push_leaves_no_version_and_no_rows(app, client, make_user,
                                                            make_token, tmp_path):
    from hub.infra.storage import get_storage

    token = make_token(make_user(username="ada"))
    headers = {"Authorization": f"Bearer {token}"}
    folder = write_program(tmp_path / "m")
    # Files sent, but the push stops before the commit: blobs only, no rows.
    staged = []
    for name in ("README.md", "graph.json"):
        response = client.post("/api/v1/models/ada/net/files", query_string={"path": name},
                               data=(folder / name).read_bytes(), headers=headers)
        assert response.status_code == 201
        staged.append(response.get_json())
    assert _counts(app) == [0, 0, 0, 0]
    with app.app_context():
        assert all(get_storage().exists(s["digest"]) for s in staged)
    # A commit naming those files without the weights fails whole.
    refused = client.post("/api/v1/models/ada/net/versions", headers=headers, json={
        "message": "m", "files": [{k: s[k] for k in ("path", "digest", "receipt")}
                                  for s in staged]})
    assert refused.status_code == 400
    assert _counts(app) == [0, 0, 0, 0]
    # A receipt must come from the same user: a digest alone does not let anyone claim a blob.
    forged = client.post("/api/v1/models/ada/net/versions", headers=headers, json={
        "message": "m", "files": [{"path": s["path"], "digest": s["digest"], "receipt": "0" * 64}
                                  for s in staged]})
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "bad_receipt"
    # A tag that already exists makes the whole commit fail after the checks: still nothing.
    assert api_push(client, token, "ada/net", folder, tag="v1").status_code == 201
    before = _counts(app)
    assert api_push(client, token, "ada/net", folder, "again", tag="v1").status_code == 409
    assert _counts(app) == before


@pytest.mark.parametrize("text,problem", [
    ("# no front matter\n", "must start with YAML front matter"),
    ("---\nlicense: [\n---\n", "not valid YAML"),
    ("---\n- a\n---\n", "YAML mapping"),
    (card_text().replace("license: mit\n", ""), "'license' is required"),
    (card_text().replace("dtype: float32}\n", "dtype: float99}\n", 1), "inputs[0].dtype"),
    (card_text(extra="metrics:\n  - {name: accuracy, value: high, dataset: digits, "
               "split: test}\n"), "metrics[0].value' must be a number"),
    (card_text(extra="metrics:\n  - {name: accuracy, value: 0.9}\n"),
     "metrics[0]' lacks: dataset, split"),
    (card_text(extra="base_model: not an address\n"), "'base_model' must be a model address"),
    (card_text().replace("shape: [null, 64]", "shape: [-3]"), "inputs[0].shape"),
])
def test_card_errors_are_clear(app, text, problem):
    with app.test_request_context():
        with pytest.raises(cards.CardError) as caught:
            cards.parse_card(text)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_a_valid_card_is_parsed(app):
    with app.test_request_context():
        card = cards.parse_card(card_text(accuracy=0.9, extra="language: [en, zh]\n"
                                          "base_model: ada/base\n"))
    assert card["license"] == "mit" and card["language"] == ["en", "zh"]
    assert card["metrics"] == [{"name": "accuracy", "value": 0.9, "dataset": "digits",
                                "split": "test"}]
    assert card["inputs"] == [{"name": "image", "shape": [None, 64], "dtype": "float32"}]
    assert card["base_model"] == "ada/base" and "Digits linear" in card["body"]


def test_card_markdown_is_sanitized(app):
    html = str(cards.render_markdown(
        "# Hi <script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=y>"))
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "<h1>Hi &lt;script&gt;" in html
    linked = str(cards.render_markdown("[x](javascript:alert(1)) [y](https://example.org)"))
    assert 'href="javascript' not in linked and 'href="https://example.org"' in linked


@pytest.mark.parametrize("path", ["../etc/passwd", "/abs.txt", "a/../../b.txt", "a b.txt",
                                  "a/b/c/d/e/f.txt", ".hidden"])
def test_bad_paths_are_refused(app, client, make_user, make_token, path):
    token = make_token(make_user(username="ada"))
    response = client.post("/api/v1/models/ada/net/files", query_string={"path": path},
                           data=b"text", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_path"
