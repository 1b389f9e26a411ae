"""fw.jit.save / fw.jit.load and dynamic sizes (InputSpec with None)."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework import nn
from framework.jit import GraphFormatError

from ._programs import train_step


def _cnn():
    fw.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_save_and_load_run_without_the_model_code(tmp_path):
    model = _cnn().eval()
    path = str(tmp_path / "cnn")
    fw.jit.save(model, path, [fw.jit.InputSpec([None, 1, 8, 8])])
    assert sorted(os.listdir(path)) == ["graph.json", "weights.safetensors"]
    loaded = fw.jit.load(path)
    for batch in (1, 2, 7):
        x = fw.randn(batch, 1, 8, 8)
        with fw.no_grad():
            want = model(x).numpy()
        np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-5, atol=1e-6)
    doc = json.load(open(os.path.join(path, "graph.json"), encoding="utf-8"))
    assert doc["schema"] == "skiff.jit.graph" and doc["version"] == 1
    assert any(v.get("name") == "0.weight" for v in doc["values"])  # parameter names kept
    assert any(n.get("scope") == "0" for n in doc["nodes"])  # layer names kept


def test_a_module_is_saved_in_evaluation_mode_and_keeps_its_modes(tmp_path):
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Linear(8, 2))
    with fw.no_grad():
        model(fw.randn(16, 4))  # some running statistics
    model[4].eval()  # mixed modes are restored as they were
    path = str(tmp_path / "m")
    fw.jit.save(model, path, [fw.jit.InputSpec([None, 4])])
    assert [m.training for m in model.modules()] == [True, True, True, True, True, False]
    doc = json.load(open(os.path.join(path, "graph.json"), encoding="utf-8"))
    assert not any(n["op"].startswith("random_") for n in doc["nodes"])  # no dropout
    loaded = fw.jit.load(path)
    x = fw.randn(5, 4)
    model.eval()
    with fw.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded(x).numpy(), loaded(x).numpy())


def test_batch_and_sequence_length_both_dynamic(tmp_path):
    """A (B, S, D) input folded to (B*S, D) has sizes that are products of two dynamic
    sizes: saved as formulas with a product term, and merged at run time too."""
    fw.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()
    spec = [fw.jit.InputSpec([None, None, 8])]
    path = str(tmp_path / "enc")
    fw.jit.save(layer, path, spec)
    assert '"$sym"' in open(os.path.join(path, "graph.json"), encoding="utf-8").read()
    graph = json.load(open(os.path.join(path, "graph.json"), encoding="utf-8"))
    products = [a["$sym"][3] for a in _walk(graph["nodes"] + graph["values"])
                if len(a["$sym"]) == 4]
    assert [[1, [0, 1]]] in products  # B*S
    loaded = fw.jit.load(path)
    static = fw.jit.to_static(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                         batch_first=True).eval(),
                              input_spec=spec)
    static.load_state_dict(layer.state_dict())
    rng = np.random.default_rng(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)
        for b, s in [(6, 6), (9, 11), (1, 2), (10, 11), (3, 4), (10, 5), (4, 10), (3, 5),
                     (8, 7), (1, 1), (2, 13)]:
            x = fw.tensor(rng.standard_normal((b, s, 8)), dtype=fw.float32)
            with fw.no_grad():
                want = layer(x).numpy()
                np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(static(x).numpy(), want, rtol=1e-4, atol=1e-5)
    # seven traces determine formulas with B*S; every later size replays without tracing
    assert static.forward.traces == 7


def test_a_dynamic_batch_program_follows_a_learning_rate_schedule():
    """The merged program checks the same guards as each trace (optimizer options, modes,
    gradients), not only the sizes."""
    spec = [fw.jit.InputSpec([None, 4]), fw.jit.InputSpec([None], "int64")]
    losses = []
    for static in (False, True):
        fw.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = fw.optim.SGD(model.parameters(), lr=0.1)
        sched = fw.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        step = train_step(model, opt)
        if static:
            step = fw.jit.to_static(step, input_spec=spec)
        rng = np.random.default_rng(0)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fw.jit.JitWarning)
            for i, b in enumerate((3, 5, 7, 9, 4, 6, 8, 10)):
                x = fw.tensor(rng.standard_normal((b, 4)), dtype=fw.float32)
                out.append(step(x, fw.tensor(rng.integers(0, 3, b))).item())
                if i >= 4:  # the schedule starts once the sizes have merged
                    sched.step()
        losses.append(out)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-6)


def test_three_dynamic_sizes_merge_within_the_trace_limit():
    """Batch, height and width dynamic: flattening needs H*W, a formula of ten unknowns;
    the trace limit grows with the None dims so that the traces can determine it."""
    fw.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten())
    static = fw.jit.to_static(model, input_spec=[fw.jit.InputSpec([None, 1, None, None])])
    rng = np.random.default_rng(0)
    with warnings.catch_warnings(), fw.no_grad():
        warnings.simplefilter("error", fw.jit.JitWarning)
        for _ in range(16):
            b, h, w = (int(v) for v in rng.integers(2, 9, 3))
            x = fw.randn(b, 1, h, w)
            np.testing.assert_allclose(static(x).numpy(), model(x).numpy(), atol=1e-6)
    assert static.forward.traces == 11
    assert any(type(e).__name__ == "PolyProgram"
               for entries in static.forward.cache.values() for e in entries)


def test_size_formulas_fit_products_and_refuse_what_they_cannot_tell():
    from framework.jit.ir import Sym, decode, encode
    from framework.jit.symbolic import NotEnoughTraces, NotPolymorphic, _fit_exact

    sizes = [(3, 5), (7, 5), (3, 9), (10, 12), (4, 4), (6, 11), (9, 3)]
    bs = _fit_exact([2 * b * s + b + 1 for b, s in sizes], sizes, "int")
    assert bs == Sym(1, (1, 0), "int", ((2, (0, 1)),)) and repr(bs) == "(S0 + 2*S0*S1 + 1)"
    assert bs.value((100, 7)) == 1501
    inv = _fit_exact([1.0 / (b * s * 8) for b, s in sizes], sizes, "inv")
    assert inv.value((2, 3)) == 1.0 / 48
    assert _fit_exact([b + 4 for b, _ in sizes[:4]], sizes[:4], "int") == Sym(4, (1, 0))
    with pytest.raises(NotEnoughTraces):  # products need seven traces of two sizes
        _fit_exact([b * s for b, s in sizes[:4]], sizes[:4], "int")
    with pytest.raises(NotPolymorphic, match="polynomial of degree 2"):
        _fit_exact([b * b * s for b, s in sizes], sizes, "int")
    assert decode(encode(bs), "x") == bs
    for bad in ([1, [1, 0], "int", [[2, [0, 2]]]], [1, [1, 0], "int", [[2, [0]]]],
                [1, [1, 0], "int", [["2", [0, 1]]]], [1, [1, 0], "int", {}]):
        with pytest.raises(GraphFormatError, match="unrecognized"):
            decode({"$sym": bad}, "x")


def _walk(obj):
    """Every size formula (``{"$sym": ...}``) in a part of graph.json."""
    if isinstance(obj, dict) and "$sym" in obj:
        yield obj
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _walk(o)
    elif isinstance(obj, list):
        for o in obj:
            yield from _walk(o)


def test_saving_does_not_change_the_model(tmp_path):
    model = _cnn()  # training mode: BatchNorm would update its statistics
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    fw.jit.save(model, str(tmp_path / "m"), [fw.jit.InputSpec([2, 1, 8, 8])])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


def test_loaded_program_checks_its_inputs(tmp_path):
    path = str(tmp_path / "lin")
    fw.jit.save(nn.Linear(4, 2), path, [fw.jit.InputSpec([None, 4])])
    loaded = fw.jit.load(path)
    with pytest.raises(ValueError, match="expects"):
        loaded(fw.ones(3, 5))
    with pytest.raises(ValueError, match="expects"):
        loaded(fw.ones(3, 4, dtype=fw.float64))
    with pytest.raises(TypeError, match="takes 1 tensors"):
        loaded(fw.ones(3, 4), fw.ones(3, 4))


def _saved(tmp_path):
    path = str(tmp_path / "mlp")
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    fw.jit.save(model, path, [fw.jit.InputSpec([None, 4])])
    return path


def _edit(path, change):
    gpath = os.path.join(path, "graph.json")
    doc = json.load(open(gpath, encoding="utf-8"))
    change(doc)
    with open(gpath, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["nodes"][0].__setitem__("op", "system"), "not a known primitive"),
    (lambda d: d["nodes"][0].__setitem__("op", "__import__"), "not a known primitive"),
    (lambda d: d.__setitem__("version", 99), "unsupported graph schema version"),
    (lambda d: d.__setitem__("schema", "other"), "not a Skiff graph"),
    (lambda d: d["nodes"][0]["args"].__setitem__(0, {"$ref": 999}), "before it is defined"),
    (lambda d: d["nodes"][0]["args"].__setitem__(0, {"$eval": "1+1"}), "unrecognized"),
    (lambda d: d["values"][0].__setitem__("dtype", "object"), "unsupported dtype"),
    (lambda d: d.pop("nodes"), "malformed"),
])
def test_tampered_graphs_are_refused(tmp_path, change, message):
    path = _saved(tmp_path)
    _edit(path, change)
    with pytest.raises(GraphFormatError, match=message):
        fw.jit.load(path)


def test_tampered_or_truncated_weights_are_refused(tmp_path):
    path = _saved(tmp_path)
    wpath = os.path.join(path, "weights.safetensors")
    data = open(wpath, "rb").read()
    with open(wpath, "wb") as fh:
        fh.write(data[: len(data) // 2])
    with pytest.raises(GraphFormatError, match="SHA-256"):
        fw.jit.load(path)
    # a program saved without the checksum still has its weights file checked
    _edit(path, lambda d: d.pop("weights_sha256"))
    with pytest.raises(GraphFormatError, match="not a valid safetensors file"):
        fw.jit.load(path)
    # one changed number in the data, or the weights of another save, are refused too
    path3 = _saved(tmp_path / "c")
    wpath3 = os.path.join(path3, "weights.safetensors")
    data = bytearray(open(wpath3, "rb").read())
    data[-2] ^= 0x40
    with open(wpath3, "wb") as fh:
        fh.write(bytes(data))
    with pytest.raises(GraphFormatError, match="changed or come from another save"):
        fw.jit.load(path3)
    path4 = str(tmp_path / "d")
    fw.manual_seed(1)
    fw.jit.save(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), path4,
                [fw.jit.InputSpec([None, 4])])
    with open(wpath3, "wb") as fh:
        fh.write(open(os.path.join(path4, "weights.safetensors"), "rb").read())
    with pytest.raises(GraphFormatError, match="SHA-256"):
        fw.jit.load(path3)
    path2 = _saved(tmp_path / "b")
    _edit(path2, lambda d: d["values"][1].__setitem__("shape", [8, 5]))
    with pytest.raises(GraphFormatError, match="expects"):
        fw.jit.load(path2)
    with pytest.raises(GraphFormatError, match="not valid JSON"):
        open(os.path.join(path2, "graph.json"), "w").write("{")
        fw.jit.load(path2)


def test_programs_with_python_callbacks_cannot_be_saved(tmp_path):
    @fw.jit.ignore
    def log(t):
        return None

    def fn(x):
        log(x)
        return x * 2.0

    with pytest.raises(ValueError, match="calls Python on every run"):
        fw.jit.save(fn, str(tmp_path / "f"), [fw.jit.InputSpec([2])])
    assert not os.path.exists(tmp_path / "f")


def test_dynamic_batch_training_step_stops_retracing():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    ref = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    ref.load_state_dict(model.state_dict())
    opt = fw.optim.SGD(model.parameters(), lr=0.1)
    ropt = fw.optim.SGD(ref.parameters(), lr=0.1)
    spec = [fw.jit.InputSpec([None, 8]), fw.jit.InputSpec([None], "int64")]

    step = fw.jit.to_static(train_step(model, opt), input_spec=spec)

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)
        for b in (4, 5, 6, 9, 13, 4, 21):
            x = fw.tensor(rng.standard_normal((b, 8)), dtype=fw.float32)
            y = fw.tensor(rng.integers(0, 4, b))
            got = step(x, y).item()
            want = F.cross_entropy(ref(x), y)
            want.backward()
            ropt.step()
            ropt.zero_grad()
            assert got == pytest.approx(want.item(), rel=1e-5)
    assert step.traces == 3  # three sizes traced, every later size reuses the same program


def test_a_loaded_program_serves_several_threads_at_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64), nn.Tanh(),
                          nn.Linear(64, 10))
    fw.jit.save(model, str(tmp_path / "m"), [fw.jit.InputSpec([None, 64])])
    program = fw.jit.load(str(tmp_path / "m"))
    rng = np.random.default_rng(0)
    batches = [fw.from_numpy(rng.standard_normal((32, 64)).astype(np.float32))
               for _ in range(8)]
    with fw.no_grad():
        expected = [model(b).numpy() for b in batches]
    program(batches[0])  # compiled for this size before the threads start

    def serve(i):
        return [program(batches[i % 8]).numpy() for _ in range(40)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(serve, range(8)))
    for i, outs in enumerate(results):
        for out in outs:  # every answer is its own batch's, never a mix of two requests
            np.testing.assert_allclose(out, expected[i % 8], rtol=1e-5, atol=1e-6)
