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
