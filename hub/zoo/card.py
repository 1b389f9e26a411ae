"""The model card: ``README.md`` with YAML front matter, validated on upload.

Example::

    ---
    license: mit
    task: image-classification
    tags: [digits, mlp]
    datasets: [digits]
    metrics:
      - {name: accuracy, value: 0.978, dataset: digits, split: test}
    framework_version: "0.1.0"
    inputs:
      - {name: image, shape: [null, 64], dtype: float32}
    outputs:
      - {name: logits, shape: [null, 10], dtype: float32}
    language: en
    base_model: ada/digits-mlp
    ---
    # Digits MLP
    ...

``license``, ``task``, ``inputs`` and ``outputs`` are required. A ``null`` in a shape is a
dimension of any size (the validation uses 2 there). An input may give ``range: [low, high]``
for the integer values a sample holds (token ids: ``[0, vocab_size]``). Text inputs are
rendered as sanitized Markdown by :func:`render_markdown`.
"""

from __future__ import annotations

import re
from typing import Any

import nh3
import yaml
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.front_matter import front_matter_plugin

#: Tensor element types a card may name.
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "bool")
#: Datasets whose metrics the validation job re-measures: name -> aliases.
KNOWN_DATASETS = {
    "digits": ("digits", "uci-digits", "skiff/digits"),
    "shakespeare": ("shakespeare", "tinyshakespeare", "tiny-shakespeare", "char-corpus"),
}
#: Metrics that can be re-measured on each known dataset.
VERIFIABLE_METRICS = {
    "digits": ("accuracy",),
    "shakespeare": ("accuracy", "loss", "cross_entropy", "perplexity"),
}
MAX_CARD_BYTES = 256 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_MODEL_REF = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


