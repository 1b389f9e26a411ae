"""In Debian's chromium: a hostile notebook's page runs nothing in the hub's origin, while the
sandboxed frame still typesets math with the vendored KaTeX."""

from __future__ import annotations

import nbformat
import pytest
from playwright.sync_api import expect

from hub import db as hub_db
from hub.notebooks import services
from tests.hub.notebooks.hostile import hostile_metadata_notebook, hostile_notebook, to_bytes

pytestmark = pytest.mark.browser


def test_hostile_notebook_runs_nothing_in_the_hub(live_server, make_user, browser_page):
    app = live_server.app
    nb = hostile_notebook()
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("Euler: $e^{i\\pi} + 1 = 0$"))
    nb.metadata.update(hostile_metadata_notebook().metadata)
    with app.app_context():
        author = make_user(username="mallory")
        version = services.upload_notebook(author, to_bytes(nb), title="Totally harmless")
        hub_db.session().commit()
        assert version.render_state == "done"

    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_server.url + "/notebooks/mallory/totally-harmless")
    expect(page.get_by_role("heading", level=1)).to_have_text("Totally harmless")

    frame = page.frame_locator("iframe.notebook-frame")
    # The frame works: KaTeX (allowed by the frame's CSP) typeset the Markdown math.
    expect(frame.locator(".katex").first).to_be_visible()
    expect(frame.get_by_text("This output needs JavaScript and is not shown.").first) \
        .to_be_visible()
    expect(frame.get_by_text("ok table")).to_be_visible()
    page.wait_for_timeout(500)  # time for any onload/onerror handler that might have survived

    assert page.title() == "Totally harmless · Skiff"
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert dialogs == []
    inner = next(f for f in page.frames if "/notebooks/frame/" in f.url)
    assert inner.evaluate("typeof window.pwned") == "undefined"
    assert inner.evaluate("document.title") != "PWNED"
    # The frame has an opaque origin: it cannot reach the hub's page or its cookies.
    assert inner.evaluate("window.origin") == "null"
    assert inner.evaluate("""() => { try { return parent.document.title; }
                                     catch (e) { return 'blocked'; } }""") == "blocked"
    # The frame reported its height, so the page sized it (no inner scroll bar needed).
    height = page.eval_on_selector("iframe.notebook-frame", "f => f.getBoundingClientRect().height")
    assert height > 200
