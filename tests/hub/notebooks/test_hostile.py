"""Hostile notebooks are rendered without anything executable surviving."""

from __future__ import annotations

import io
import re

import pytest

from hub.notebooks import render, services
from tests.hub.notebooks.hostile import (
    EVIL_SVG,
    JS,
    MARKDOWN_ATTACKS,
    executable_parts,
    hostile_metadata_notebook,
    hostile_notebook,
    huge_output_notebook,
    to_bytes,
)


def test_the_checker_sees_the_payloads_nbconvert_leaves_in(app):
    """nbconvert alone keeps the attacks (so the checker below is not vacuous)."""
    with app.app_context():
        raw = render.render_in_sandbox(hostile_notebook())
    problems = executable_parts(raw)
    assert "<script>" in problems
    assert any("onerror" in p for p in problems)
    assert any("javascript:" in p.lower() for p in problems)
    clean = render.sanitize(raw)
    assert executable_parts(clean) == []


def test_sanitize_removes_every_kind_of_payload():
    html = render.sanitize(MARKDOWN_ATTACKS.replace("\n\n", "<br>") + EVIL_SVG)
    assert executable_parts(html) == []
    assert "<script" not in html and "onerror" not in html
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript""", html, re.IGNORECASE)
    # What is allowed stays: text, emphasis, tables, data: images, safe links.
    kept = render.sanitize('<p class="jp-x evil-class">hi <b>b</b></p><table><tr><td>1</td></tr>'
                           '</table><img src="data:image/png;base64,AAAA" onload="x()">'
                           '<a href="https://example.org/">ok</a><a href="#sec">anchor</a>')
    assert '<p class="jp-x">hi <b>b</b></p>' in kept
    assert '<img src="data:image/png;base64,AAAA">' in kept
    assert 'href="https://example.org/"' in kept and 'href="#sec"' in kept


def _frame_body(client, url_path: str) -> tuple[str, str]:
    page = client.get(url_path).get_data(as_text=True)
    src = re.search(r'src="(/notebooks/frame/\d+)"', page)
    assert src, page[:500]
    frame = client.get(src.group(1))
    assert frame.status_code == 200
    html = frame.get_data(as_text=True)
    body = html[html.index("<main>") + 6:html.rindex("</main>")]
    return body, frame.headers["Content-Security-Policy"]


def test_hostile_notebook_page_shows_nothing_executable(app, client, make_user, login):
    login(client, make_user(username="mallory"))
    response = client.post("/notebooks/new", data={
        "file": (io.BytesIO(to_bytes(hostile_notebook())), "evil.ipynb"), "title": "Evil",
        "public": "on"}, content_type="multipart/form-data")
    assert response.status_code == 302
    body, csp = _frame_body(client, "/notebooks/mallory/evil")
    assert executable_parts(body) == []
    assert not re.search(r"<\s*script", body, re.IGNORECASE)
    # javascript: survives only as inert text (a TeX \href KaTeX refuses), never in a link.
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript""", body, re.IGNORECASE)
    # JavaScript and widget outputs are replaced by a visible note.
    assert body.count("This output needs JavaScript and is not shown.") >= 3
    assert "IntSlider(value=3)" in body  # the widget's plain-text form stays
    # What is static is shown: HTML tables, bold text, errors as errors, SVG as an image.
    assert "ok table" in body and "&lt;IPython.core.display.HTML object&gt;" in body
    assert "ValueError" in body and "ansi-red-fg" in body
    assert 'src="data:image/svg+xml;base64,' in body
    # The frame's own policy: nothing but the vendored scripts and data: images.
    assert "default-src 'none'" in csp and "img-src data:" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert re.search(r"script-src [^;]*katex\.min\.js", csp)
    assert "connect-src 'none'" in csp and "form-action 'none'" in csp


def test_hostile_metadata_and_huge_outputs_render_safely(app):
    with app.app_context():
        meta_html = render.render_notebook(to_bytes(hostile_metadata_notebook()))
        huge_html = render.render_notebook(to_bytes(huge_output_notebook(4)))
    assert executable_parts(meta_html) == []
    assert "<script" not in meta_html.lower() and "onerror" not in meta_html.lower()
    assert "hello" in meta_html
    assert executable_parts(huge_html) == []
    assert "line 299" in huge_html and "<b>x</b>" not in huge_html
    assert "more characters are not shown" in huge_html
    assert len(huge_html) < 2 * 2**20  # 4 MiB of output, cut for display


@pytest.mark.parametrize("data", [
    b'{"cells": "<script>alert(1)</script>", "nbformat": 4, "nbformat_minor": 5,'
    b' "metadata": {}}',
    b'<html><script>alert(1)</script></html>',
    b'{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}, "<script>": 1}',
    ("{" * 100_000).encode(),
    b'{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {"x": ' + b"[" * 100_000
    + b"]" * 100_000 + b"}}",
])
def test_hostile_invalid_files_are_refused_with_a_clear_error(app, data):
    with app.app_context(), pytest.raises(services.NotebookError) as caught:
        services.validate_notebook(data)
    assert str(caught.value)
    assert JS not in str(caught.value)
