"""nn.Module behaviour: registration, traversal, modes, state dicts, hooks, printing."""

import math

import numpy as np
import pytest

import framework as fw
from framework import nn
from framework.autograd import gradcheck, gradgradcheck


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3, bias=False)
        self.scale = nn.Parameter(fw.ones(3))
        self.register_buffer("steps", fw.zeros(1))
        self.register_buffer("scratch", fw.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(fw.relu(self.fc1(x))) * self.scale


def test_registration_by_attribute_assignment():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "fc2"]
    assert [type(c).__name__ for c in net.children()] == ["Linear", "Linear"]
    assert net.fc2.bias is None
    assert all(p.requires_grad for p in net.parameters())
    # reassigning a plain value over a parameter is refused
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = fw.ones(3)
    del net.fc2
    assert [n for n, _ in net.named_modules()] == ["", "fc1"]


def test_assignment_before_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(fw.ones(1))

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_shared_parameter_appears_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, a)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4


def test_state_dict_round_trip_and_persistence():
    fw.manual_seed(0)
    src, dst = Net(), Net()
    sd = src.state_dict()
    assert list(sd) == ["scale", "steps", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert not sd["fc1.weight"].requires_grad
    result = dst.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = fw.randn(5, 4)
    np.testing.assert_array_equal(src(x).detach().numpy(), dst(x).detach().numpy())
    # loading copies values: the parameter objects stay the same
    w = dst.fc1.weight
    dst.load_state_dict(Net().state_dict())
    assert dst.fc1.weight is w


def test_load_state_dict_strict_errors_name_the_keys_and_change_nothing():
    net = Net()
    before = net.fc1.weight.detach().numpy().copy()
    sd = dict(Net().state_dict())
    del sd["fc1.bias"]
    sd["extra.weight"] = fw.ones(1)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "fc1.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    np.testing.assert_array_equal(net.fc1.weight.detach().numpy(), before)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc1.bias"]
    assert res.unexpected_keys == ["extra.weight"]
    assert not np.array_equal(net.fc1.weight.detach().numpy(), before)


def test_load_state_dict_shape_mismatch_raises_even_when_not_strict():
    net = Net()
    sd = dict(net.state_dict())
    sd["fc1.weight"] = fw.zeros(3, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight.*\(3, 3\).*\(8, 4\)"):
        net.load_state_dict(sd, strict=False)


def test_train_eval_flags_propagate():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("yes")


def test_zero_grad_and_requires_grad_():
    net = Net()
    net(fw.randn(2, 4)).sum().backward()
    assert net.fc1.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert float(net.fc1.weight.grad.abs().sum()) == 0.0
    net.zero_grad()
    assert net.fc1.weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_first():
    seen = []
    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential"]


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    w = net.fc1.weight
    net.to(fw.float64)
    assert net.fc1.weight is w and w.dtype == fw.float64
    assert net.steps.dtype == fw.float64
    assert net(fw.randn(2, 4, dtype=fw.float64)).dtype == fw.float64
    net.float()
    assert w.dtype == fw.float32
    with pytest.raises(TypeError, match="floating"):
        net.to(fw.int64)


def test_forward_hooks_can_replace_args_and_outputs_and_be_removed():
    lin = nn.Linear(2, 2)
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: out + 1)
    out = lin(fw.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(lin(fw.zeros(1, 2)).detach().numpy(),
                               lin.bias.detach().numpy()[None], rtol=1e-6)


def test_repr_shows_tree_and_parameter_count():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    text = repr(net)
    assert text.startswith("Sequential(\n  (0): Linear(in_features=4, out_features=8, "
                           "bias=True)\n  (1): ReLU()\n")
    assert text.endswith("# 58 parameters")
    net[0].requires_grad_(False)
    assert "(18 trainable)" in repr(net)
    assert repr(nn.ReLU()) == "ReLU()"
    p = nn.Parameter(fw.tensor([1.0, 2.0]))
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")


def test_parameter_shares_memory_and_defaults_to_requires_grad():
    t = fw.zeros(3)
    p = nn.Parameter(t)
    assert p.requires_grad and isinstance(p, fw.Tensor)
    t.data[0] = 5.0
    assert p.data[0] == 5.0
    assert not nn.Parameter(fw.zeros(1), requires_grad=False).requires_grad


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert seq(fw.ones(4, 2)).shape == (4, 1)
    del seq[0]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]
    with pytest.raises(IndexError):
        seq[5]

    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.Linear(1, 2))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert [n for n, _ in ml.named_parameters()][-1] == "3.bias"

    md = nn.ModuleDict({"enc": nn.Linear(2, 2), "act": nn.ReLU()})
    assert list(md.keys()) == ["enc", "act"] and "enc" in md
    assert sorted(md.state_dict()) == ["enc.bias", "enc.weight"]

    pl = nn.ParameterList([fw.ones(2), fw.zeros(3)])
    assert [tuple(p.shape) for p in pl] == [(2,), (3,)]
    pd = nn.ParameterDict({"a": fw.ones(1)})
    assert list(pd.state_dict()) == ["a"]


def test_get_submodule_and_parameter():
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 2)))
    assert net.get_submodule("0.0") is net[0][0]
    assert net.get_parameter("0.0.bias") is net[0][0].bias
    with pytest.raises(AttributeError):
        net.get_submodule("0.1")


def test_linear_default_init_bounds_and_seeding():
    fw.manual_seed(3)
    a = nn.Linear(100, 50)
    fw.manual_seed(3)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    bound = 1 / math.sqrt(100)
    w = a.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(a.bias.detach().numpy()).max() <= bound


def test_linear_values_and_errors():
    lin = nn.Linear(3, 2)
    x = fw.randn(4, 5, 3)
    expect = x.numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
    np.testing.assert_allclose(lin(x).detach().numpy(), expect, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match=r"linear: input of shape \(4, 2\).*\(2, 3\)"):
        lin(fw.ones(4, 2))


@pytest.mark.parametrize("xshape", [(3,), (2, 3), (2, 2, 3), (0, 3)])
def test_linear_gradcheck(xshape):
    rng = np.random.default_rng(1)
    x = fw.tensor(rng.standard_normal(xshape), dtype=fw.float64, requires_grad=True)
    w = fw.tensor(rng.standard_normal((2, 3)), dtype=fw.float64, requires_grad=True)
    b = fw.tensor(rng.standard_normal(2), dtype=fw.float64, requires_grad=True)
    f = nn.functional.linear
    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))
    assert gradcheck(lambda x, w: f(x, w), (x, w))


def test_bilinear_gradcheck():
    rng = np.random.default_rng(2)
    t = lambda *s: fw.tensor(rng.standard_normal(s), dtype=fw.float64,  # noqa: E731
                             requires_grad=True)
    x1, x2, w, b = t(4, 3), t(4, 2), t(5, 3, 2), t(5)
    out = nn.functional.bilinear(x1, x2, w, b)
    expect = np.einsum("bi,oij,bj->bo", x1.detach().numpy(), w.detach().numpy(),
                       x2.detach().numpy()) + b.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), expect, rtol=1e-10)
    assert gradcheck(nn.functional.bilinear, (x1, x2, w, b))
    assert gradgradcheck(nn.functional.bilinear, (x1, x2, w, b))
