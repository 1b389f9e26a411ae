"""Layer behaviour: modes, running statistics, dropout, embedding, init, utils, errors."""

import math

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework import nn


def test_batchnorm_running_stats_and_eval_mode():
    fw.manual_seed(0)
    bn = nn.BatchNorm2d(3, momentum=0.5)
    x = fw.randn(8, 3, 4, 4) * 2.0 + 1.0
    y = bn(x)
    xs = x.numpy()
    mean = xs.mean(axis=(0, 2, 3))
    var_unbiased = xs.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * var_unbiased, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    # training output is normalized per channel
    np.testing.assert_allclose(y.detach().numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.detach().numpy().std(axis=(0, 2, 3)), 1, atol=1e-3)
    bn.eval()
    z = bn(x).detach().numpy()
    expect = (xs - bn.running_mean.numpy()[None, :, None, None]) / np.sqrt(
        bn.running_var.numpy()[None, :, None, None] + bn.eps)
    np.testing.assert_allclose(z, expect, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 1  # eval does not count batches
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]


def test_batchnorm_rejects_single_value_per_channel_and_wrong_rank():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(fw.ones(1, 3))
    with pytest.raises(ValueError, match="4-D"):
        nn.BatchNorm2d(3)(fw.ones(2, 3))


def test_dropout_is_seeded_scaled_and_off_in_eval():
    d = nn.Dropout(0.25)
    x = fw.ones(200, 100)
    fw.manual_seed(7)
    a = d(x).numpy()
    fw.manual_seed(7)
    b = d(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    assert float(F.dropout(x, 1.0).abs().sum()) == 0.0


def test_dropout_gradient_uses_the_same_mask():
    fw.manual_seed(1)
    x = fw.ones(50, 20, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_dropout2d_zeroes_whole_channels():
    fw.manual_seed(3)
    y = F.dropout2d(fw.ones(4, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(4, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))


def test_embedding_padding_idx_row_is_zero_and_gets_no_gradient():
    fw.manual_seed(0)
    emb = nn.Embedding(6, 4, padding_idx=2)
    np.testing.assert_array_equal(emb.weight.detach().numpy()[2], np.zeros(4))
    idx = fw.tensor([[2, 1, 2], [5, 1, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.detach().numpy(), emb.weight.detach().numpy()[idx.numpy()])
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    np.testing.assert_array_equal(grad[2], np.zeros(4))
    np.testing.assert_array_equal(grad[1], np.full(4, 2.0))
    np.testing.assert_array_equal(grad[3], np.zeros(4))
    with pytest.raises(IndexError, match="out of range"):
        emb(fw.tensor([6]))
    with pytest.raises(RuntimeError, match="integer"):
        emb(fw.tensor([1.0]))


def test_embedding_from_pretrained_and_max_norm():
    table = fw.tensor([[3.0, 4.0], [0.3, 0.4]])
    emb = nn.Embedding.from_pretrained(table, max_norm=1.0)
    assert not emb.weight.requires_grad
    out = emb(fw.tensor([0, 1])).numpy()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), [1.0, 0.5], rtol=1e-5)


def test_conv_layer_shapes_repr_and_errors():
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
    assert conv(fw.zeros(2, 3, 9, 9)).shape == (2, 8, 5, 5)
    assert repr(conv).startswith("Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), "
                                 "padding=(1, 1), bias=False)")
    with pytest.raises(RuntimeError, match=r"has 4 channels but weight .* expects 3"):
        conv(fw.zeros(1, 4, 9, 9))
    with pytest.raises(RuntimeError, match="larger than the padded input"):
        nn.Conv2d(1, 1, 5)(fw.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    up = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1)
    assert up(fw.zeros(1, 8, 5, 5), output_size=(10, 10)).shape == (1, 3, 10, 10)
    assert nn.Conv1d(2, 4, 3, padding="same")(fw.zeros(3, 2, 7)).shape == (3, 4, 7)


def test_conv2d_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 2))
    out = F.conv2d(fw.tensor(x), fw.tensor(w), stride=(1, 2), padding=1).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expect = np.zeros(out.shape)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = xp[:, :, i:i + 3, 2 * j:2 * j + 2]
            expect[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    np.testing.assert_allclose(out, expect, rtol=1e-10)


def test_max_pool_indices_and_errors():
    x = fw.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(out.numpy().ravel(), [5, 7, 13, 15])
    np.testing.assert_array_equal(idx.numpy().ravel(), [5, 7, 13, 15])
    assert idx.dtype == fw.int64
    # NaN wins a window wherever it sits in it, as in PyTorch
    nan = x.numpy().copy()
    nan[0, 0, 1, 1] = nan[0, 0, 2, 2] = np.nan
    out = F.max_pool2d(fw.tensor(nan), 2).numpy().ravel()
    assert np.isnan(out[0]) and np.isnan(out[3]) and out[1] == 7
    with pytest.raises(RuntimeError, match="at most half"):
        F.max_pool2d(x, 2, padding=2)
    assert repr(nn.MaxPool2d(2)) == ("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                                     "ceil_mode=False)")


def test_layer_norm_errors_name_the_shapes():
    with pytest.raises(RuntimeError, match=r"normalized_shape \[4\].*\(2, 3\)"):
        F.layer_norm(fw.ones(2, 3), (4,))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def test_activation_modules_match_functions():
    x = fw.randn(3, 4)
    pairs = [(nn.ReLU(), F.relu(x)), (nn.GELU("tanh"), F.gelu(x, approximate="tanh")),
             (nn.LeakyReLU(0.1), F.leaky_relu(x, 0.1)), (nn.Softmax(1), F.softmax(x, 1)),
             (nn.LogSoftmax(1), F.log_softmax(x, 1)), (nn.Tanh(), x.tanh()),
             (nn.SiLU(), x * x.sigmoid()), (nn.Softplus(), F.softplus(x))]
    for mod, expect in pairs:
        np.testing.assert_allclose(mod(x).numpy(), expect.numpy(), rtol=1e-6)
    with pytest.raises(ValueError):
        nn.GELU("fast")


def test_cross_entropy_fast_path_agrees_with_the_general_path():
    rng = np.random.default_rng(0)
    x = fw.tensor(rng.standard_normal((5, 4)), dtype=fw.float64, requires_grad=True)
    t = fw.tensor([0, 3, -100, 1, 3])
    w = fw.tensor([1.0, 2.0, 0.5, 1.5], dtype=fw.float64)
    fast = F.cross_entropy(x, t, weight=w)
    # the general path (via log_softmax + nll_loss)
    slow = F.nll_loss(F.log_softmax(x, 1), t, weight=w)
    np.testing.assert_allclose(fast.item(), slow.item(), rtol=1e-12)
    (g1,) = fw.grad(fast, x)
    (g2,) = fw.grad(slow, x)
    np.testing.assert_allclose(g1.numpy(), g2.numpy(), rtol=1e-12)
    # all targets ignored: NaN, as in PyTorch
    assert math.isnan(F.cross_entropy(x, fw.full((5,), -100)).item())


def test_loss_errors():
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(fw.ones(2), fw.ones(2), reduction="avg")
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        F.mse_loss(fw.ones(2, 3), fw.ones(4))
    with pytest.raises(IndexError, match=r"target values must be in \[0, 3\)"):
        F.cross_entropy(fw.zeros(2, 3), fw.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="target of shape"):
        F.cross_entropy(fw.zeros(2, 3), fw.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="probabilities"):
        F.binary_cross_entropy(fw.tensor([1.5]), fw.tensor([1.0]))


def test_one_hot():
    out = F.one_hot(fw.tensor([[0, 2], [1, 0]]))
    assert out.dtype == fw.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy()[0, 1], [0, 0, 1])
    assert F.one_hot(fw.tensor([1]), num_classes=4).shape == (1, 4)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(fw.tensor([4]), num_classes=4)


def test_init_functions_are_seeded_and_follow_their_formulas():
    w = fw.empty(300, 200)
    fw.manual_seed(0)
    a = nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu").numpy().copy()
    fw.manual_seed(0)
    b = nn.init.kaiming_normal_(fw.empty(300, 200), mode="fan_out",
                                nonlinearity="relu").numpy()
    np.testing.assert_array_equal(a, b)
    assert a.std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    u = nn.init.xavier_uniform_(fw.empty(300, 200), gain=2.0).numpy()
    assert np.abs(u).max() <= 2 * math.sqrt(6 / 500)
    t = nn.init.trunc_normal_(fw.empty(10000), std=2.0, a=-1.0, b=3.0).numpy()
    assert t.min() >= -1.0 and t.max() <= 3.0
    assert np.all(nn.init.constant_(fw.empty(3), 0.5).numpy() == 0.5)
    assert np.all(nn.init.zeros_(fw.ones(3)).numpy() == 0)
    assert np.all(nn.init.ones_(fw.zeros(3)).numpy() == 1)
    q = nn.init.orthogonal_(fw.empty(4, 6)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(fw.empty(3))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    # initializers work on parameters that require grad (no graph is recorded)
    p = nn.Parameter(fw.zeros(3, 3))
    nn.init.normal_(p)
    assert p.requires_grad and p.grad_fn is None


def test_clip_grad_value_and_vector_round_trip():
    net = nn.Linear(3, 2)
    net(fw.randn(4, 3) * 10).sum().backward()
    nn.utils.clip_grad_value_(net.parameters(), 0.1)
    assert all(np.abs(p.grad.numpy()).max() <= 0.1 for p in net.parameters())
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(vec * 0 + 1.5, net.parameters())
    assert np.all(net.weight.detach().numpy() == 1.5)
    with pytest.raises(ValueError, match="8"):
        nn.utils.vector_to_parameters(fw.ones(7), net.parameters())


def test_clip_grad_norm_scales_to_max_norm():
    p = nn.Parameter(fw.zeros(4))
    p.grad = fw.tensor([3.0, 4.0, 0.0, 0.0])
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert total.item() == pytest.approx(5.0)
    assert np.linalg.norm(p.grad.numpy()) == pytest.approx(1.0, rel=1e-5)
    p.grad = fw.tensor([float("nan"), 1.0, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_small_cnn_learns_a_separable_task():
    fw.manual_seed(0)
    rng = np.random.default_rng(0)
    # bright top half vs bright bottom half
    x = rng.random((64, 1, 8, 8)).astype(np.float32) * 0.2
    y = rng.integers(0, 2, 64)
    for i, label in enumerate(y):
        x[i, 0, 4 * label:4 * label + 4, :] += 1.0
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.BatchNorm2d(4), nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 2))
    xs, ys = fw.tensor(x), fw.tensor(y)
    first = None
    for _ in range(30):
        loss = F.cross_entropy(model(xs), ys)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with fw.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * 0.1)
    model.eval()
    with fw.no_grad():
        acc = (model(xs).numpy().argmax(1) == y).mean()
    assert loss.item() < 0.5 * first and acc > 0.95


def test_empty_batches_flow_through_layers_and_gradients():
    x = fw.zeros(0, 2, 5, 5, requires_grad=True)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    y = F.max_pool2d(conv(x), 2)
    assert y.shape == (0, 3, 2, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5)
    assert float(conv.weight.grad.abs().sum()) == 0.0
    assert F.avg_pool2d(x, 2).shape == (0, 2, 2, 2)
    assert nn.Embedding(4, 2)(fw.zeros(0, dtype=fw.int64)).shape == (0, 2)
    assert math.isnan(F.cross_entropy(fw.zeros(0, 3), fw.zeros(0, dtype=fw.int64)).item())
