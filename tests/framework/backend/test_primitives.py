"""The documented primitive set matches what the reference implements and the ops use."""

import re
from pathlib import Path

import numpy as np
import pytest

from framework.backend import primitives
from framework.backend.conformance import cases_for
from framework.backend.numpy_backend import NumpyBackend

ROOT = Path(__file__).resolve().parents[3]
META = {"name", "version", "ndarray", "device"}


def _reference_attributes() -> set[str]:
    return {n for n in vars(NumpyBackend) if not n.startswith("_") and n not in META}


def test_every_reference_primitive_is_documented_and_vice_versa():
    documented = set(primitives.PRIMITIVES)
    assert _reference_attributes() - documented == set(), "undocumented primitives"
    assert documented - _reference_attributes() == set(), "documented but not in the reference"


def test_every_primitive_the_framework_calls_is_documented():
    used = set()
    pattern = re.compile(r"\b_?bk\.([a-z][a-z0-9_]*)\b")
    for path in (ROOT / "framework").rglob("*.py"):
        if "backend" in path.parts or "bench" in path.parts:
            continue
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    used -= META
    assert used, "the scan found no backend calls at all"
    assert used - set(primitives.PRIMITIVES) == set()


def test_docs_table_is_in_sync(tmp_path):
    doc = ROOT / "docs" / "backends.md"
    copy = tmp_path / "backends.md"
    copy.write_text(doc.read_text(encoding="utf-8"), encoding="utf-8")
    assert primitives.sync_docs(str(copy)) is False, (
        "docs/backends.md is stale: run python -m framework.backend --sync-docs docs/backends.md")
    assert "| `matmul` |" in doc.read_text(encoding="utf-8")


def test_sync_docs_rewrites_a_stale_table(tmp_path):
    f = tmp_path / "doc.md"
    f.write_text(f"intro\n{primitives.DOC_BEGIN}\nold\n{primitives.DOC_END}\noutro\n")
    assert primitives.sync_docs(str(f)) is True
    text = f.read_text()
    assert "old" not in text and "| `exp` |" in text and text.endswith("outro\n")
    with pytest.raises(ValueError, match="marker"):
        (tmp_path / "bare.md").write_text("no markers")
        primitives.sync_docs(str(tmp_path / "bare.md"))


def test_every_primitive_has_conformance_cases():
    missing = [p for p in primitives.PRIMITIVES if not cases_for(p, quick=True)]
    assert missing == []


def test_tolerances():
    assert primitives.tolerance("matmul", np.float32) == (1e-4, 1e-4)
    assert primitives.tolerance("exp", np.float64) == primitives.TOLERANCES["transcendental"]["f8"]
    assert primitives.tolerance("add", np.int64) == (0.0, 0.0)
    groups = {p.group for p in primitives.PRIMITIVES.values()}
    assert groups <= set(primitives.GROUPS)
    assert set(primitives.OPTIONAL) >= {"softmax", "layer_norm", "im2col", "conv2d", "attention"}
    assert "matmul" in primitives.REQUIRED


def test_docs_tolerance_table_matches_the_code():
    text = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    for cls, per_dtype in primitives.TOLERANCES.items():
        line = next(x for x in text.splitlines() if x.startswith(f"| {cls} |"))
        cells = [c.strip() for c in line.strip("|").split("|")][2:]
        documented = [tuple(float(v) for v in c.split(",")) for c in cells]
        assert documented == [per_dtype[k] for k in ("f2", "f4", "f8")], cls
