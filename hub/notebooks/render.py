"""Rendering notebooks to safe HTML.

Three steps, because a notebook is untrusted input from end to end:

1. :func:`prepare_for_display` (in the hub, on the parsed notebook): outputs that need
   JavaScript to show (widgets, ``application/javascript``, HTML carrying scripts) lose those
   parts and get a visible note instead; SVG images become ``<img>`` data URLs, where no
   script in them can ever run; widget state in the metadata is dropped.
2. nbconvert's ``HTMLExporter`` (lab template) runs **inside the sandbox**
   (:func:`render_in_sandbox`), so a notebook crafted to make Markdown parsing or syntax
   highlighting slow or memory-hungry only ever stops its own render.
3. :func:`sanitize` (in the hub) cleans the cells' HTML with nh3 against an allow-list: no
   script, style, iframe, object, embed, form or SVG element, no event handler or style
   attribute, links only to ``http``/``https``/``mailto``/fragments, images only from
   ``data:image/…`` URLs, class names only from the families nbconvert, Pygments and ANSI
   colours use.

The result is cached by the notebook's SHA-256 (:class:`~hub.notebooks.models.NotebookRender`)
and shown by ``notebooks.frame`` inside an ``<iframe sandbox>`` under its own strict CSP.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

import nbconvert
import nbformat
import nh3
from sqlalchemy import select

from hub import db
from hub.notebooks.models import NotebookRender

#: Changes whenever the rendering or sanitizing rules change, so cached HTML is redone.
RENDERER = f"nbconvert-{nbconvert.__version__}/skiff-1"
#: The HTML of the note that replaces outputs which need JavaScript; the frame view swaps it
#: for the reader's language.
NEEDS_JS_NOTE = ('<div class="skiff-needs-js">This output needs JavaScript and is not shown.'
                 '</div>')
MAX_HTML_BYTES = 64 * 1024 * 1024
#: Longer text outputs (streams, errors, plain text) are cut to this many characters for
#: display; the downloaded notebook keeps them whole.
MAX_OUTPUT_CHARS = 100_000

#: Output types shown as they are (after sanitizing).
STATIC_MIMETYPES = ("text/plain", "text/markdown", "text/latex", "image/png", "image/jpeg",
                    "image/gif", "image/webp", "image/svg+xml", "text/html")
_SCRIPTED_HTML = re.compile(
    r"<\s*(script|iframe|object|embed|applet|form|base|meta|link)\b|\bon[a-z]+\s*=|"
    r"javascript\s*:|require\s*\(|<\s*svg\b", re.IGNORECASE)


# --- 1. before rendering ---------------------------------------------------------------------


def prepare_for_display(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Replace what cannot be shown without running code by a visible note (in place)."""
    metadata = nb.get("metadata", {})
    metadata.pop("widgets", None)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = _cut("".join(output.get("text", "")))
            if output.get("output_type") == "error":
                lines = output.get("traceback", [])[:200]
                output["traceback"] = [_cut(str(line)) for line in lines]
            if output.get("output_type") not in ("display_data", "execute_result"):
                outputs.append(output)
                continue
            data = dict(output.get("data", {}))
            needs_js = False
            for mimetype in list(data):
                value = data[mimetype]
                text = "".join(value) if isinstance(value, list) else value
                if mimetype not in STATIC_MIMETYPES:
                    del data[mimetype]
                    needs_js = True
                elif mimetype == "text/html" and _SCRIPTED_HTML.search(str(text)):
                    del data[mimetype]
                    needs_js = True
                elif mimetype == "image/svg+xml":
                    del data[mimetype]
                    encoded = base64.b64encode(str(text).encode("utf-8")).decode("ascii")
                    data["text/html"] = (f'<img class="skiff-svg" alt="" '
                                         f'src="data:image/svg+xml;base64,{encoded}">')
            if needs_js:
                note = {"output_type": "display_data", "metadata": {},
                        "data": {"text/html": NEEDS_JS_NOTE}}
                outputs.append(nbformat.from_dict(note))
                if not data:
                    continue
            if isinstance(data.get("text/plain"), str | list):
                data["text/plain"] = _cut("".join(data["text/plain"]))
            output["data"] = data
            outputs.append(output)
        cell["outputs"] = outputs
    return nb


