"""Python state a static function reads through lists, dicts and ordinary objects (a
config dict, a trainer's attributes) is guarded: changing it between calls traces again
instead of replaying a stale value. Lists and dicts the function itself fills (a log of
losses) are side effects, not guards."""

from __future__ import annotations

import contextlib
import functools
import types
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import framework as fw
from framework import nn

CONFIG = {"temperature": 1.0, "shifts": [0.0, 0.0]}
SETTINGS = types.SimpleNamespace(scale=2.0)
LOG: list = []


@contextlib.contextmanager
def _no_jit_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)
        yield


def test_a_global_config_dict_changed_in_place_traces_again():
    CONFIG["temperature"], CONFIG["shifts"] = 1.0, [0.0, 0.0]

    @fw.jit.to_static
    def f(x):
        return x / CONFIG["temperature"] + CONFIG["shifts"][1]

    x = fw.full((3,), 4.0)
    assert f(x).tolist() == [4.0] * 3 and f(x).tolist() == [4.0] * 3
    CONFIG["temperature"] = 2.0
    assert f(x).tolist() == [2.0] * 3
    CONFIG["shifts"][1] = 1.0  # a list inside the dict, changed in place
    assert f(x).tolist() == [3.0] * 3
    assert f(x).tolist() == [3.0] * 3
    assert len(f.programs) == 3
    CONFIG["temperature"] = 1.0  # back to the first state: its program replays
    CONFIG["shifts"][1] = 0.0
    assert f(x).tolist() == [4.0] * 3 and f.traces == 3


def test_a_closure_list_of_numbers_changed_in_place_traces_again():
    weights = [1.0, 2.0]

    @fw.jit.to_static
    def f(x):
        return x * weights[0] + weights[1]

    x = fw.ones(2)
    assert f(x).tolist() == [3.0, 3.0]
    weights[0] = 10.0
    assert f(x).tolist() == [12.0, 12.0]
    weights.append(5.0)  # an item the function never reads: still a new state
    assert f(x).tolist() == [12.0, 12.0]


def test_a_global_namespace_object_attribute_is_guarded():
    SETTINGS.scale = 2.0

    @fw.jit.to_static
    def f(x):
        return x * SETTINGS.scale

    x = fw.ones(2)
    assert f(x).tolist() == [2.0, 2.0]
    SETTINGS.scale = 3.0
    assert f(x).tolist() == [3.0, 3.0]
    SETTINGS.scale = 2.0


class Trainer:
    """A plain class (not a module) whose step is static."""

    def __init__(self, temperature: float = 1.0) -> None:
        fw.manual_seed(0)
        self.model = nn.Linear(3, 2)
        self.opt = fw.optim.SGD(self.model.parameters(), lr=0.1)
        self.temperature = temperature
        self.global_step = 0
        self.history: list = []

    def scaled(self, y):
        return y / self.temperature  # read in a helper method, not in the step itself

    @fw.jit.to_static
    def step(self, x):
        loss = (self.scaled(self.model(x)) ** 2).mean()
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        self.history.append("traced")  # a Python side effect: once per trace
        return loss


def _eager_losses(temperatures):
    t = Trainer()
    out = []
    for temp in temperatures:
        t.temperature = temp
        out.append(Trainer.step.fn(t, fw.ones(4, 3)).item())
    return out


def test_a_trainer_attribute_read_by_a_helper_method_is_guarded():
    temps = [1.0, 1.0, 2.0, 2.0, 0.5]
    t = Trainer()
    got = []
    for temp in temps:
        t.temperature = temp
        got.append(t.step(fw.ones(4, 3)).item())
    np.testing.assert_allclose(got, _eager_losses(temps), rtol=1e-6)
    assert t.step.traces == 3


def test_attributes_the_step_never_reads_do_not_trace_again():
    t = Trainer()
    with _no_jit_warnings():
        for _ in range(12):
            t.step(fw.ones(4, 3))
            t.global_step += 1  # a counter kept outside the static step
    assert t.step.traces == 1
    assert t.history == ["traced"]  # the list it fills is a side effect, not a guard


