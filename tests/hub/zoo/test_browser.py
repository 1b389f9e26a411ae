"""A person finds a model, opens it, and sees its card, files, validation and verified metric."""

from __future__ import annotations

import pytest

from .conftest import api_push, write_program

pytestmark = pytest.mark.browser


def test_search_open_and_read_a_model(live_server, browser_page, make_user, make_token,
                                      tmp_path, accuracy):
    client = live_server.app.test_client()
    token = make_token(make_user(username="ada"))
    assert api_push(client, token, "ada/digits-linear",
                    write_program(tmp_path / "m", accuracy=accuracy)).status_code == 201
    other = write_program(tmp_path / "o", task="physics", tags=("heat",))
    assert api_push(client, token, "ada/heat-pinn", other).status_code == 201

    page = browser_page
    page.goto(live_server.url + "/models")
    page.get_by_placeholder("Search models").fill("digits-linear")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/models?q=digits-linear**")
    assert page.get_by_text("ada/heat-pinn").count() == 0
    page.get_by_role("link", name="ada/digits-linear").click()
    page.wait_for_url("**/models/ada/digits-linear")

    card = page.get_by_test_id("model-card")
    assert card.get_by_role("heading", name="Digits linear").is_visible()
    assert card.locator("table td", has_text="test").is_visible()  # the Markdown table
    files = page.get_by_test_id("model-files")
    for name in ("README.md", "graph.json", "weights.safetensors"):
        assert files.get_by_role("link", name=name).is_visible()
    assert "passed" in page.get_by_test_id("validation-status").inner_text()
    pct = f"{accuracy * 100:.1f}%"
    assert page.get_by_test_id("metric-check").inner_text().strip() == (
        f"verified: {pct} (claimed {pct})")
    assert page.get_by_test_id("verified-badge").is_visible()
    assert page.get_by_test_id("model-graph").is_visible()
