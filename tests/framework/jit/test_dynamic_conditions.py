"""Python conditions on dynamic sizes (``if x.shape[0] > 10:``) in a static function with
``None`` dims: the program fitted for all sizes replays only for sizes whose conditions
answer as they did in the traces; other sizes are traced on their own, so no size ever
replays the other branch."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import framework as fw
from framework import nn


def _rows(n, width=3):
    return fw.from_numpy(np.arange(n * width, dtype=np.float32).reshape(n, width))


def _same_as_eager(static, fn, sizes):
    for n in sizes:
        x = _rows(n)
        np.testing.assert_allclose(static(x).numpy(), fn(x).numpy(), rtol=1e-6)


def _spec():
    return [fw.jit.InputSpec((None, 3))]


def branchy(x):
    if x.shape[0] > 10:
        return x * 2.0
    return x * 3.0


def test_a_branch_on_the_batch_size_is_checked_for_every_new_size():
    static = fw.jit.to_static(branchy, input_spec=_spec())
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)
        _same_as_eager(static, branchy, [16, 20, 24])  # three traces: one program for all
        assert static.traces == 3
        _same_as_eager(static, branchy, [32, 64, 11])  # the same branch: no new trace
        assert static.traces == 3
        _same_as_eager(static, branchy, [4, 2, 10])  # the other branch: traced, never replayed
        assert static.traces == 6
        _same_as_eager(static, branchy, [48, 4, 2])
        assert static.traces == 6


def clipped(x):
    k = min(x.shape[0], 8)  # a plain int on one side, the size on the other
    head = x[:k].sum()
    if x.size(0) * 2 - 1 == 5:  # arithmetic on the size, then a comparison
        head = head * 0.0
    return head + float(k)


def test_min_sizes_and_arithmetic_on_sizes_are_checked():
    static = fw.jit.to_static(clipped, input_spec=_spec())
    _same_as_eager(static, clipped, [16, 20, 24, 40, 9])
    assert static.traces == 3
    _same_as_eager(static, clipped, [5, 2, 3, 8, 30])  # 5, 2, 3, 8 answer otherwise
    assert static.traces == 7


class Halves(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 4)

    def forward(self, x):
        h = self.lin(x)
        if h.shape[0] - 9:  # the size of a computed tensor, tested for truth
            return h.sum(0)
        return h.sum(0) * 2.0


def test_sizes_of_computed_tensors_are_tracked_too():
    fw.manual_seed(0)
    model = Halves()
    static = fw.jit.to_static(model, input_spec=_spec())
    with fw.no_grad():
        _same_as_eager(static, model.forward, [8, 10, 12, 14, 9, 7, 16])
    assert static.forward.traces == 4  # 9 is traced on its own


def counted(x):
    if len(x) > 10:  # len() hands Python a plain int: not something a program can check
        return x * 2.0
    return x * 3.0


def test_len_of_a_tensor_keeps_each_size_traced_with_a_warning():
    static = fw.jit.to_static(counted, input_spec=_spec())
    with pytest.warns(fw.jit.JitWarning, match=r"len\(x\).*use x.shape\[0\]"):
        _same_as_eager(static, counted, [16, 20, 24, 4, 32])
    assert static.traces == 5


def test_conditions_inside_skiff_do_not_stop_one_program_for_all_sizes():
    fw.manual_seed(0)
    block = nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 8), nn.GELU())
    attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(x):
        h = block(x)
        return attn(h, h, h, need_weights=False)[0].sum()

    static = fw.jit.to_static(forward, input_spec=[fw.jit.InputSpec((None, 5, 8))])
    rng = np.random.default_rng(0)
    with fw.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)
        for n in (2, 3, 4, 6, 7):
            x = fw.from_numpy(rng.standard_normal((n, 5, 8)).astype(np.float32))
            np.testing.assert_allclose(static(x).item(), forward(x).item(), rtol=1e-4)
    assert static.traces == 3


def big(x):
    if math.prod(x.shape) > 60:  # a product of sizes, compared
        return x.sum() * 0.0
    return x.sum()


def test_a_condition_on_a_product_of_sizes_is_checked():
    static = fw.jit.to_static(big, input_spec=_spec())
    _same_as_eager(static, big, [30, 40, 50, 60, 10, 20])
    assert static.traces == 5  # 10 and 20 (30 and 60 elements) are traced on their own


def test_traces_of_both_branches_still_give_one_program_for_the_latest_branch():
    static = fw.jit.to_static(branchy, input_spec=_spec())
    _same_as_eager(static, branchy, [4, 16, 20, 24])  # 4 takes the other branch
    assert static.traces == 4
    _same_as_eager(static, branchy, [32, 48, 64, 6])  # the big sizes share one program
    assert static.traces == 5


class Capped(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        h = self.lin(x)
        if x.shape[0] > 100:  # never true at the sizes save() traces
            return h * 0.0
        return h


def test_a_saved_program_refuses_sizes_that_take_another_branch(tmp_path):
    fw.manual_seed(0)
    model = Capped()
    path = str(tmp_path / "capped")
    fw.jit.save(model, path, [fw.jit.InputSpec((None, 3))])
    doc = json.loads((tmp_path / "capped" / "graph.json").read_text())
    assert doc["version"] == 2 and doc["size_checks"][0][0] == ">"
    loaded = fw.jit.load(path)
    with fw.no_grad():
        for n in (1, 5, 100):
            x = _rows(n)
            np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"branches on its input sizes.*128 > 100 is True"):
        loaded(_rows(128))


def test_saving_code_whose_branch_changes_between_traced_sizes_says_why(tmp_path):
    def step_size(x):
        return x * (2.0 if x.shape[0] > 8 else 1.0)

    with pytest.raises(ValueError, match=r"cannot save.*Python condition on a size"):
        fw.jit.save(step_size, str(tmp_path / "p"), [fw.jit.InputSpec((None, 3))])


def test_tampered_size_checks_are_refused(tmp_path):
    path = tmp_path / "capped"
    fw.jit.save(Capped(), str(path), [fw.jit.InputSpec((None, 3))])
    graph = path / "graph.json"
    doc = json.loads(graph.read_text())
    for bad in ([["__import__", 1, 2, True]], [[">", {"$sym": [0, [1, 1], "int"]}, 100, False]],
                [[">", "100", 100, False]], "x"):
        doc["size_checks"] = bad
        graph.write_text(json.dumps(doc))
        with pytest.raises(fw.jit.GraphFormatError, match="size_checks"):
            fw.jit.load(str(path))


def test_onnx_export_refuses_a_branch_on_a_dynamic_axis(tmp_path):
    pytest.importorskip("onnx")
    model = Capped()
    with pytest.raises(fw.onnx.OnnxExportError, match=r"branches on a dynamic size.*> 100"):
        fw.onnx.export(model, (fw.ones((4, 3)),), str(tmp_path / "m.onnx"),
                       dynamic_axes={"input0": [0]})
    fw.onnx.export(model, (fw.ones((4, 3)),), str(tmp_path / "fixed.onnx"))  # fixed sizes: fine


def many(x):
    if x.numel() >= 90:
        return x.mean()
    return x.sum()


def test_a_condition_on_numel_is_checked():
    static = fw.jit.to_static(many, input_spec=_spec())
    _same_as_eager(static, many, [30, 40, 50, 60, 10, 29])
    assert static.traces == 5


def total_and_count(x):
    return x.sum(), x.shape[0], {"rows": x.shape[0] * 2, "kind": "rows"}


def test_a_returned_size_is_the_size_of_each_call():
    static = fw.jit.to_static(total_and_count, input_spec=_spec())
    for n in (4, 5, 6, 7, 9, 30):
        total, count, info = static(_rows(n))
        assert total.item() == total_and_count(_rows(n))[0].item()
        assert count == n and type(count) is int
        assert info == {"rows": 2 * n, "kind": "rows"} and type(info["rows"]) is int
    assert static.traces == 3


def test_saving_a_function_that_returns_a_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="returns a Python number that changes with the size"):
        fw.jit.save(total_and_count, str(tmp_path / "p"), [fw.jit.InputSpec((None, 3))])
