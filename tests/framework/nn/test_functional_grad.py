"""First and second derivatives of nn.functional against finite differences (float64)."""

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def t64(*shape, scale=1.0, shift=0.0):
    return fw.tensor(rng.standard_normal(shape) * scale + shift, dtype=fw.float64,
                     requires_grad=True)


def probs(*shape):
    p = rng.random(shape) + 0.1
    return fw.tensor(p / p.sum(axis=1, keepdims=True), dtype=fw.float64)


# name -> (function of the tensors, tensors)
CASES = {
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)),
               lambda: (t64(2, 2, 5, 6), t64(3, 2, 2, 3), t64(3))),
    "conv2d_groups_same": (lambda x, w: F.conv2d(x, w, padding="same", groups=2),
                           lambda: (t64(1, 4, 4, 4), t64(4, 2, 2, 3))),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
               lambda: (t64(2, 3, 7), t64(2, 3, 3), t64(2))),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                            output_padding=1),
                         lambda: (t64(1, 3, 3, 3), t64(3, 2, 3, 3), t64(2))),
    "conv_transpose2d_groups": (lambda x, w: F.conv_transpose2d(x, w, groups=2, dilation=2),
                                lambda: (t64(1, 4, 3, 3), t64(4, 1, 2, 2))),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1),
                         lambda: (t64(2, 2, 4), t64(2, 3, 3))),
    "interpolate_bilinear": (lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
                             lambda: (t64(1, 2, 3, 4),)),
    "interpolate_nearest": (lambda x: F.interpolate(x, size=(5, 2)), lambda: (t64(1, 2, 3, 4),)),
    "unfold_fold": (lambda x: F.fold(F.unfold(x, 2, padding=1, stride=2) * 2.0, (4, 5), 2,
                                     padding=1, stride=2),
                    lambda: (t64(1, 2, 4, 5),)),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), lambda: (t64(2, 2, 5, 6),)),
    "max_pool2d_2x2": (lambda x: F.max_pool2d(x, 2), lambda: (t64(1, 2, 4, 6),)),
    "max_pool2d_ceil_dilation": (lambda x: F.max_pool2d(x, 2, 2, dilation=2, ceil_mode=True),
                                 lambda: (t64(1, 2, 6, 5),)),
    "max_pool1d": (lambda x: F.max_pool1d(x, 2), lambda: (t64(2, 2, 6),)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                   lambda: (t64(1, 2, 5, 6),)),
    "avg_pool2d_ceil": (lambda x: F.avg_pool2d(x, 2, ceil_mode=True),
                        lambda: (t64(1, 2, 5, 5),)),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)),
                            lambda: (t64(2, 2, 5, 7),)),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
                            lambda: (t64(2, 2, 5, 7),)),
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                         lambda: (t64(3, 2, 2, 2), t64(2), t64(2))),
    "batch_norm_eval": (lambda x, w, b: F.batch_norm(
        x, fw.tensor([0.5, -1.0], dtype=fw.float64), fw.tensor([2.0, 0.5], dtype=fw.float64),
        w, b, training=False), lambda: (t64(3, 2, 2), t64(2), t64(2))),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
                   lambda: (t64(2, 3, 4), t64(3, 4), t64(3, 4))),
    "layer_norm_no_affine": (lambda x: F.layer_norm(x, (5,)), lambda: (t64(3, 5),)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b),
                   lambda: (t64(2, 4, 3), t64(4), t64(4))),
    "rms_norm": (lambda x, w: F.rms_norm(x, (4,), w, eps=1e-6),
                 lambda: (t64(3, 4), t64(4))),
    "embedding": (lambda w: F.embedding(fw.tensor([[0, 2], [2, 1]]), w, padding_idx=3)
                  * w.sum(), lambda: (t64(4, 3),)),
    "linear": (F.linear, lambda: (t64(2, 3), t64(4, 3), t64(4))),
    "bilinear": (F.bilinear, lambda: (t64(2, 3), t64(2, 2), t64(4, 3, 2), t64(4))),
    "cross_entropy": (lambda x: F.cross_entropy(x, fw.tensor([0, 2, 1, 2])),
                      lambda: (t64(4, 3),)),
    "cross_entropy_weight_ignore_sum": (lambda x, w: F.cross_entropy(
        x, fw.tensor([0, 2, -100, 2]), weight=w.abs() + 0.5, reduction="sum"),
        lambda: (t64(4, 3), t64(3))),
    "cross_entropy_none": (lambda x: F.cross_entropy(x, fw.tensor([0, 2, 1]),
                                                     reduction="none"),
                           lambda: (t64(3, 4),)),
    "cross_entropy_smoothing_spatial": (lambda x: F.cross_entropy(
        x, fw.tensor([[0, 2], [1, 1]]), label_smoothing=0.2), lambda: (t64(2, 3, 2),)),
    "cross_entropy_probs": (lambda x, p: F.cross_entropy(x, p * 1.0, label_smoothing=0.1),
                            lambda: (t64(3, 4), probs(3, 4).requires_grad_())),
    "nll_loss": (lambda x: F.nll_loss(x, fw.tensor([1, 0, 2]),
                                      weight=fw.tensor([1.0, 2.0, 0.5], dtype=fw.float64)),
                 lambda: (t64(3, 3),)),
    "mse_loss": (F.mse_loss, lambda: (t64(3, 2), t64(3, 2))),
    "l1_loss": (F.l1_loss, lambda: (t64(3, 2), t64(3, 2, shift=5.0))),
    "smooth_l1_loss": (lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
                       lambda: (t64(4, 2, scale=2.0), t64(4, 2))),
    "huber_loss": (lambda x, y: F.huber_loss(x, y, delta=0.8, reduction="sum"),
                   lambda: (t64(4, 2, scale=2.0), t64(4, 2))),
    "binary_cross_entropy": (lambda p, y: F.binary_cross_entropy(p.sigmoid(), y),
                             lambda: (t64(3, 2), fw.tensor(rng.random((3, 2)),
                                                           requires_grad=True,
                                                           dtype=fw.float64))),
    "bce_with_logits": (lambda x, y, pw: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=pw.abs() + 0.5), lambda: (t64(3, 2, scale=3.0),
                                                   fw.tensor(rng.random((3, 2)),
                                                             requires_grad=True,
                                                             dtype=fw.float64), t64(2))),
    "kl_div": (lambda x, y: F.kl_div(x, y, reduction="batchmean"),
               lambda: (t64(3, 4), probs(3, 4).requires_grad_())),
    "kl_div_log_target": (lambda x, y: F.kl_div(x, y, log_target=True),
                          lambda: (t64(3, 4), t64(3, 4))),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b, dim=-1),
                          lambda: (t64(3, 4), t64(1, 4))),
    "prelu_pixel_shuffle": (lambda x, w: F.pixel_unshuffle(F.pixel_shuffle(F.prelu(x, w), 2)
                                                           * 2.0, 2),
                            lambda: (t64(1, 4, 2, 3), t64(4))),
    "triplet_cosine_embedding": (lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True)
                                 + F.cosine_embedding_loss(a, p, fw.tensor([1.0, -1.0, 1.0])),
                                 lambda: (t64(3, 4), t64(3, 4), t64(3, 4))),
    "poisson_multilabel": (lambda x, y: F.poisson_nll_loss(x, y.abs(), full=True)
                           + F.multilabel_soft_margin_loss(x, y.sigmoid()),
                           lambda: (t64(3, 4), t64(3, 4, scale=2.0))),
    "activations": (lambda x: F.selu(x) + F.celu(x, 0.5) + F.mish(x) + F.softsign(x)
                    + F.logsigmoid(x) + F.hardswish(x) + F.glu(x, 0).sum()
                    + F.softmin(x, 1) + F.normalize(x, dim=1),
                    lambda: (t64(4, 3),)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, make = CASES[name]
    inputs = make()
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_embedding_padding_row_gets_no_gradient_at_any_order():
    w = t64(4, 3)
    idx = fw.tensor([[0, 1], [1, 3]])

    def f(w):
        return F.embedding(idx, w, padding_idx=1) * w.sum()

    (g,) = fw.grad(f(w).sum(), w, create_graph=True)
    out = f(w)
    (direct,) = fw.grad(out, w, grad_outputs=fw.ones_like(out), retain_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), direct.numpy())
    # the padding row's gradient is only the w.sum() term, never the lookup's
    lookup_rows = F.embedding(idx, w.detach(), padding_idx=1).sum().item()
    np.testing.assert_allclose(g.detach().numpy()[1], np.full(3, lookup_rows))
    # differentiating the first gradient again keeps the padding row out of the lookup
    (gg,) = fw.grad(g[1].sum(), w)
    np.testing.assert_allclose(gg.numpy()[1], np.zeros(3))