class CardError(ValueError):
    """The card is not valid; ``problems`` lists each reason for people."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def known_dataset(name: str) -> str | None:
    """The hub's name for a dataset it can re-measure metrics on, or None."""
    lowered = (name or "").strip().lower()
    for key, aliases in KNOWN_DATASETS.items():
        if lowered in aliases:
            return key
    return None


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML text or None, Markdown body) of a README."""
    match = _FRONT.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end():]


def _strings(value: Any, field: str, problems: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(_("'%(field)s' must be a list of words", field=field))
        return []
    return [v.strip() for v in value]


def _tensor_specs(value: Any, field: str, problems: list[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        problems.append(_("'%(field)s' must be a non-empty list of {name, shape, dtype}",
                          field=field))
        return []
    specs = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            problems.append(_("'%(field)s' must be a mapping with name, shape and dtype",
                              field=where))
            continue
        name, shape, dtype = item.get("name"), item.get("shape"), item.get("dtype")
        ok = True
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(_("'%(field)s.name' must be a short name", field=where))
            ok = False
        if (not isinstance(shape, list) or len(shape) > 8 or not all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 1 << 20)
                for d in shape)):
            problems.append(_("'%(field)s.shape' must be a list of positive sizes or null",
                              field=where))
            ok = False
        if dtype not in DTYPES:
            problems.append(_("'%(field)s.dtype' must be one of: %(dtypes)s", field=where,
                              dtypes=", ".join(DTYPES)))
            ok = False
        spec = {"name": name, "shape": shape, "dtype": dtype}
        if "range" in item:
            rng = item["range"]
            if (not isinstance(rng, list) or len(rng) != 2
                    or not all(isinstance(r, int) and not isinstance(r, bool) for r in rng)
                    or rng[0] >= rng[1]):
                problems.append(_("'%(field)s.range' must be [low, high] with low < high",
                                  field=where))
                ok = False
            else:
                spec["range"] = rng
        if ok:
            specs.append(spec)
    return specs


def _metrics(value: Any, problems: list[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        problems.append(_("'metrics' must be a list of {name, value, dataset, split}"))
        return []
    metrics = []
    for i, item in enumerate(value):
        where = f"metrics[{i}]"
        if not isinstance(item, dict):
            problems.append(_("'%(field)s' must be a mapping with name, value, dataset and "
                              "split", field=where))
            continue
        missing = [k for k in ("name", "value", "dataset", "split") if k not in item]
        if missing:
            problems.append(_("'%(field)s' lacks: %(keys)s", field=where,
                              keys=", ".join(missing)))
            continue
        number = item["value"]
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            problems.append(_("'%(field)s.value' must be a number", field=where))
            continue
        if not all(isinstance(item[k], str) and item[k].strip()
                   for k in ("name", "dataset", "split")):
            problems.append(_("'%(field)s' name, dataset and split must be words", field=where))
            continue
        metrics.append({"name": item["name"].strip().lower(), "value": float(number),
                        "dataset": item["dataset"].strip(), "split": item["split"].strip()})
    return metrics


def parse_card(text: str) -> dict[str, Any]:
    """Validate a README's front matter; return the card's fields plus ``body`` (Markdown).

    Raises :class:`CardError` listing every problem.
    """
    yaml_text, body = split_front_matter(text)
    if yaml_text is None:
        raise CardError([_("README.md must start with YAML front matter between '---' lines "
                           "(license, task, inputs, outputs, …)")])
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise CardError([_("The front matter is not valid YAML%(where)s", where=where)]) from None
    if not isinstance(data, dict):
        raise CardError([_("The front matter must be a YAML mapping of fields")])
    problems: list[str] = []
    card: dict[str, Any] = {}
    for field in ("license", "task"):
        value = data.get(field)
        if not isinstance(value, str) or not _NAME.match(value.strip()):
            problems.append(_("'%(field)s' is required: a short name such as %(example)s",
                              field=field,
                              example="mit" if field == "license" else "image-classification"))
        else:
            card[field] = value.strip().lower()
    card["tags"] = [t.lower() for t in _strings(data.get("tags", []), "tags", problems)][:20]
    for tag in card["tags"]:
        if not _NAME.match(tag):
            problems.append(_("The tag '%(tag)s' must be a short word", tag=tag[:40]))
    card["datasets"] = _strings(data.get("datasets", []), "datasets", problems)
    card["metrics"] = _metrics(data.get("metrics", []), problems)
    version = data.get("framework_version", "")
    if not isinstance(version, (str, int, float)) or isinstance(version, bool):
        problems.append(_("'framework_version' must be a version such as \"0.1.0\""))
    else:
        card["framework_version"] = str(version)
    card["inputs"] = _tensor_specs(data.get("inputs"), "inputs", problems)
    card["outputs"] = _tensor_specs(data.get("outputs"), "outputs", problems)
    language = data.get("language", [])
    card["language"] = _strings(language, "language", problems) if language else []
    base = data.get("base_model")
    if base is not None:
        if not isinstance(base, str) or not _MODEL_REF.match(base.strip()):
            problems.append(_("'base_model' must be a model address: owner/name"))
        else:
            card["base_model"] = base.strip()
    for field in ("title", "summary"):
        if isinstance(data.get(field), str):
            card[field] = data[field].strip()[:300]
    if problems:
        raise CardError(problems)
    card["body"] = body
    return card


_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").use(
    front_matter_plugin)


def render_markdown(text: str) -> Markup:
    """Markdown (front matter left out) as sanitized HTML: raw HTML in the source is escaped
    by the parser, then nh3 keeps only safe tags, attributes and URL schemes. Only the nh3
    output is marked safe for templates."""
    html = _md.render(text or "")
    return Markup(nh3.clean(html, link_rel="nofollow noopener noreferrer",
                            url_schemes={"http", "https", "mailto"}))


def stored_html(readme: str) -> str:
    """The sanitized HTML kept with a version (``ModelVersion.readme_html``): rendered once when
    the version is published, so a model's page never renders its card again."""
    return str(render_markdown(readme)) if readme else ""


def summary_of(card: dict[str, Any]) -> str:
    """A one-line description: the card's ``summary``, else the body's first paragraph."""
    if card.get("summary"):
        return card["summary"][:300]
    for block in (card.get("body") or "").split("\n\n"):
        line = " ".join(block.split())
        if line and not line.startswith(("#", "```", "|", "<", "!", "-", "*")):
            return line[:300]
    return ""
