"""Helpers shared by the jit tests: the usual training step, trace without optimizing,
optimize with and without one pass, and run a graph on a plug-in backend that has no
primitives of its own."""

from __future__ import annotations

import warnings

import numpy as np

import framework as fw
from framework.backend import Backend
from framework.bench.static import _train_step as train_step  # noqa: F401 - shared step
from framework.jit import passes
from framework.jit.executor import Executable


class Plain(Backend):
    """A plug-in with no primitives of its own: every call runs on the reference."""

    name = "jit-test-plain"


def traced(fn, *args):
    """Trace ``fn`` without optimization: (program, input arrays, state arrays)."""
    static = fw.jit.to_static(fn, passes=False)
    static(*args)
    prog = static.last_program
    assert prog is not None, static.fallbacks
    flat = [a for a in args if isinstance(a, fw.Tensor)]
    inputs = [flat[i].data for i in prog.input_pos]
    state = [t.data if attr == "data" else t.grad.data for t, attr in prog.state_bind]
    return prog, inputs, state


def with_and_without(pass_name: str, fn, *args):
    """``fn`` traced and optimized without and with the pass ``pass_name``:
    (plain graph, optimized graph, the pass's statistics, input arrays, state arrays)."""
    prog, inputs, state = traced(fn, *args)
    plain, fused = prog.raw_graph.copy(), prog.raw_graph.copy()
    passes.optimize(plain, skip=(pass_name,))
    stats = dict(passes.optimize(fused))
    return plain, fused, stats[pass_name], inputs, state


def assert_plain_backend_matches(plain, fused, inputs, state) -> None:
    """The optimized graph on :class:`Plain` gives exactly the plain graph's results on the
    reference backend."""
    want = Executable(plain, fw.get_backend()).run(inputs, state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = Executable(fused, Plain()).run(inputs, state)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.asarray(a), b)
