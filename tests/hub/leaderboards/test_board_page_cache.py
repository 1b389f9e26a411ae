"""The board page's cached pieces follow the board generation: a new result shows at once."""

from __future__ import annotations

from .conftest import submit_file


def _backend_menu(page: str) -> str:
    start = page.index('<select name="backend">')
    return page[start:page.index("</select>", start)]


def test_backend_menu_lists_a_new_results_backend_at_once(app, vendor, make_bundle, client):
    first = submit_file(app, vendor.user, vendor.system_id, make_bundle())
    page = client.get("/leaderboards/boards/gemm-128").get_data(as_text=True)
    assert first in page and "tinyblas" not in _backend_menu(page)
    assert client.get("/leaderboards/boards/gemm-128").get_data(as_text=True).count(first) \
        == page.count(first)  # served from the cache

    def other_backend(system, results, log):
        results["backend"]["name"] = "tinyblas"
        system["detected"]["backend"]["name"] = "tinyblas"

    second = submit_file(app, vendor.user, vendor.system_id, make_bundle(other_backend))
    page = client.get("/leaderboards/boards/gemm-128").get_data(as_text=True)
    assert second in page and '<option value="tinyblas"' in _backend_menu(page)
