"""The generated program function: same results as the graph says, nothing from the graph
in its source text."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
from framework.jit.executor import Executable, UnknownOpError
from framework.jit.ir import Graph, Node, Ref


def _graph(kwargs: dict, op: str = "sum") -> Graph:
    g = Graph()
    x = g.new_value((3, 4), "float32", kind="input")
    g.inputs.append(x)
    out = g.new_value((4,), "float32")
    g.nodes.append(Node(op, (Ref(x),), kwargs, [out]))
    g.outputs.append(out)
    return g


def test_generated_program_computes_the_graph():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    exe = Executable(_graph({"axis": 0}), fw.get_backend())
    (out,) = exe.run([x], [])
    np.testing.assert_array_equal(out, x.sum(axis=0))


def test_graph_text_never_reaches_the_generated_source():
    # keyword names and constants come from the (possibly tampered) file: they are passed as
    # objects, never written into code, so this runs no Python and fails as a bad argument
    evil = "axis=0) or __import__('os').system('touch /tmp/skiff-pwned') or (0"
    exe = Executable(_graph({evil: 1}), fw.get_backend())
    with pytest.raises(TypeError):
        exe.run([np.ones((3, 4), np.float32)], [])
    src = exe._planned.source
    assert "axis" not in src and "import" not in src and "sum" not in src


def test_unknown_ops_are_refused_when_the_program_is_built():
    exe = Executable(_graph({}, op="system"), fw.get_backend())
    with pytest.raises(UnknownOpError, match="system"):
        exe.run([np.ones((3, 4), np.float32)], [])


def test_values_are_dropped_after_their_last_read():
    @fw.jit.to_static
    def f(x):
        a = fw.exp(x)
        b = a * 2.0
        return (b + 1.0).sum()

    x = fw.randn(5, 5)
    f(x)
    np.testing.assert_allclose(f(x).item(), float((np.exp(x.numpy()) * 2 + 1).sum()),
                               rtol=1e-5)
    src = f.last_program.exe._planned.source
    assert "del v" in src


def _saved(tmp_path):
    import os

    path = str(tmp_path / "mlp")
    fw.manual_seed(0)
    model = fw.nn.Sequential(fw.nn.Linear(4, 8), fw.nn.ReLU(), fw.nn.Linear(8, 2))
    fw.jit.save(model, path, [fw.jit.InputSpec([None, 4])])
    return path, os.path.join(path, "graph.json")


def test_a_tampered_program_cannot_inject_code_through_names(tmp_path):
    import json
    import os

    path, gpath = _saved(tmp_path)
    doc = json.load(open(gpath, encoding="utf-8"))
    marker = tmp_path / "pwned"
    doc["nodes"][0]["kwargs"] = {f"x=0) or open({str(marker)!r}, 'w') or (0": 1}
    with open(gpath, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    loaded = fw.jit.load(path)
    with pytest.raises(TypeError):
        loaded(fw.ones(3, 4))
    assert not os.path.exists(marker)


def test_a_tampered_program_naming_jit_kernels_runs_only_checked_kernels(tmp_path):
    import json

    path, gpath = _saved(tmp_path)
    doc = json.load(open(gpath, encoding="utf-8"))
    node = doc["nodes"][0]
    node["op"] = "softmax_xent"
    node["extra"] = {"ignore_index": -100, "rows": 10 ** 12, "classes": 3}
    node["args"] = node["args"][:1] + node["args"][:1]
    with open(gpath, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    loaded = fw.jit.load(path)
    with pytest.raises(ValueError, match="softmax_xent"):
        loaded(fw.ones(3, 4))
