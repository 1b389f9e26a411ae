"""fw.jit.to_static: traced programs give eager's results, guards re-trace, fallbacks warn."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework import nn

from ._programs import train_step

THIS_FILE = __file__


def _mlp(seed: int = 0) -> nn.Module:
    fw.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
                         nn.Linear(16, 5))


def _pair(make_opt, steps: int = 5, zero_first: bool = False, batch: int = 8):
    """Train the same model eagerly and as a static step; return both losses and models."""
    models = [_mlp(), _mlp()]
    opts = [make_opt(m.parameters()) for m in models]
    rng = np.random.default_rng(1)
    data = [(fw.tensor(rng.standard_normal((batch, 12)), dtype=fw.float32),
             fw.tensor(rng.integers(0, 5, batch))) for _ in range(steps)]

    def make_step(model, opt):
        def step(x, y):
            if zero_first:
                opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if not zero_first:
                opt.zero_grad()
            return loss
        return step

    eager = make_step(models[0], opts[0])
    static = fw.jit.to_static(make_step(models[1], opts[1]))
    losses = [], []
    for x, y in data:
        losses[0].append(eager(x, y).item())
        losses[1].append(static(x, y).item())
    return losses, models, static


def SGD_PLAIN(p):  # noqa: N802 - reads like the optimizer it makes
    return fw.optim.SGD(p, lr=0.1)


@pytest.mark.parametrize("make_opt", [
    SGD_PLAIN,
    lambda p: fw.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    lambda p: fw.optim.Adam(p, lr=1e-2),
    lambda p: fw.optim.AdamW(p, lr=1e-2, amsgrad=True),
], ids=["sgd", "sgd-momentum", "adam", "adamw-amsgrad"])
def test_training_step_matches_eager(make_opt):
    (eager, static), (m_eager, m_static), step = _pair(make_opt)
    np.testing.assert_allclose(static, eager, rtol=1e-6)
    for (n, a), (_, b) in zip(m_eager.named_parameters(), m_static.named_parameters(),
                              strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=n)
        assert b.grad is None and a.grad is None
    programs = step.programs
    assert programs and sum(p.runs for p in programs) >= 3  # replayed, not re-run eagerly
    # plain SGD is recorded into the program; optimizers with Python-side state per step
    # (Adam's step count) or not-yet-created state run as host calls
    plain = make_opt is SGD_PLAIN
    assert any((p.host_calls == []) if plain else (p.host_calls == ["optimizer"])
               for p in programs), [p.host_calls for p in programs]


def test_zero_grad_first_keeps_gradients_like_eager():
    (eager, static), (m_eager, m_static), step = _pair(
        lambda p: fw.optim.SGD(p, lr=0.1, momentum=0.5), zero_first=True)
    np.testing.assert_allclose(static, eager, rtol=1e-6)
    for a, b in zip(m_eager.parameters(), m_static.parameters(), strict=True):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_function_replay_and_graph_text_and_json():
    calls = []

    @fw.jit.to_static
    def f(x, w):
        calls.append(1)  # a Python side effect: runs while tracing only
        return fw.tanh(x @ w) * 2.0 + 1.0

    x, w = fw.randn(4, 3), fw.randn(3, 2)
    first = f(x, w)
    second = f(x, w)
    np.testing.assert_allclose(second.numpy(), first.numpy(), rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), np.tanh(x.numpy() @ w.numpy()) * 2 + 1,
                               rtol=1e-6)
    assert len(calls) == 1
    text = str(f.graph)
    assert "matmul(%" in text and "float32[4x2]" in text
    data = json.loads(json.dumps(f.graph.to_json()))
    assert data["schema"] == "skiff.jit.graph" and data["version"] == 1
    assert [n["op"] for n in data["nodes"]][0] == "matmul"


def test_new_shapes_retrace_and_results_stay_right():
    @fw.jit.to_static
    def f(x):
        return (x * x).sum(dim=1)

    for n in (2, 3, 2, 5):
        x = fw.randn(n, 4)
        np.testing.assert_allclose(f(x).numpy(), (x.numpy() ** 2).sum(1), rtol=1e-5)
    assert f.traces == 3


def test_python_scalar_arguments_are_guarded():
    @fw.jit.to_static
    def scale(x, k):
        return x * k

    x = fw.ones(3)
    assert scale(x, 2.0).tolist() == [2.0, 2.0, 2.0]
    assert scale(x, 3.0).tolist() == [3.0, 3.0, 3.0]
    assert scale(x, 2.0).tolist() == [2.0, 2.0, 2.0]
    assert scale.traces == 2


def test_training_and_eval_mode_are_guarded():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5))
    static = fw.jit.to_static(model)
    x = fw.ones(4, 6)
    model.eval()
    with fw.no_grad():
        a = static(x)
        b = static(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    model.train()
    with fw.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.jit.JitWarning)
        c = static(x)
    assert not np.array_equal(c.numpy(), a.numpy())  # dropout is active again


def test_grad_mode_is_guarded():
    w = fw.randn(3, 3, requires_grad=True)

    @fw.jit.to_static
    def f(x):
        return x @ w

    x = fw.randn(2, 3)
    with fw.no_grad():
        f(x)
        out = f(x)
    assert not out.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)
        y = f(x)  # grad mode on: a separate program whose outputs take part in autograd
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().T @ np.ones((2, 3)), rtol=1e-5)
    assert f.traces == 2


def test_static_forward_in_an_eager_training_loop_gives_eager_gradients():
    fw.manual_seed(0)
    eager = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    model.load_state_dict(eager.state_dict())
    fw.jit.to_static(model)
    opts = [fw.optim.SGD(m.parameters(), lr=0.1) for m in (eager, model)]
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = fw.tensor(rng.standard_normal((5, 8)), dtype=fw.float32, requires_grad=True)
        y = fw.tensor(rng.integers(0, 4, 5))
        grads = []
        for m, opt in zip((eager, model), opts, strict=True):
            x.grad = None
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            grads.append([x.grad.numpy().copy()] + [p.grad.numpy().copy()
                                                    for p in m.parameters()])
            opt.step()
            opt.zero_grad()
        for a, b in zip(*grads, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    assert model.forward.traces == 1 and model.forward.programs[0].runs == 3
    out = model(fw.randn(5, 8, requires_grad=True)).sum()  # replayed
    with pytest.raises(RuntimeError, match="higher-order"):
        fw.grad(out, list(model.parameters()), create_graph=True)


def test_value_dependent_control_flow_falls_back_with_file_and_line():
    @fw.jit.to_static
    def f(x):
        if x.sum() > 0:  # data-dependent branch
            return x * 2.0
        return x * -1.0

    line = _line_of("if x.sum() > 0:")
    with pytest.warns(fw.jit.JitWarning, match=rf"test_static.py:{line}.*runs eagerly"):
        assert f(fw.ones(2)).tolist() == [2.0, 2.0]
    assert f(-fw.ones(2)).tolist() == [1.0, 1.0]  # never a stale branch
    assert f(fw.ones(2)).tolist() == [2.0, 2.0]
    assert f.fallbacks and "value" in f.fallbacks[0][0]


def test_full_graph_raises_naming_the_line():
    @fw.jit.to_static(full_graph=True)
    def f(x):
        n = int(x.sum().item())
        return x * n

    line = _line_of("n = int(x.sum().item())")
    with pytest.raises(fw.jit.GraphBreakError, match=rf"test_static.py:{line}"):
        f(fw.ones(3))


def test_loop_over_item_never_gives_stale_results():
    @fw.jit.to_static
    def f(x, n):
        acc = x
        for _ in range(int(n.item())):
            acc = acc + 1.0
        return acc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.jit.JitWarning)
        assert f(fw.zeros(1), fw.tensor(2)).tolist() == [2.0]
        assert f(fw.zeros(1), fw.tensor(5)).tolist() == [5.0]


def test_a_step_returning_loss_item_is_captured_and_returns_each_calls_float():
    models = [_mlp(), _mlp()]
    opts = [fw.optim.SGD(m.parameters(), lr=0.1) for m in models]

    def make(model, opt):
        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss.item()
        return step

    eager = make(models[0], opts[0])
    static = fw.jit.to_static(make(models[1], opts[1]), full_graph=True)
    rng = np.random.default_rng(4)
    got, want = [], []
    for _ in range(5):
        x = fw.tensor(rng.standard_normal((8, 12)), dtype=fw.float32)
        y = fw.tensor(rng.integers(0, 5, 8))
        want.append(eager(x, y))
        got.append(static(x, y))
    assert all(type(v) is float for v in got)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(set(got)) == 5  # a fresh value on every replay, not the traced one
    assert static.traces == 1 and not static.fallbacks and static.programs


def test_returned_item_floats_in_containers_are_read_on_every_replay():
    @fw.jit.to_static
    def f(x):
        y = x * 2.0
        total, top = y.sum(), y.max()  # reads come after the last tensor op
        return {"sum": total.item(), "pair": (y, top.item())}

    for k in range(1, 4):
        r = f(fw.full((3,), float(k)))
        assert r["sum"] == 6.0 * k and r["pair"][1] == 2.0 * k
        assert type(r["sum"]) is float and r["pair"][0].tolist() == [2.0 * k] * 3
    assert not f.fallbacks and f.traces == 1


def test_a_returned_int_item_is_read_on_every_replay_and_never_a_shared_small_int():
    @fw.jit.to_static(full_graph=True)
    def f(x, y):
        correct = (x.argmax(1) == y).sum()
        return correct.item(), 3  # 3 is a constant of the program, whatever correct is

    y = fw.tensor([0, 1, 2])
    for k in range(4):
        x = fw.tensor(np.eye(3, dtype=np.float32)[[0, 1, 2 if k % 2 else 0]])
        got = f(x, y)
        assert got == (3 if k % 2 else 2, 3) and type(got[0]) is int
    assert f.traces == 1 and not f.fallbacks


@pytest.mark.parametrize("body, snippet", [
    # the number is used (arithmetic, comparison, formatting, calls) before it is returned
    ("return x, x.sum().item() * 2.0", None),
    ("return x, max(x.sum().item(), 0.0)", None),
    ("return x, f'{x.sum().item():.2f}'", None),
    ("return x * int(x.sum().item())", None),
    ("return x, list(range(x.argmax().item()))", None),
    ("return x, x.argmax().item() == 0", None),
    ("return x, {0: 'a', 1: 'b'}[x.argmax().item()]", None),
    ("return x, [7, 8][x.argmax().item()]", None),
    # tensor ops after the read
    ("return x.sum().item(), x * 2.0", None),
    # read outside the return statement (stored, or in a helper), or not returned
    ("v = x.sum().item()\n    return x, v", "v = x.sum().item()"),
    ("return x, helper(x)", "return t.sum().item()"),
    ("x.sum().item()\n    return x", "x.sum().item()"),
])
def test_an_item_number_used_by_python_is_a_graph_break_at_its_line(body, snippet, tmp_path):
    src = f"def helper(t):\n    return t.sum().item()\n\n\ndef g(x):\n    {body}\n"
    path = tmp_path / "user_code.py"
    path.write_text(src)
    scope: dict = {}
    exec(compile(src, str(path), "exec"), scope)
    g = scope["g"]
    line = src.splitlines().index("    " + (snippet or body)) + 1
    f = fw.jit.to_static(g)
    for k in (1.0, -3.0, 2.0):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got, want = f(fw.full((2,), k)), g(fw.full((2,), k))
        if k == 1.0:
            assert any(f"user_code.py:{line}:" in str(w.message) for w in caught)
        got, want = (got if isinstance(got, tuple) else (got,)), \
            (want if isinstance(want, tuple) else (want,))
        for a, b in zip(got, want, strict=True):
            assert (a.tolist() if isinstance(a, fw.Tensor) else a) == \
                (b.tolist() if isinstance(b, fw.Tensor) else b)
            assert type(a) is type(b)  # never a tracer float handed to the caller
    assert f.fallbacks and "item()" in f.fallbacks[0][0]
    g2 = fw.jit.to_static(g, full_graph=True)
    with pytest.raises(fw.jit.GraphBreakError, match=rf"user_code.py:{line}"):
        g2(fw.ones(2))


def test_an_item_read_in_a_static_forward_that_needs_gradients_runs_eagerly():
    fw.manual_seed(0)
    layer = nn.Linear(3, 2)

    @fw.jit.to_static
    def f(x):
        y = layer(x)
        return y, y.sum().item()

    line = _line_of("return y, y.sum().item()")
    for k in (1.0, 2.0):
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            y, s = f(fw.full((4, 3), k))
        y.sum().backward()
        assert s == pytest.approx(float(layer(fw.full((4, 3), k)).sum().item()))
    assert f"test_static.py:{line}" in f.fallbacks[0][1]
    assert "need gradients" in f.fallbacks[0][0] and layer.weight.grad is not None


def test_a_saved_program_returns_item_floats():
    def f(x):
        y = fw.tanh(x)
        return y, y.sum().item()

    import tempfile

    d = tempfile.mkdtemp()
    fw.jit.save(f, d + "/p", [fw.jit.InputSpec([None, 3])])
    loaded = fw.jit.load(d + "/p")
    x = fw.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    y, s = loaded(x)
    assert type(s) is float and s == pytest.approx(float(np.tanh(x.numpy()).sum()), abs=1e-6)


def test_random_ops_draw_fresh_values_each_replay_and_follow_the_seed():
    @fw.jit.to_static
    def noisy(x):
        return x + fw.randn(*x.shape)

    x = fw.zeros(1000)
    fw.manual_seed(3)
    a = noisy(x).numpy()
    b = noisy(x).numpy()
    assert not np.allclose(a, b)
    fw.manual_seed(3)
    expect = fw.randn(1000).numpy()
    np.testing.assert_allclose(a, expect)
    fw.manual_seed(3)
    np.testing.assert_allclose(noisy(x).numpy(), expect)  # a replay follows the seed too


def test_dropout_in_a_static_training_step_draws_new_masks():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 64), nn.Dropout(0.5))
    outs = []

    @fw.jit.to_static
    def run(x):
        return model(x)

    with fw.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.jit.JitWarning)
        x = fw.ones(4, 8)
        for _ in range(3):
            outs.append((run(x).numpy() == 0).copy())
    assert not np.array_equal(outs[1], outs[2])


def test_ignore_keeps_a_helper_eager_on_every_replay():
    seen = []

    @fw.jit.ignore
    def log(t):
        seen.append(float(t.sum().item()))

    @fw.jit.to_static
    def f(x):
        y = x * 2.0
        log(y)
        return y + 1.0

    for k in range(3):
        f(fw.full((2,), float(k)))
    assert seen == [0.0, 4.0, 8.0]
    assert f.programs[0].host_calls == ["log"]


def test_retracing_too_often_warns_and_goes_eager():
    @fw.jit.to_static
    def f(x, k):
        return x + k

    with pytest.warns(fw.jit.JitWarning, match="traced 8 times"):
        for k in range(12):
            assert f(fw.zeros(1), k).tolist() == [float(k)]


def test_static_module_forward_and_decorated_method():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        @fw.jit.to_static
        def forward(self, x):
            return F.relu(self.fc(x))

    fw.manual_seed(0)
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    x = fw.randn(5, 4)
    with fw.no_grad():
        for _ in range(2):
            np.testing.assert_allclose(a(x).numpy(), b(x).numpy())
        a.fc.weight.mul_(0.5)  # parameters are read afresh on every replay
        np.testing.assert_allclose(
            a(x).numpy(),
            np.maximum(x.numpy() @ a.fc.weight.detach().numpy().T + a.fc.bias.detach().numpy(), 0),
            rtol=1e-6)


def test_inputs_passed_twice_are_guarded():
    @fw.jit.to_static
    def f(a, b):
        return a - b

    x = fw.ones(3)
    assert f(x, x).tolist() == [0.0, 0.0, 0.0]
    assert f(x, fw.zeros(3)).tolist() == [1.0, 1.0, 1.0]


def _line_of(snippet: str) -> int:
    with open(THIS_FILE, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if snippet in line and not line.lstrip().startswith("line ="):
                return i
    raise AssertionError(snippet)


def test_line_helper_finds_code():
    assert re.match(r"\d+", str(_line_of("def _line_of")))


def test_explain_reports_captured_ops_passes_and_fallbacks():
    w = fw.randn(4, 4)

    def good(x):
        return fw.tanh(x @ w) * 1.0 + 0.0

    report = fw.jit.explain(good, fw.randn(2, 4))
    text = str(report)
    assert report.captured_ops["matmul"] == 1 and "captured" in text
    assert "pass simplify" in text and "pass fusion" in text
    assert dict(report.passes)["simplify"]["simplified"] >= 1

    def bad(x):
        return x * 2.0 if x.sum().item() > 0 else x

    text = str(fw.jit.explain(bad, fw.ones(2)))
    assert "runs eagerly" in text and "fallback to eager at" in text and "item()" in text
    assert "test_static.py" in text

    # a static function that already fell back (or traced) is explained afresh, with reasons
    static_bad = fw.jit.to_static(bad)
    with pytest.warns(fw.jit.JitWarning):
        static_bad(fw.ones(2))
    text = str(fw.jit.explain(static_bad, fw.ones(2)))
    assert "fallback to eager at" in text and "item()" in text


def test_recorded_sgd_follows_a_learning_rate_schedule():
    models = [_mlp(), _mlp()]
    opts = [fw.optim.SGD(m.parameters(), lr=0.1) for m in models]
    scheds = [fw.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5) for o in opts]
    rng = np.random.default_rng(2)
    x = fw.tensor(rng.standard_normal((8, 12)), dtype=fw.float32)
    y = fw.tensor(rng.integers(0, 5, 8))

    eager = train_step(models[0], opts[0])
    static = fw.jit.to_static(train_step(models[1], opts[1]))
    for _ in range(6):
        a, b = eager(x, y).item(), static(x, y).item()
        assert b == pytest.approx(a, rel=1e-6)
        for s in scheds:
            s.step()
    assert static.traces <= 3  # after the lr changes, SGD runs as a host call: no re-tracing


COUNTER = fw.zeros(1)
SCALE = 2.0


def test_rebinding_a_global_tensor_falls_back_instead_of_freezing_it():
    global COUNTER
    COUNTER = fw.zeros(1)

    def bump(x):
        global COUNTER
        COUNTER = COUNTER + 1.0
        return x * COUNTER

    f = fw.jit.to_static(bump)
    with pytest.warns(fw.jit.JitWarning, match="rebinds global 'COUNTER'"):
        assert f(fw.ones(1)).tolist() == [1.0]
    # each call finds a new tensor in COUNTER: a new key, traced and given up again
    for want in (2.0, 3.0):
        with pytest.warns(fw.jit.JitWarning, match="rebinds global 'COUNTER'"):
            assert f(fw.ones(1)).tolist() == [want]


def test_module_level_python_numbers_are_guarded():
    global SCALE

    def scaled(x):
        return x * SCALE

    f = fw.jit.to_static(scaled)
    SCALE = 2.0
    assert f(fw.ones(1)).tolist() == [2.0]
    SCALE = 5.0
    assert f(fw.ones(1)).tolist() == [5.0]
    SCALE = 2.0


def test_python_state_changed_between_calls_is_never_replayed_stale():
    """Tensors, modules and Python values the function reaches through its globals, closure
    cells and modules' attributes are guarded: changing them between calls re-traces."""
    global TABLE
    TABLE = fw.ones(3)
    x = fw.ones(3)

    f = fw.jit.to_static(lambda x: x * TABLE)
    assert f(x).tolist() == [1.0] * 3 and f(x).tolist() == [1.0] * 3
    TABLE = fw.full((3,), 5.0)  # rebound global tensor
    assert f(x).tolist() == [5.0] * 3
    TABLE.data = np.full(3, 7.0, np.float32)  # a new array in the same tensor
    assert f(x).tolist() == [7.0] * 3
    with fw.no_grad():
        TABLE.mul_(2.0)  # in place: the program reads the same array
    assert f(x).tolist() == [14.0] * 3
    assert len(f.programs) == 3

    def closures():
        scale, shift = 2.0, fw.zeros(3)

        @fw.jit.to_static
        def g(x):
            return x * scale + shift

        def set_scale(v):
            nonlocal scale
            scale = v

        def set_shift(v):
            nonlocal shift
            shift = v
        return g, set_scale, set_shift

    g, set_scale, set_shift = closures()
    assert g(x).tolist() == [2.0] * 3 and g(x).tolist() == [2.0] * 3
    set_scale(7.0)
    assert g(x).tolist() == [7.0] * 3
    set_shift(fw.full((3,), 10.0))
    assert g(x).tolist() == [17.0] * 3

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.scale = fw.tensor(2.0)
            self.power = 1.0
            self.register_buffer("offset", fw.zeros(3))

        def forward(self, x):
            return (self.lin(x) * self.scale) ** self.power + self.offset

    m = Scaled()
    sm = fw.jit.to_static(m)
    with fw.no_grad():
        sm(x)
        sm(x)

        def check():
            assert np.allclose(sm(x).numpy(), ((m.lin(x) * m.scale) ** m.power
                                               + m.offset).numpy())
        m.scale = fw.tensor(4.0)  # plain tensor attribute
        check()
        m.power = 2.0  # Python number attribute
        check()
        m.power = np.float32(3.0)  # NumPy number
        check()
        m.offset = fw.ones(3)  # buffer
        check()
        m.lin.weight = nn.Parameter(fw.zeros(3, 3))  # parameter
        check()
        m.lin = nn.Linear(3, 3)  # submodule
        check()
        m.lin.register_forward_hook(lambda mod, inp, out: out * 0.0)  # hook added
        check()


