"""fw.save / fw.load: safetensors files holding tensors plus JSON structure; damaged files
are refused with a clear error before anything large is allocated."""

import io
import json
import os
import struct

import numpy as np
import pytest
import safetensors.numpy as st

import framework as fw
from framework import optim


def _same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, fw.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_round_trip_of_nested_structure(tmp_path):
    obj = {
        "model": {"fc.weight": fw.randn(3, 4), "fc.bias": fw.zeros(3, dtype=fw.float64)},
        "step": 12,
        "lr": 0.125,
        "name": "run-1",
        "flags": [True, False, None],
        "betas": (0.9, 0.999),
        "best": float("inf"),
        "worst": float("-inf"),
        "nan": float("nan"),
        "by_index": {0: {"exp_avg": fw.ones(2)}, 7: {"step": 3}},
        "mixed": [fw.tensor([1, 2, 3]), fw.tensor(True), fw.tensor(2.5, dtype=fw.float16)],
        "scalar": fw.tensor(4.0),
        "empty": fw.zeros(0, 5),
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "np_number": np.float32(1.5),
    }
    path = tmp_path / "ckpt.safetensors"
    fw.save(obj, path)
    back = fw.load(path)
    obj["np_number"] = 1.5  # NumPy scalars come back as Python numbers
    _same(obj, back)
    assert not [p for p in os.listdir(tmp_path) if p != "ckpt.safetensors"]


def test_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    sd = {"fc1.weight": fw.randn(4, 3), "fc1.bias": fw.randn(4)}
    path = tmp_path / "w.safetensors"
    fw.save(sd, path)
    raw = st.load_file(str(path))
    assert sorted(raw) == ["fc1.bias", "fc1.weight"]
    np.testing.assert_array_equal(raw["fc1.weight"], sd["fc1.weight"].numpy())
    # files written by other tools (no Skiff structure) load as a flat dict of tensors
    other = tmp_path / "other.safetensors"
    st.save_file({"a": np.ones((2, 2), np.float32)}, str(other))
    back = fw.load(other)
    assert list(back) == ["a"] and isinstance(back["a"], fw.Tensor)


def test_loaded_tensors_are_writable_and_independent(tmp_path):
    t = fw.ones(3)
    fw.save({"t": t}, tmp_path / "a.safetensors")
    back = fw.load(tmp_path / "a.safetensors")["t"]
    back.add_(1)
    assert t.tolist() == [1, 1, 1] and back.tolist() == [2, 2, 2]


def test_file_objects_and_bytes():
    buf = io.BytesIO()
    fw.save({"x": fw.arange(4), "k": [1, "two"]}, buf)
    blob = buf.getvalue()
    for src in (io.BytesIO(blob), blob):
        back = fw.load(src)
        assert back["x"].tolist() == [0, 1, 2, 3] and back["k"] == [1, "two"]


def test_optimizer_state_round_trips_through_a_file(tmp_path):
    def make():
        w = fw.tensor([1.0, -2.0, 3.0], requires_grad=True)
        return w, optim.Adam([w], lr=0.1, amsgrad=True)

    def step(w, opt):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()

    w1, o1 = make()
    for _ in range(3):
        step(w1, o1)
    fw.save({"w": w1.detach(), "optim": o1.state_dict()}, tmp_path / "c.safetensors")
    ck = fw.load(tmp_path / "c.safetensors")
    w2, o2 = make()
    with fw.no_grad():
        w2.copy_(ck["w"])
    o2.load_state_dict(ck["optim"])
    assert o2.param_groups[0]["betas"] == (0.9, 0.999)
    for _ in range(2):
        step(w1, o1)
        step(w2, o2)
    np.testing.assert_array_equal(w1.detach().numpy(), w2.detach().numpy())


def test_scheduler_state_round_trips(tmp_path):
    w = fw.zeros(1, requires_grad=True)
    o = optim.SGD([w], lr=1.0)
    s = optim.lr_scheduler.ReduceLROnPlateau(o, patience=0)
    s.step(1.0)
    fw.save(s.state_dict(), tmp_path / "s.safetensors")
    sd = fw.load(tmp_path / "s.safetensors")
    assert sd["best"] == 1.0 and sd["mode_worse"] == float("inf")


@pytest.mark.parametrize("obj,match", [
    ({"f": lambda: 0}, "can't store a function at f"),
    ({(1, 2): fw.ones(1)}, "dict keys must be strings or integers"),
    ({"a": [object()]}, "can't store a object at a.0"),
    ({"a": np.array(["x"])}, "can't store the <U1 array"),
])
def test_unstorable_objects_are_refused_and_nothing_is_written(tmp_path, obj, match):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=match):
        fw.save(obj, path)
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.safetensors"
    fw.save({"a": fw.ones(2)}, path)
    with pytest.raises(TypeError):
        fw.save({"a": fw.ones(2), "b": set()}, path)
    assert fw.load(path)["a"].tolist() == [1, 1]
    assert os.listdir(tmp_path) == ["keep.safetensors"]


# ----- damaged files ---------------------------------------------------------------------------

def _good_bytes():
    buf = io.BytesIO()
    fw.save({"w": fw.ones(4, 4), "n": 3}, buf)
    return buf.getvalue()