def test_a_list_the_function_fills_is_a_side_effect_not_a_guard():
    LOG.clear()
    seen: list = []

    @fw.jit.to_static
    def f(x):
        LOG.append(x.shape)
        seen.append("call")
        return x + 1.0

    with _no_jit_warnings():
        for _ in range(10):
            assert f(fw.ones(2)).tolist() == [2.0, 2.0]
    assert f.traces == 1 and LOG == [(2,)] and seen == ["call"]
    LOG.append("from outside")  # it stays a side effect: no new trace
    f(fw.ones(2))
    assert f.traces == 1


@dataclass
class Options:
    margin: float = 0.5


def test_an_ordinary_object_argument_is_guarded_by_the_attributes_read():
    @fw.jit.to_static
    def f(x, opts):
        return fw.relu(x - opts.margin)

    x, opts = fw.ones(2), Options()
    assert f(x, opts).tolist() == [0.5, 0.5]
    opts.margin = 0.25
    assert f(x, opts).tolist() == [0.75, 0.75]
    opts.unrelated = 3  # not read: the same program
    assert f(x, opts).tolist() == [0.75, 0.75] and f.traces == 2


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.cfg = {"gain": 1.0}  # a dict attribute of a module

    def forward(self, x):
        return self.fc(x) * self.cfg["gain"]


def test_a_dict_attribute_of_an_object_read_through_it_is_guarded():
    class Holder:
        def __init__(self):
            self.inner = types.SimpleNamespace(gain=1.0)

    h = Holder()

    @fw.jit.to_static
    def f(x):
        return x * h.inner.gain  # two levels down

    x = fw.ones(2)
    assert f(x).tolist() == [1.0, 1.0]
    h.inner.gain = 4.0
    assert f(x).tolist() == [4.0, 4.0]


def test_a_module_dict_attribute_changed_in_place_traces_again():
    fw.manual_seed(0)
    block = Block()
    static = fw.jit.to_static(Block())
    static.load_state_dict(block.state_dict())
    x = fw.ones(3, 2)
    for gain in (1.0, 3.0, 3.0, 0.5):
        block.cfg["gain"] = gain
        static.cfg["gain"] = gain
        with fw.no_grad():
            np.testing.assert_allclose(static(x).numpy(), block(x).numpy(), rtol=1e-6)


class Counter:
    def __init__(self):
        self.calls = 0

    @fw.jit.to_static
    def f(self, x):
        self.calls += 1  # changes an attribute it reads: the key changes on every call
        return x * self.calls


def test_an_attribute_the_step_itself_changes_replays_nothing_stale():
    c = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.jit.JitWarning)
        got = [c.f(fw.ones(1)).item() for _ in range(12)]
    assert got == [float(k) for k in range(1, 13)]
    assert c.calls == 12


def test_big_lists_are_watched_by_identity():
    table = [float(k) for k in range(1000)]

    @fw.jit.to_static
    def f(x):
        return x * table[1]

    assert f(fw.ones(1)).tolist() == [1.0]
    table = None  # noqa: F841 - the closure cell now holds another object
    with pytest.raises(TypeError):
        f(fw.ones(1))


def test_the_too_many_traces_warning_names_what_keeps_changing():
    c = Counter()
    with pytest.warns(fw.jit.JitWarning, match="this time attribute 'calls' of a Counter"):
        for _ in range(10):
            c.f(fw.ones(1))

    @fw.jit.to_static
    def g(x):
        return x * CONFIG["temperature"]

    with pytest.warns(fw.jit.JitWarning, match="this time global 'CONFIG'"):
        for k in range(10):
            CONFIG["temperature"] = float(k + 1)
            assert g(fw.ones(1)).tolist() == [float(k + 1)]
    CONFIG["temperature"] = 1.0

    @fw.jit.to_static
    def h(x, k):
        return x + k

    with pytest.warns(fw.jit.JitWarning, match=r"this time the arguments \(shapes"):
        for k in range(10):
            h(fw.zeros(1), k)


SHIFT = fw.zeros(3)


