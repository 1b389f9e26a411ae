"""Plug-in backends: registration, selection, fallback to the reference, moving tensors."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import framework as fw
from framework import backend as fb
from framework.backend import Backend, FallbackWarning


class _Flags:
    writeable = True


class Boxed:
    """A native array that is not a NumPy array (like a device buffer)."""

    base = None  # owns its memory (the framework reads .base and .flags to track views)
    flags = _Flags()

    def __init__(self, a):
        self.a = np.asarray(a)

    def __int__(self):
        return int(self.a)

    def __float__(self):
        return float(self.a)

    def __bool__(self):
        return bool(self.a)

    def __index__(self):
        return self.a.__index__()

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)


class BoxBackend(Backend):
    """Implements only transfer, setitem and add; everything else falls back."""

    version = "test"
    ndarray = Boxed

    def from_numpy(self, a):
        return Boxed(np.array(a, copy=True))

    def to_numpy(self, x):
        return x.a

    def asarray(self, obj, dtype=None):
        return Boxed(np.asarray(obj.a if isinstance(obj, Boxed) else obj, dtype=dtype))

    def setitem(self, x, index, value):
        # index arrays (integer or bool, as in getitem) are this backend's arrays too
        unbox = lambda i: i.a if isinstance(i, Boxed) else i  # noqa: E731
        index = tuple(map(unbox, index)) if isinstance(index, tuple) else unbox(index)
        x.a[index] = unbox(value)

    def add(self, x, y, out=None, **kw):
        r = np.add(x.a if isinstance(x, Boxed) else x, y.a if isinstance(y, Boxed) else y, **kw)
        if out is not None:
            out.a[...] = r
            return out
        return Boxed(r)


@pytest.fixture
def boxed():
    fb.register("boxed", BoxBackend)
    fb.reset_fallback_report()
    yield fb.get("boxed")
    fb.reset_fallback_report()


def test_missing_primitive_falls_back_with_one_warning_and_is_counted(boxed):
    a, b = boxed.from_numpy(np.array([1.0, 2.0])), boxed.from_numpy(np.array([3.0, 4.0]))
    with pytest.warns(FallbackWarning, match="'boxed' has no 'multiply'"):
        r = boxed.multiply(a, b)
    assert isinstance(r, Boxed) and r.a.tolist() == [3.0, 8.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call must not warn again
        boxed.multiply(a, b)
    assert boxed.add(a, b).a.tolist() == [4.0, 6.0]  # implemented: no fallback
    assert fb.fallback_report() == {"boxed": {"multiply": 2}}
    assert "multiply" in boxed.missing_primitives()
    assert "add" in boxed.implemented_primitives()


def test_fallback_writes_in_place_results_back(boxed):
    x = boxed.from_numpy(np.zeros(4))
    with pytest.warns(FallbackWarning):
        boxed.add_at(x, np.array([0, 0, 3]), 1.5)
    assert x.a.tolist() == [3.0, 0.0, 0.0, 1.5]
    out = boxed.from_numpy(np.zeros(2))
    with pytest.warns(FallbackWarning):
        res = boxed.multiply(boxed.from_numpy(np.array([2.0, 3.0])), 2.0, out=out)
    assert res is out and out.a.tolist() == [4.0, 6.0]
    with pytest.warns(FallbackWarning):
        parts = boxed.nonzero(boxed.from_numpy(np.array([0, 5, 0, 7])))
    assert isinstance(parts, tuple) and parts[0].a.tolist() == [1, 3]
    with pytest.warns(FallbackWarning):
        cat = boxed.concatenate([boxed.from_numpy(np.ones(2)), boxed.from_numpy(np.zeros(1))])
    assert cat.a.tolist() == [1.0, 1.0, 0.0]


def test_unknown_attribute_is_an_attribute_error(boxed):
    with pytest.raises(AttributeError, match="no attribute 'not_a_primitive'"):
        boxed.not_a_primitive  # noqa: B018


def test_tensors_on_a_plug_in_with_fallbacks_and_gradients(boxed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        with fb.use("boxed"):
            x = fw.tensor([1.0, -2.0, 3.0], requires_grad=True)
            assert x.device == "boxed" and isinstance(x.data, Boxed)
            y = (x * x + x).sum()
        y.backward()
    assert x.grad.tolist() == [3.0, -3.0, 7.0]
    assert fb.fallback_report()["boxed"]["multiply"] >= 1


def test_tensor_to_moves_between_backends_and_gradients_flow_back():
    x = fw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to("numexpr")
    assert y.device == "numexpr" and x.device == "numpy"
    z = (y * y).sum()
    assert z.device == "numexpr"
    z.backward()
    assert x.grad.device == "numpy"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    assert x.to("numpy") is x  # already there: no copy
    back = y.detach().to("numpy")
    assert back.device == "numpy" and back.tolist() == [1.0, 2.0, 3.0]


def test_ops_across_backends_are_refused():
    a = fw.ones(2)
    b = fw.ones(2).to("numexpr")
    with pytest.raises(RuntimeError, match="different backends"):
        a + b


def test_register_get_and_unknown_names():
    class Mine(Backend):
        pass

    fb.register("mine-test", Mine)
    assert "mine-test" in fb.available()
    inst = fb.get("mine-test")
    assert inst.name == "mine-test" and fb.get("mine-test") is inst
    with pytest.raises(ValueError, match="unknown backend 'nope'.*numpy"):
        fb.get("nope")
    with pytest.raises(ValueError):
        fb.register("", Mine)


def test_installed_plug_in_registers_through_its_entry_point():
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="framework.backends")}
    assert eps.get("numexpr") == "skiff_backend_numexpr:NumexprBackend"
    bk = fb.get("numexpr")
    assert type(bk).__name__ == "NumexprBackend" and bk.name == "numexpr"
    assert bk.missing_primitives() == []  # the template binds every primitive explicitly


def test_use_scope_and_set_backend_restore():
    assert fw.get_backend().name == "numpy"
    with fb.use("numexpr") as bk:
        assert bk.name == "numexpr" and fw.zeros(2).device == "numexpr"
        with fb.use("numpy"):
            assert fw.zeros(2).device == "numpy"
        assert fw.zeros(2).device == "numexpr"
    assert fw.get_backend().name == "numpy"
    with pytest.raises(KeyError), fb.use("numexpr"):
        raise KeyError("boom")
    assert fw.get_backend().name == "numpy"
    try:
        assert fw.set_backend("numexpr").name == "numexpr"
        assert fw.ones(1).device == "numexpr"
    finally:
        fw.set_backend("numpy")


def test_skiff_backend_environment_variable_selects_the_backend():
    env = {**os.environ, "SKIFF_BACKEND": "numexpr"}
    code = "import framework as fw; print(fw.get_backend().name, fw.ones(2).device)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.split() == ["numexpr", "numexpr"]
    env["SKIFF_BACKEND"] = "no-such-chip"
    bad = subprocess.run([sys.executable, "-c", "import framework"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "unknown backend 'no-such-chip'" in bad.stderr


def test_numexpr_thread_policy_follows_load_and_environment(monkeypatch):
    import skiff_backend_numexpr as sbn

    policy = sbn._Threads()
    monkeypatch.setattr(sbn.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert policy() == sbn.CORES  # an idle machine: every core
    monkeypatch.setattr(sbn.os, "getloadavg", lambda: (sbn.CORES + 4.0, 1.0, 1.0))
    assert policy() == sbn.CORES  # re-read at most once a second
    policy.checked = 0.0
    assert policy() == 1  # a busy machine: no oversubscription
    monkeypatch.setenv("SKIFF_NUMEXPR_THREADS", "3")
    assert sbn._Threads()() == 3


def test_numexpr_threaded_paths_match_the_reference_exactly(monkeypatch):
    import skiff_backend_numexpr as sbn
    from skiff_backend_numexpr import MIN_PARALLEL_ELEMENTS, NumexprBackend

    monkeypatch.setattr(sbn.threads, "fixed", 2)  # exercise the threaded paths on any machine
    bk = NumexprBackend()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, MIN_PARALLEL_ELEMENTS // 256), np.float32)
    row = rng.standard_normal(x.shape[1:], np.float32)
    np.testing.assert_array_equal(bk.tanh(x), np.tanh(x))
    np.testing.assert_array_equal(bk.add(x, row), x + row)
    np.testing.assert_array_equal(bk.maximum(x, 0.0), np.maximum(x, 0.0))
    acc = x.copy()
    assert bk.add(acc, x, out=acc) is acc
    np.testing.assert_array_equal(acc, x + x)
    assert bk.multiply(x, 2.5).dtype == np.float32
    np.testing.assert_allclose(bk.layer_norm(x, row, row), fb.get("numpy").layer_norm(x, row, row),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bk.softmax(x), fb.get("numpy").softmax(x), rtol=1e-5, atol=1e-7)
    big = rng.standard_normal((256, 256), np.float32)
    np.testing.assert_allclose(bk.matmul(big, big), big @ big, rtol=1e-5, atol=1e-4)
    monkeypatch.setattr(sbn.threads, "fixed", 1)  # one core: the BLAS limit path
    np.testing.assert_array_equal(bk.matmul(big, big), bk.matmul(big, big))
    np.testing.assert_allclose(bk.matmul(big, big), big @ big, rtol=1e-5, atol=1e-4)


def test_instance_attribute_wrappers_like_the_jit_installs_them(boxed):
    """The jit shadows primitives with instance attributes and removes them afterwards."""
    calls = []
    saved = {}
    inst = boxed.__dict__
    for name in ("add", "multiply"):
        if name in inst:
            saved[name] = inst[name]
        orig = getattr(boxed, name)  # a fallback for multiply, the method for add

        def recorded(*a, _o=orig, _n=name, **k):
            calls.append(_n)
            return _o(*a, **k)

        object.__setattr__(boxed, name, recorded)
    a = boxed.from_numpy(np.array([2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        assert boxed.multiply(boxed.add(a, a), a).a.tolist() == [8.0]
        assert calls == ["add", "multiply"]
        for name in ("add", "multiply"):
            inst.pop(name, None)
        inst.update(saved)
        assert boxed.multiply(a, a).a.tolist() == [4.0]  # the fallback comes back
    assert calls == ["add", "multiply"]
    assert fb.fallback_report()["boxed"]["multiply"] == 2