def _with_header(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


DAMAGED = {
    "empty": (b"", "truncated: 0 bytes"),
    "short length": (b"\x01\x02\x03", "truncated: 3 bytes"),
    "huge header length": (struct.pack("<Q", 2 ** 62) + b"{}", "beyond the limit"),
    "header beyond file": (struct.pack("<Q", 5000) + b"{}", "header claims 5000 bytes"),
    "not json": (struct.pack("<Q", 4) + b"{{{{", "not valid JSON"),
    "not an object": (_with_header([1, 2]), "not a JSON object"),
    "missing offsets": (_with_header({"w": {"dtype": "F32", "shape": [1]}}),
                        "lacks dtype, shape or data_offsets"),
    "unknown dtype": (_with_header({"w": {"dtype": "Q99", "shape": [1],
                                          "data_offsets": [0, 4]}}, b"\0" * 4),
                      "unknown dtype"),
    "negative shape": (_with_header({"w": {"dtype": "F32", "shape": [-1],
                                           "data_offsets": [0, 4]}}, b"\0" * 4), "bad shape"),
    "offsets past data": (_with_header({"w": {"dtype": "F32", "shape": [1000000000],
                                              "data_offsets": [0, 4000000000]}}, b"\0" * 8),
                          "outside the 8 bytes"),
    "size mismatch": (_with_header({"w": {"dtype": "F32", "shape": [3],
                                          "data_offsets": [0, 8]}}, b"\0" * 8),
                      "does not match its 8 bytes"),
    "bad metadata": (_with_header({"__metadata__": {"a": 1}}), "must map strings"),
    "bad structure": (_with_header({"__metadata__": {"skiff.structure": "{oops"}}),
                      "structure is not valid JSON"),
    "structure names missing tensor": (
        _with_header({"__metadata__": {"skiff.structure": '{"T":"tensor","k":"zz"}'}}),
        "missing tensor 'zz'"),
    "unknown node": (_with_header({"__metadata__": {"skiff.structure": '{"T":"pickle"}'}}),
                     "unknown node kind 'pickle'"),
    "deep structure": (_with_header({"__metadata__": {
        "skiff.structure": '{"T":"list","v":[' * 5000 + "]}" * 5000}}), "nested too deeply"),
}


@pytest.mark.parametrize("name", list(DAMAGED))
def test_damaged_files_raise_a_clear_error(tmp_path, name):
    blob, match = DAMAGED[name]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(fw.SkiffLoadError, match=match):
        fw.load(path)
    with pytest.raises(ValueError, match=match):  # SkiffLoadError is a ValueError
        fw.load(blob)


def test_truncated_real_file_is_refused_at_every_cut(tmp_path):
    blob = _good_bytes()
    assert fw.load(blob)["n"] == 3
    path = tmp_path / "cut.safetensors"
    for cut in range(0, len(blob), 7):
        path.write_bytes(blob[:cut])
        with pytest.raises(fw.SkiffLoadError):
            fw.load(path)


def test_missing_file_says_which():
    with pytest.raises(FileNotFoundError, match="no-such.safetensors"):
        fw.load("/nonexistent/no-such.safetensors")


def _schedulers(o):
    S = optim.lr_scheduler
    return {
        "step": S.StepLR(o, 3),
        "multistep": S.MultiStepLR(o, [2, 4]),
        "cosine": S.CosineAnnealingLR(o, T_max=7),
        "onecycle": S.OneCycleLR(o, max_lr=0.5, total_steps=20),
        "lambda": S.LambdaLR(o, lambda e: 0.9 ** e),
        "sequential": S.SequentialLR(o, [S.LinearLR(o, total_iters=2),
                                         S.ExponentialLR(o, 0.9)], [2]),
    }


@pytest.mark.parametrize("name", ["step", "multistep", "cosine", "onecycle", "lambda",
                                  "sequential"])
def test_every_schedule_state_survives_save_and_load(tmp_path, name):
    def fresh():
        o = optim.SGD([fw.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
        return o, _schedulers(o)[name]

    o1, s1 = fresh()
    for _ in range(5):
        o1.step()
        s1.step()
    fw.save({"sched": s1.state_dict(), "optim": o1.state_dict()}, tmp_path / "s.st")
    ck = fw.load(tmp_path / "s.st")
    o2, s2 = fresh()
    s2.load_state_dict(ck["sched"])
    o2.load_state_dict(ck["optim"])
    for _ in range(4):
        o1.step()
        s1.step()
        o2.step()
        s2.step()
        assert o2.param_groups[0]["lr"] == o1.param_groups[0]["lr"]
        assert o2.param_groups[0]["momentum"] == o1.param_groups[0]["momentum"]


def test_a_bare_tensor_or_list_at_the_top(tmp_path):
    t = fw.randn(2, 3, requires_grad=True)
    fw.save(t, tmp_path / "t.st")
    back = fw.load(tmp_path / "t.st")
    assert isinstance(back, fw.Tensor) and not back.requires_grad
    np.testing.assert_array_equal(back.numpy(), t.detach().numpy())
    fw.save([t.detach(), {"k": t.detach()}], tmp_path / "l.st")
    a, b = fw.load(tmp_path / "l.st")
    np.testing.assert_array_equal(a.numpy(), b["k"].numpy())