def test_a_training_loop_traces_once_per_signature():
    """Optimizer steps, zero_grad, train/eval switches and building other modules do not
    count as changed Python state."""
    model = _mlp()
    opt = fw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    step = fw.jit.to_static(train_step(model, opt))
    x, y = fw.randn(8, 12), fw.tensor(np.arange(8) % 5)
    for i in range(6):
        step(x, y)
        _mlp(i)  # unrelated modules being built
        model.eval()
        model.train()
    assert step.traces == 1 and sum(p.runs for p in step.programs) == 5


def test_freezing_a_layer_after_tracing_is_respected():
    x, y = fw.randn(8, 12), fw.tensor(np.arange(8) % 5)
    models = [_mlp(), _mlp()]
    opts = [fw.optim.SGD(m.parameters(), lr=0.1) for m in models]

    eager = train_step(models[0], opts[0])
    static = fw.jit.to_static(train_step(models[1], opts[1]))
    for i in range(4):
        if i == 2:  # freeze the first layer of both
            for m in models:
                m[0].requires_grad_(False)
        np.testing.assert_allclose(static(x, y).item(), eager(x, y).item(), rtol=1e-6)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert static.traces == 2

    # a static forward in an eager loop: a frozen layer gets no gradient
    model = _mlp()
    fwd = fw.jit.to_static(model)
    for i in range(3):
        if i == 2:
            model[0].requires_grad_(False)
        model.zero_grad()
        F.cross_entropy(fwd(x), y).backward()
    assert model[0].weight.grad is None and model[2].weight.grad is not None


