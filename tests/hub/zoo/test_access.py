"""Private models stay invisible to others through the pages and the API (404, never 403)."""

from __future__ import annotations

import pytest

from .conftest import api_push, write_program


@pytest.fixture
def private_model(app, client, make_user, make_token, tmp_path):
    owner = make_user(username="ada")
    response = api_push(client, make_token(owner), "ada/secret", write_program(tmp_path / "m"),
                        public=False)
    assert response.status_code == 201
    return owner


PAGES = ["/models/ada/secret", "/models/ada/secret?version=1",
         "/models/ada/secret/resolve/1/weights.safetensors",
         "/models/ada/secret/resolve/1/README.md"]
API = ["/api/v1/models/ada/secret", "/api/v1/models/ada/secret/versions",
       "/api/v1/models/ada/secret/versions/1",
       "/api/v1/models/ada/secret/versions/latest/files/weights.safetensors"]


def test_anonymous_and_other_users_get_404(app, client, make_user, make_token, login,
                                           private_model, tmp_path):
    for url in PAGES + API:
        assert client.get(url).status_code == 404, url
    eve = make_user(username="eve")
    token = make_token(eve)
    for url in API:
        assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    login(client, eve)
    for url in PAGES:
        assert client.get(url).status_code == 404, url
    for url in ("/models/ada/secret/like", "/models/ada/secret/comments",
                "/models/ada/secret/delete", "/models/ada/secret/tags",
                "/models/ada/secret/revalidate"):
        assert client.post(url, data={"body": "hi", "tag": "x", "version": "1"}
                           ).status_code == 404, url
    assert client.get("/models/ada/secret/upload").status_code == 404
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/models/ada/secret", headers=headers).status_code == 404
    assert client.post("/api/v1/models/ada/secret/tags", headers=headers,
                       json={"tag": "x", "version": 1}).status_code == 404
    pushed = api_push(client, token, "ada/secret", write_program(tmp_path / "e"), "mine")
    assert pushed.status_code == 404
    assert "ada/secret" not in client.get("/models").get_data(as_text=True)
    assert client.get("/api/v1/models", headers=headers).get_json()["total"] == 0
    assert client.get("/search?q=secret").get_data(as_text=True).count("ada/secret") == 0


def test_the_owner_and_admins_see_a_private_model(app, client, make_user, make_token, login,
                                                  private_model):
    login(client, private_model)
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    token = make_token(private_model)
    for url in API:
        assert client.get(url, headers={"Authorization": f"Bearer {token}"}
                          ).status_code == 200, url
    listing = client.get("/api/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert [m["full_name"] for m in listing.get_json()["items"]] == ["ada/secret"]
    admin = make_user(role="admin", username="root")
    login(client, admin)
    assert client.get("/models/ada/secret").status_code == 200


def test_a_read_token_cannot_push(app, client, make_user, make_token, tmp_path):
    ada = make_user(username="ada")
    response = api_push(client, make_token(ada, "read"), "ada/net", write_program(tmp_path / "m"))
    assert response.status_code == 403
    assert api_push(client, "skf_not-a-token", "ada/net", write_program(tmp_path / "m")
                    ).status_code == 401