def _cut(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return (text[:MAX_OUTPUT_CHARS] +
            f"\n… [{len(text) - MAX_OUTPUT_CHARS} more characters are not shown]\n")


# --- 2. nbconvert, inside the sandbox --------------------------------------------------------

_RENDER_SCRIPT = """
import json, re, sys
import nbformat
from nbconvert import HTMLExporter

nb = nbformat.read("notebook.ipynb", as_version=4)
exporter = HTMLExporter(template_name="lab", exclude_anchor_links=False)
body, _ = exporter.from_notebook_node(nb)
start = body.find("<main>")
end = body.rfind("</main>")
if start < 0 or end < 0:
    sys.exit("nbconvert's output has no <main> element")
with open("body.html", "w", encoding="utf-8") as fh:
    fh.write(body[start + len("<main>"):end])
"""


class RenderError(RuntimeError):
    """The notebook could not be rendered; ``str(error)`` says why, for people."""


def render_in_sandbox(nb: nbformat.NotebookNode, *, wall_seconds: float = 120) -> str:
    """nbconvert's HTML of the notebook's cells (not yet sanitized), made in the sandbox."""
    from hub.infra.sandbox import (
        Limits,
        SandboxUnavailable,
        new_job_dir,
        read_job_file,
        remove_job_dir,
        run_python,
    )

    job_dir = new_job_dir()
    try:
        nbformat.write(nb, str(job_dir / "notebook.ipynb"))
        try:
            result = run_python(_RENDER_SCRIPT, job_dir, limits=Limits(
                memory_bytes=2048 * 2**20, cpu_seconds=int(wall_seconds),
                wall_seconds=wall_seconds, processes=16,
                file_size_bytes=MAX_HTML_BYTES, job_dir_bytes=2 * MAX_HTML_BYTES))
        except SandboxUnavailable as err:
            raise RenderError(f"The sandbox is not available on this hub: {err}") from None
        if result.timed_out:
            raise RenderError("Rendering took too long and was stopped.")
        if not result.ok:
            last = (result.stderr_text.strip().splitlines() or ["no message"])[-1][:300]
            raise RenderError(f"Rendering failed: {last}")
        try:
            return read_job_file(job_dir, "body.html", max_bytes=MAX_HTML_BYTES).decode("utf-8")
        except Exception as err:
            raise RenderError(f"Rendering produced no usable HTML: {err}") from None
    finally:
        remove_job_dir(job_dir)


# --- 3. sanitizing ---------------------------------------------------------------------------

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "ol", "p", "pre", "q",
    "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul", "var",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"},
    "ol": {"start", "type"},
}
# Class names that nbconvert's lab template, Pygments, ANSI colours and Skiff use.
_CLASS = re.compile(
    r"^(jp-[A-Za-z0-9_-]+|lm-[A-Za-z0-9_-]+|cm-[A-Za-z0-9_-]+|ansi-[a-z0-9-]+|hl-[a-z0-9_+-]+|"
    r"highlight|anchor-link|dataframe|skiff-[a-z0-9-]+|[a-z]{1,3}[0-9]?|hll|err|math|"
    r"output_[a-z_]+|rendered_html)$")
_IMAGE_DATA_URL = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$")
_LINK = re.compile(r"^(https?://|mailto:|#)", re.IGNORECASE)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [name for name in value.split() if _CLASS.match(name)]
        return " ".join(kept) or None
    if tag == "img" and attribute == "src":
        return value if _IMAGE_DATA_URL.match(value) else None
    if tag == "a" and attribute == "href":
        return value if _LINK.match(value.strip()) else None
    if attribute == "id":
        # Anchors for headings; never names that shadow the frame script's globals.
        return value[:200] if not value.lower().startswith(("katex", "render")) else None
    return value


def sanitize(html: str) -> str:
    """Clean rendered notebook HTML with nh3 (see the module docstring for the rules)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "template", "textarea", "title", "noscript",
                            "iframe", "object", "embed", "svg", "math", "select", "button"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        generic_attribute_prefixes=set(),
    )


def render_notebook(data: bytes) -> str:
    """Sanitized HTML of the cells of ``.ipynb`` bytes (prepared, rendered in the sandbox,
    sanitized); :class:`RenderError` if that fails."""
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    prepare_for_display(nb)
    return sanitize(render_in_sandbox(nb))


# --- the cache -------------------------------------------------------------------------------


def cached_render(digest: str) -> NotebookRender | None:
    """The cached render of the notebook bytes with SHA-256 ``digest``, if it is current."""
    render = db.session().scalar(select(NotebookRender).where(NotebookRender.digest == digest))
    if render is None or render.renderer != RENDERER:
        return None
    return render


def store_render(digest: str, html: str) -> NotebookRender:
    """Store sanitized HTML as a blob and remember it for ``digest`` (the caller commits)."""
    from hub.infra.storage import get_storage

    html_digest = get_storage().put(html.encode("utf-8"))
    session = db.session()
    render = session.get(NotebookRender, digest)
    if render is None:
        render = NotebookRender(digest=digest, renderer=RENDERER, html_digest=html_digest)
        session.add(render)
    else:
        render.renderer, render.html_digest = RENDERER, html_digest
    return render


# --- the frame's stylesheet ------------------------------------------------------------------

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_FRAME_CSS_EXTRA = """
body { margin: 0; padding: 8px 12px; background: #fff; }
.jp-Notebook { padding: 0; }
.skiff-needs-js { border: 1px dashed #b26b00; background: #fff8e6; color: #6b4100;
  padding: 6px 10px; margin: 4px 0; font-family: sans-serif; font-size: 13px; }
img.skiff-svg { max-width: 100%; }
.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output
  pre .ansi-red-fg { color: #b00020; }
"""


@lru_cache(maxsize=1)
def frame_css() -> str:
    """The stylesheet of rendered notebooks: nbconvert's lab template styles (JupyterLab's
    light theme and the syntax-highlighting colours), taken from the template's own output for
    an empty notebook, with comments (and the URLs in them) removed."""
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.v4.new_notebook())
    css = "\n".join(_STYLE_BLOCK.findall(page))
    css = _CSS_COMMENT.sub("", css)
    # Only data: URLs may remain (the frame's CSP allows nothing else anyway).
    css = re.sub(r"url\(\s*['\"]?(?!data:)[^)]*\)", "none", css)
    return css + _FRAME_CSS_EXTRA