def test_the_warning_names_a_global_tensor_rebound_on_every_call():
    global SHIFT

    @fw.jit.to_static
    def f(x):
        return x + SHIFT

    with pytest.warns(fw.jit.JitWarning, match="this time global 'SHIFT'"):
        for k in range(10):
            SHIFT = fw.full((3,), float(k))
            assert f(fw.zeros(3)).tolist() == [float(k)] * 3


@dataclass
class Batch:
    x: fw.Tensor
    y: fw.Tensor
    weight: float = 1.0


def test_tensors_held_by_an_argument_object_are_inputs_of_the_program():
    """A new Batch on every call: its tensors are the program's inputs (before, a new
    object could reuse a freed one's id and replay the first batch's numbers)."""

    @fw.jit.to_static
    def f(b):
        return (b.x * b.y).sum() * b.weight

    got = []
    for k in range(12):
        b = Batch(fw.full((3,), float(k)), fw.ones(3))
        got.append(f(b).item())
        del b
    assert got == [3.0 * k for k in range(12)]
    assert f.traces == 1
    assert f(Batch(fw.ones(3), fw.ones(3), weight=2.0)).item() == 6.0  # a new weight
    assert f(Batch(fw.ones(5), fw.ones(5))).item() == 5.0  # a new shape
    assert f.traces == 3


def test_a_trainable_tensor_held_by_an_argument_object_is_trained_as_in_eager():
    class LinearModel:
        def __init__(self):
            self.w = fw.zeros(3, requires_grad=True)
            self.opt = fw.optim.SGD([self.w], lr=0.1)

    def step(model, x, y):
        loss = ((x @ model.w - y) ** 2).mean()
        loss.backward()
        model.opt.step()
        model.opt.zero_grad()
        return loss

    fw.manual_seed(3)
    x, y = fw.randn(8, 3), fw.randn(8)
    eager, static = LinearModel(), LinearModel()
    f = fw.jit.to_static(step)
    for _ in range(5):
        np.testing.assert_allclose(f(static, x, y).item(), step(eager, x, y).item(), rtol=1e-6)
    np.testing.assert_allclose(static.w.detach().numpy(), eager.w.detach().numpy(),
                               rtol=1e-6)
    assert f.traces == 1


def test_a_tensor_attribute_of_self_given_a_new_array_is_not_replayed_stale():
    class Masker:
        def __init__(self):
            self.mask = fw.ones(3)

        @fw.jit.to_static
        def apply(self, x):
            return x * self.mask

    m = Masker()
    assert m.apply(fw.full((3,), 2.0)).tolist() == [2.0] * 3
    m.mask.data = np.zeros(3, np.float32)  # a new array in the same tensor
    assert m.apply(fw.full((3,), 2.0)).tolist() == [0.0] * 3
    m.mask = fw.full((3,), 3.0)  # a new tensor
    assert m.apply(fw.full((3,), 2.0)).tolist() == [6.0] * 3


def test_rebinding_a_tensor_attribute_of_self_falls_back_and_names_it():
    class Accumulator:
        def __init__(self):
            self.total = fw.zeros(1)

        @fw.jit.to_static
        def add(self, x):
            self.total = self.total + x.sum()
            return self.total

    acc = Accumulator()
    with pytest.warns(fw.jit.JitWarning, match="rebinds attribute 'total' of a Accumulator"):
        acc.add(fw.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.jit.JitWarning)
        for _ in range(3):
            acc.add(fw.ones(2))
    assert acc.total.tolist() == [8.0]


def test_a_partial_is_guarded_by_the_state_of_the_function_it_wraps():
    CONFIG["temperature"] = 1.0

    def f(x, shift):
        return x / CONFIG["temperature"] + shift

    fw.manual_seed(0)
    layer = nn.Linear(2, 2)

    def g(x, model):
        return model(x)

    p = fw.jit.to_static(functools.partial(f, shift=1.0))
    assert p(fw.full((1,), 4.0)).tolist() == [5.0]
    CONFIG["temperature"] = 2.0
    assert p(fw.full((1,), 4.0)).tolist() == [3.0]
    CONFIG["temperature"] = 1.0
    q = fw.jit.to_static(functools.partial(g, model=layer))  # a module the partial holds
    x = fw.ones(1, 2)
    q(x)
    layer.eval()  # its mode is guarded: found through the partial
    with fw.no_grad():
        layer.weight.mul_(2.0)
        np.testing.assert_allclose(q(x).numpy(), layer(x).numpy(), rtol=1e-6)
    assert q.traces == 2


