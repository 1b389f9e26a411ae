"""fw.onnx.export: onnxruntime gives the framework's outputs for an MLP, a CNN and a
transformer encoder; ops without a mapping are named."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
from framework import nn

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")


class EncoderBlock(nn.Module):
    """A pre-norm transformer encoder block with token embeddings."""

    def __init__(self, vocab: int = 20, dim: int = 16, heads: int = 2, hidden: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, tokens):
        x = self.embed(tokens)
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.ff(self.norm2(x))
        return fw.softmax(x.mean(dim=1), dim=-1)


def _roundtrip(tmp_path, model, example, others=(), dynamic_axes=None, rtol=1e-5, atol=1e-5):
    model.eval()
    path = str(tmp_path / "model.onnx")
    proto = fw.onnx.export(model, (example,), path, dynamic_axes=dynamic_axes)
    assert proto.opset_import[0].version >= 17
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for x in (example, *others):
        with fw.no_grad():
            want = model(x).numpy()
        (got,) = sess.run(None, {"input0": x.numpy()})
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return proto


def test_mlp_matches_onnxruntime_with_a_dynamic_batch(tmp_path):
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                          nn.Linear(16, 4), nn.Softmax(dim=-1))
    proto = _roundtrip(tmp_path, model, fw.randn(3, 8), [fw.randn(7, 8), fw.randn(1, 8)],
                       {"input0": [0]})
    ops = {n.op_type for n in proto.graph.node}
    assert {"MatMul", "Relu", "Softmax"} & ops or {"MatMul", "Max", "Softmax"} <= ops
    assert {i.name for i in proto.graph.initializer} >= {"0.weight", "0.bias"}


def test_cnn_matches_onnxruntime(tmp_path):
    fw.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(8, 3))
    model.train()
    model(fw.randn(4, 1, 10, 10))  # give BatchNorm non-trivial running statistics
    proto = _roundtrip(tmp_path, model, fw.randn(2, 1, 10, 10), [fw.randn(5, 1, 10, 10)],
                       {"input0": [0]})
    assert sum(n.op_type == "Conv" for n in proto.graph.node) == 2


def test_transformer_encoder_matches_onnxruntime(tmp_path):
    fw.manual_seed(0)
    model = EncoderBlock()
    tokens = fw.randint(0, 20, (2, 6))
    proto = _roundtrip(tmp_path, model, tokens, [fw.randint(0, 20, (5, 6))],
                       {"input0": [0]})
    ops = {n.op_type for n in proto.graph.node}
    assert "Gather" in ops and "LayerNormalization" in ops or "ReduceMean" in ops \
        or "ReduceSum" in ops


def test_batch_and_sequence_length_both_dynamic(tmp_path):
    """Reshapes with two dynamic sizes and the mean over the sequence read the sizes from
    the input's shape at run time."""
    fw.manual_seed(0)
    model = EncoderBlock()
    proto = _roundtrip(tmp_path, model, fw.randint(0, 20, (2, 6)),
                       [fw.randint(0, 20, (b, t)) for b, t in ((5, 3), (1, 9), (4, 1))],
                       {"input0": [0, 1]})
    ops = {n.op_type for n in proto.graph.node}
    assert {"Shape", "Concat"} <= ops


def test_grouped_dilated_and_depthwise_convolutions_become_conv(tmp_path):
    fw.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2, dilation=2, padding=1), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, groups=8, stride=2), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 2 * 2, 3))
    proto = _roundtrip(tmp_path, model, fw.randn(2, 4, 13, 13), [fw.randn(5, 4, 13, 13)],
                       {"input0": [0]})
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    assert [next(a.i for a in c.attribute if a.name == "group") for c in convs] == [2, 8]


def test_a_module_is_exported_in_evaluation_mode(tmp_path):
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.BatchNorm1d(8), nn.Linear(8, 2))
    with fw.no_grad():
        model(fw.randn(16, 4))
    path = str(tmp_path / "m.onnx")
    fw.onnx.export(model, (fw.randn(3, 4),), path, dynamic_axes={"input0": [0]})
    assert all(m.training for m in model.modules())  # modes restored
    x = fw.randn(6, 4)
    model.eval()
    with fw.no_grad():
        want = model(x).numpy()
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input0": x.numpy()})[0], want, rtol=1e-5,
                               atol=1e-6)


def test_an_op_without_mapping_is_named(tmp_path):
    class Flipper(nn.Module):
        def forward(self, x):
            return fw.flip(x, [1]) * 2.0

    with pytest.raises(fw.onnx.OnnxExportError, match="'flip'"):
        fw.onnx.export(Flipper(), (fw.randn(2, 3),), str(tmp_path / "f.onnx"))
    assert not (tmp_path / "f.onnx").exists()