def test_a_module_attribute_changed_on_every_call_stays_right():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            return x * float(self.calls)

    m = Counter()
    f = fw.jit.to_static(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.jit.JitWarning)
        for i in range(100):
            m.calls = i
            assert f(fw.ones(2)).tolist() == [float(i)] * 2
    assert len(f.forward._readings) <= 64


def test_gradients_of_arguments_are_given_to_each_call_s_arguments():
    """backward() reaching a tensor argument leaves its gradient there, as eagerly; an
    argument that already has a gradient (eager accumulates into it) runs eagerly."""
    w = fw.randn(3, 3, requires_grad=True)

    @fw.jit.to_static
    def step(x):
        loss = (x @ w).sum()
        loss.backward()
        return x.grad * 1.0

    want = np.tile(w.detach().numpy().sum(1), (2, 1))
    for k in (1.0, 2.0, 3.0):
        x = fw.full((2, 3), k, requires_grad=True)
        w.grad = None
        np.testing.assert_allclose(step(x).numpy(), want, rtol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
    assert not step.fallbacks and sum(p.runs for p in step.programs) == 2
    x = fw.full((2, 3), 1.0, requires_grad=True)
    x.grad = fw.ones(2, 3)
    w.grad = None
    with pytest.warns(fw.jit.JitWarning, match="already have"):
        np.testing.assert_allclose(step(x).numpy(), want + 1.0, rtol=1e-6)


def test_gradient_penalty_and_physics_informed_steps_match_eager():
    """Steps that differentiate with respect to their inputs (create_graph=True) before
    backward() are captured whole."""
    def run(static):
        fw.manual_seed(0)
        model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
        opt = fw.optim.Adam(model.parameters(), lr=1e-2)

        def step(x):
            u = model(x)
            (du,) = fw.grad(u.sum(), x, create_graph=True)
            (d2u,) = fw.grad(du.sum(), x, create_graph=True)
            loss = ((d2u + 1.0) ** 2).mean() + ((du.norm(dim=1) - 1) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        f = fw.jit.to_static(step) if static else step
        out = []
        for i in range(4):
            x = fw.tensor(np.linspace(0, 1, 8, dtype=np.float32).reshape(-1, 1) + 0.01 * i,
                          requires_grad=True)
            out.append((f(x).item(), x.grad.numpy().copy()))
        return out, f

    eager, _ = run(False)
    static, f = run(True)
    for (le, ge), (ls, gs) in zip(eager, static, strict=True):
        np.testing.assert_allclose(ls, le, rtol=1e-5)
        np.testing.assert_allclose(gs, ge, rtol=1e-4, atol=1e-6)
    assert not f.fallbacks and sum(p.runs for p in f.programs) == 3


HIDDEN = None


def _run_hidden(x):
    return HIDDEN(x)


def test_modules_reached_only_through_helpers_have_their_mode_guarded():
    global HIDDEN
    fw.manual_seed(0)
    HIDDEN = nn.Sequential(nn.Linear(4, 64), nn.Dropout(0.5))

    def outer(x):
        return _run_hidden(x)

    f = fw.jit.to_static(outer)
    x = fw.ones(3, 4)
    with fw.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.jit.JitWarning)
        HIDDEN.train()
        f(x)
        HIDDEN.eval()
        a, b = f(x).numpy(), f(x).numpy()
    np.testing.assert_array_equal(a, b)  # eval: no dropout, although the trace had it
    with fw.no_grad():
        np.testing.assert_allclose(a, HIDDEN(x).numpy(), rtol=1e-6)


def test_cnn_with_batchnorm_dropout_adam_kwargs_and_dict_results_matches_eager():
    def make():
        fw.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(64, 3))

    def step_for(model, opt):
        def step(x, y, *, smoothing=0.1):
            out = model(x)
            loss = F.cross_entropy(out, y, label_smoothing=smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return {"loss": loss, "pred": out.argmax(dim=1)}
        return step

    ma, mb = make(), make()
    eager = step_for(ma, fw.optim.Adam(ma.parameters(), lr=1e-2))
    static = fw.jit.to_static(step_for(mb, fw.optim.Adam(mb.parameters(), lr=1e-2)))
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)
        for i in range(5):
            x = fw.tensor(rng.standard_normal((6, 1, 8, 8)), dtype=fw.float32)
            y = fw.tensor(rng.integers(0, 3, 6))
            fw.manual_seed(100 + i)
            a = eager(x, y, smoothing=0.1)
            fw.manual_seed(100 + i)
            b = static(x, y, smoothing=0.1)
            assert b["loss"].item() == pytest.approx(a["loss"].item(), rel=1e-6)
            np.testing.assert_array_equal(b["pred"].numpy(), a["pred"].numpy())
    np.testing.assert_allclose(mb[1].running_mean.numpy(), ma[1].running_mean.numpy(),
                               rtol=1e-6, atol=1e-7)
    assert sum(p.runs for p in static.programs) == 3


def test_a_model_with_a_static_forward_can_be_deep_copied_after_tracing():
    import copy

    fw.manual_seed(0)
    model = fw.jit.to_static(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)))
    x = fw.ones((2, 3))
    with fw.no_grad():
        first = model(x).numpy().copy()
        best = copy.deepcopy(model)  # e.g. keeping the best model seen during training
        best[2].bias.add_(5.0)
        np.testing.assert_allclose(best(x).numpy(), first + 5.0, rtol=1e-6)
        np.testing.assert_allclose(model(x).numpy(), first, rtol=1e-6)
    assert best.forward is not model.forward and best.forward.module is best
    assert best.forward.traces == 1 and model.forward.traces == 1