def test_a_callable_object_is_guarded_by_the_attributes_its_call_reads():
    class Hinge:
        def __init__(self):
            self.margin = 1.0

        def __call__(self, x):
            return fw.relu(self.margin - x)

    loss = Hinge()
    f = fw.jit.to_static(loss)
    assert f(fw.zeros(1)).tolist() == [1.0]
    loss.margin = 3.0
    assert f(fw.zeros(1)).tolist() == [3.0]


BIAS = 0.0


def _add_bias(x):
    return x + BIAS


def _scaled_and_biased(x):
    return _add_bias(x * CONFIG["temperature"])


def test_globals_read_by_helper_functions_are_guarded():
    global BIAS
    CONFIG["temperature"], BIAS = 1.0, 0.0

    @fw.jit.to_static
    def f(x):
        return _scaled_and_biased(x) * 2.0  # two helpers deep

    assert f(fw.ones(1)).tolist() == [2.0]
    BIAS = 1.0
    assert f(fw.ones(1)).tolist() == [4.0]
    CONFIG["temperature"] = 3.0
    assert f(fw.ones(1)).tolist() == [8.0]
    CONFIG["temperature"], BIAS = 1.0, 0.0
    assert f(fw.ones(1)).tolist() == [2.0] and f.traces == 3


def test_a_helper_function_rebound_between_calls_traces_again():
    global _add_bias
    original = _add_bias

    @fw.jit.to_static
    def f(x):
        return _add_bias(x)

    assert f(fw.ones(1)).tolist() == [1.0]
    try:
        _add_bias = lambda x: x * 10.0  # noqa: E731 - a monkeypatched helper
        assert f(fw.ones(1)).tolist() == [10.0]
    finally:
        _add_bias = original


class Scaled(nn.Module):
    scale = 2.0

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def act(self, h):
        return h * self.scale

    def forward(self, x):
        return self.act(self.lin(x))


def test_a_module_class_attribute_changed_on_the_class_traces_again():
    fw.manual_seed(0)
    model = Scaled()
    static = fw.jit.to_static(model)
    x = fw.ones((2, 3))
    act = Scaled.act
    try:
        with _no_jit_warnings():
            first = static(x).detach().numpy().copy()
            Scaled.scale = 3.0
            np.testing.assert_allclose(static(x).detach().numpy(), first * 1.5, rtol=1e-6)
            np.testing.assert_allclose(static(x).detach().numpy(),
                                       model.forward(x).detach().numpy(), rtol=1e-6)
            # a method replaced on the class is state too
            Scaled.act = lambda self, h: h - 1.0
            np.testing.assert_allclose(static(x).detach().numpy(),
                                       model.lin(x).detach().numpy() - 1.0, rtol=1e-6)
    finally:
        Scaled.scale, Scaled.act = 2.0, act
    assert static(x).detach().numpy().tolist() == first.tolist()
    assert static.forward.traces == 3  # the first trace's program is reused at the end


class Stepper:
    factor = 1.0

    def __init__(self):
        self.w = fw.ones(3)

    @fw.jit.to_static
    def step(self, x):
        return x * self.w * self.factor


def test_a_class_attribute_of_a_plain_object_traces_again():
    s = Stepper()
    try:
        assert s.step(fw.ones(3)).tolist() == [1.0] * 3
        Stepper.factor = 5.0
        assert s.step(fw.ones(3)).tolist() == [5.0] * 3
    finally:
        Stepper.factor = 1.0


class Tally:
    calls = 0

    @fw.jit.to_static
    def f(self, x):
        Tally.calls += 1  # the class attribute changes on every call
        return x * Tally.calls


def test_the_warning_names_a_class_attribute_that_keeps_changing():
    t = Tally()
    with pytest.warns(fw.jit.JitWarning, match=r"this time class attribute Tally\.calls"):
        got = [t.f(fw.ones(1)).item() for _ in range(12)]
    assert got == [float(k) for k in range(1, 13)]


