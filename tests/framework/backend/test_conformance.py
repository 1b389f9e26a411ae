"""The conformance suite passes correct backends and fails a broken one."""

import json

import numpy as np
import pytest

from framework import backend as fb
from framework.backend import Backend, conformance
from framework.backend.numpy_backend import NumpyBackend


class BrokenBackend(Backend):
    """Takes the reference for everything but gets three primitives wrong."""

    version = "broken"

    @staticmethod
    def exp(x):  # 0.1 % off: far outside the transcendental tolerance
        return np.exp(x) * 1.001

    @staticmethod
    def sum(x, axis=None, keepdims=False, dtype=None):  # always float64: wrong dtype
        return np.sum(x, axis=axis, keepdims=keepdims, dtype=np.float64)

    @staticmethod
    def reshape(x, shape):  # never raises, even for impossible shapes
        try:
            return np.reshape(x, shape)
        except ValueError:
            return x


for _name, _attr in vars(NumpyBackend).items():
    if not _name.startswith("_") and _name not in vars(BrokenBackend) and _name not in (
            "name", "version", "ndarray"):
        setattr(BrokenBackend, _name, _attr)


@pytest.fixture(autouse=True)
def _registered():
    fb.register("broken-test", BrokenBackend)


def test_reference_backend_passes_quick_conformance(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert conformance.main(["numpy", "--quick", "--no-training", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "-> PASS" in table and "matmul" in table
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["backend"] == "numpy"
    names = {r["primitive"] for r in report["primitives"]}
    assert names == set(fb.primitives.PRIMITIVES)
    assert all(r["status"] == "pass" for r in report["primitives"])


@pytest.mark.parametrize("threads", [1, 2])
def test_numexpr_plug_in_passes_quick_conformance(threads, monkeypatch):
    import skiff_backend_numexpr as sbn

    monkeypatch.setattr(sbn.threads, "fixed", threads)  # both code paths, whatever the load
    report = conformance.run_conformance("numexpr", quick=True, training=False)
    failed = [(r.primitive, r.message) for r in report.primitives if r.status != "pass"]
    assert failed == []
    assert report.ok and report.fallbacks == {}


def test_broken_backend_fails_and_exit_status_is_nonzero(tmp_path, capsys):
    out = tmp_path / "broken.json"
    code = conformance.main(["broken-test", "--quick", "--no-training", "--json", str(out),
                             "--primitive", "exp", "--primitive", "sum",
                             "--primitive", "reshape", "--primitive", "add"])
    assert code == 1
    table = capsys.readouterr().out
    assert "-> FAIL" in table
    rows = {r["primitive"]: r for r in json.loads(out.read_text())["primitives"]}
    assert rows["exp"]["status"] == "fail" and "tolerance" in rows["exp"]["message"]
    assert rows["sum"]["status"] == "fail" and "dtype" in rows["sum"]["message"]
    assert rows["reshape"]["status"] == "fail" and "reference raises" in rows["reshape"]["message"]
    assert rows["add"]["status"] == "pass"
    assert rows["exp"]["max_abs_error"] is None or rows["exp"]["max_abs_error"] > 0


def test_special_values_are_compared_strictly():
    ok, *_ = conformance._compare("exp", np.array([np.nan, np.inf]), np.array([np.nan, np.inf]),
                                  True)
    assert ok
    ok, _, _, msg = conformance._compare("exp", np.array([1.0, np.inf]),
                                         np.array([np.nan, np.inf]), True)
    assert not ok and "NaN" in msg
    ok, _, _, msg = conformance._compare("exp", np.array([-np.inf]), np.array([np.inf]), True)
    assert not ok and "inf" in msg


def test_unknown_backend_and_primitive_are_clear_errors(capsys):
    assert conformance.main(["no-such-backend", "--no-training"]) == 2
    assert "unknown backend" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        conformance.main(["numpy", "--primitive", "frobnicate"])


def test_loss_curves_match_on_numexpr_and_on_a_foreign_array_backend():
    import warnings

    from tests.framework.backend.test_backends import BoxBackend

    fb.register("boxed-train", BoxBackend)
    for name in ("numexpr", "boxed-train"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fb.FallbackWarning)
            results = conformance.check_training(name, steps=3)
        assert [(r.model, r.status) for r in results] == [("mlp", "pass"), ("cnn", "pass")], \
            [r.message for r in results]
        assert results[0].backend_losses[0] > results[0].backend_losses[-1]  # it learns
    assert fb.fallback_report()["boxed-train"]["matmul"] > 0  # it really ran via fallback