class BaseScale:
    scale = 1.0


class SubScale(BaseScale):
    @fw.jit.to_static
    def f(self, x):
        return x * self.scale


def test_a_class_attribute_set_on_a_subclass_shadows_the_base_and_traces_again():
    s = SubScale()
    try:
        assert s.f(fw.ones(1)).tolist() == [1.0]
        SubScale.scale = 4.0  # not in SubScale's dict when traced
        assert s.f(fw.ones(1)).tolist() == [4.0]
        BaseScale.scale = 9.0  # shadowed: no change
        assert s.f(fw.ones(1)).tolist() == [4.0]
    finally:
        del SubScale.scale
        BaseScale.scale = 1.0
    assert s.f(fw.ones(1)).tolist() == [1.0]


class WithActivation(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.act = functools.partial(fw.mul, 2.0)

    def forward(self, x):
        return self.act(self.lin(x))


def test_a_function_held_by_a_module_replaced_between_calls_traces_again():
    fw.manual_seed(0)
    model = WithActivation()
    static = fw.jit.to_static(model)
    x = fw.ones((2, 3))
    with _no_jit_warnings():
        first = static(x).detach().numpy().copy()
        model.act = lambda h: h * 3.0
        np.testing.assert_allclose(static(x).detach().numpy(), first * 1.5, rtol=1e-6)


RNG = np.random.default_rng(0)


def test_python_and_numpy_random_draws_fall_back_instead_of_freezing():
    import random

    @fw.jit.to_static
    def jitter(x):
        return x * random.random()

    @fw.jit.to_static
    def noise(x):
        return x + fw.from_numpy(np.random.standard_normal(3).astype(np.float32))

    @fw.jit.to_static
    def scaled(x):
        return x * float(RNG.uniform())

    x = fw.ones(3)
    for f, name in ((jitter, "Python's random module"), (noise, "NumPy's global random"),
                    (scaled, "global 'RNG'")):
        with pytest.warns(fw.jit.JitWarning, match=f"draws random numbers from {name}"):
            first = f(x).tolist()
        assert f(x).tolist() != first  # fresh numbers on every call, as in eager
        assert f.last_program is None and len(f.fallbacks) == 1
    random.seed(3)
    expected = [random.random()] * 3
    random.seed(3)
    assert jitter(x).tolist() == pytest.approx(expected)


class Augmenter:
    def __init__(self):
        self.rng = np.random.default_rng(1)
        self.w = fw.ones(3)

    @fw.jit.to_static
    def step(self, x):
        return x * self.w + float(self.rng.normal())


def test_a_generator_held_by_self_is_named_and_full_graph_raises():
    a = Augmenter()
    with pytest.warns(fw.jit.JitWarning, match="attribute 'rng' of a Augmenter"):
        a.step(fw.ones(3))

    @functools.partial(fw.jit.to_static, full_graph=True)
    def strict(x):
        return x * float(RNG.uniform())

    with pytest.raises(fw.jit.GraphBreakError, match="draws random numbers from global 'RNG'"):
        strict(fw.ones(3))


def test_framework_random_ops_and_unused_generators_still_trace():
    @fw.jit.to_static
    def f(x):
        unused = RNG  # noqa: F841 - reachable, never drawn from
        return x + fw.randn(3)

    with _no_jit_warnings():
        first = f(fw.zeros(3)).tolist()
        assert f(fw.zeros(3)).tolist() != first
    assert f.last_program is not None and f.fallbacks == []


class Picker:
    def __init__(self):
        self.which, self.a, self.b = "a", 2.0, 3.0

    @fw.jit.to_static
    def step(self, x):
        return x * getattr(self, self.which)  # an attribute read by a computed name


class Holder:
    def __init__(self, k):
        self.k, self.name = k, "k"


def test_attributes_read_through_getattr_are_guarded():
    p, x = Picker(), fw.ones(2)
    with _no_jit_warnings():
        assert p.step(x).tolist() == [2.0, 2.0]
        p.a = 5.0
        assert p.step(x).tolist() == [5.0, 5.0]
        p.which = "b"
        assert p.step(x).tolist() == [3.0, 3.0]

    @fw.jit.to_static
    def f(x, obj):
        return x * getattr(obj, obj.name)

    assert f(x, Holder(2.0)).tolist() == [2.0, 2.0]
    assert f(x, Holder(7.0)).tolist() == [7.0, 7.0]


class Memo(nn.Module):
    cache: dict = {}  # a class-level cache that the forward fills

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        Memo.cache[len(Memo.cache)] = "seen"
        return self.lin(x)


def test_a_class_level_cache_filled_by_the_forward_causes_no_new_trace():
    static = fw.jit.to_static(Memo())
    with _no_jit_warnings():
        for _ in range(12):
            static(fw.ones((1, 2)))
    assert static.forward.traces == 1


@dataclass
class Weighted:
    x: fw.Tensor
    scale = 1.0  # a class attribute (not a field)


def test_a_class_attribute_of_an_argument_object_traces_again():
    @fw.jit.to_static
    def f(batch):
        return batch.x * batch.scale

    try:
        assert f(Weighted(fw.ones(2))).tolist() == [1.0, 1.0]
        Weighted.scale = 4.0
        assert f(Weighted(fw.ones(2))).tolist() == [4.0, 4.0]
    finally:
        Weighted.scale = 1.0


@dataclass
class Scaled1:
    x: fw.Tensor
    scale: float = 1.0


def test_an_argument_object_holding_one_tensor_is_keyed_by_its_other_attributes():
    @fw.jit.to_static
    def f(batch):  # one argument, one tensor inside it
        return batch.x * batch.scale

    assert f(Scaled1(fw.ones(2), 1.0)).tolist() == [1.0, 1.0]
    assert f(Scaled1(fw.ones(2), 3.0)).tolist() == [3.0, 3.0]


def test_tuple_and_dict_arguments_holding_one_tensor_are_keyed_by_their_numbers():
    @fw.jit.to_static
    def pair(p):
        return p[0] * p[1]

    @fw.jit.to_static
    def named(d):
        return d["x"] * d["s"]

    x = fw.ones(2)
    assert pair((x, 2.0)).tolist() == [2.0, 2.0] and pair((x, 3.0)).tolist() == [3.0, 3.0]
    assert named({"x": x, "s": 2.0}).tolist() == [2.0, 2.0]
    assert named({"x": x, "s": 5.0}).tolist() == [5.0, 5.0]


def test_changing_the_default_dtype_traces_again():
    @fw.jit.to_static
    def f(x):
        return x + fw.zeros(3)  # a new tensor of the default dtype

    x = fw.ones(3)
    assert f(x).dtype == np.float32
    try:
        fw.set_default_dtype(fw.float64)
        assert f(x).dtype == np.float64
    finally:
        fw.set_default_dtype(fw.float32)
    assert f(x).dtype == np.float32 and f.traces == 2


def _train_with_hook(static):
    fw.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = fw.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    f = fw.jit.to_static(step) if static else step
    handle = None
    for i in range(6):
        if i == 2:  # a gradient hook registered after the first trace ...
            handle = model.weight.register_hook(lambda g: g * 0.0)
        if i == 4:  # ... and removed again
            handle.remove()
        f(fw.ones((2, 3)))
    return model.weight.detach().numpy().copy(), f


def test_a_gradient_hook_registered_or_removed_after_tracing_is_not_skipped():
    eager, _ = _train_with_hook(False)
    static, f = _train_with_hook(True)
    np.testing.assert_allclose(static, eager, rtol=1e-6)
    assert f.traces == 2  # removing the hook reuses the first program


def test_a_mode_switch_inside_the_function_is_repeated_by_every_replay():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))

    @fw.jit.to_static
    def evaluate(x):
        model.eval()  # left in evaluation mode, as eager leaves it
        return model(x)

    x = fw.ones((2, 3))
    with _no_jit_warnings():
        for _ in range(3):
            model.train()
            out = evaluate(x)
            assert not model.training and not model[1].training
            np.testing.assert_allclose(out.detach().numpy(), model(x).detach().numpy())
    assert evaluate.traces == 1
