"""nn layers inside a jit-traced training step: replays give eager's numbers batch after batch
(dropout draws fresh masks, the cross-entropy mean and gradient clipping follow each batch's
values instead of baking in the first batch's)."""

import numpy as np

import framework as fw
import framework.nn.functional as F
from framework import nn, optim


def _model():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, 3))
    return model, optim.SGD(model.parameters(), lr=0.1)


def _step(model, opt):
    def step(x, y):
        loss = F.cross_entropy(model(x), y, ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss

    return step


def test_traced_training_step_matches_eager_on_every_batch():
    rng = np.random.default_rng(0)
    batches = [(fw.tensor(rng.standard_normal((6, 1, 8, 8)).astype(np.float32)),
                fw.tensor(rng.integers(-1, 3, 6))) for _ in range(6)]
    eager_model, eager_opt = _model()
    eager = _step(eager_model, eager_opt)
    fw.manual_seed(1)
    expect = [eager(x, y).item() for x, y in batches]

    model, opt = _model()
    static = fw.jit.to_static(_step(model, opt), full_graph=True)
    fw.manual_seed(1)
    got = [static(x, y).item() for x, y in batches[:2]]
    traces = static.traces  # the first steps trace (gradients absent, then present)
    got += [static(x, y).item() for x, y in batches[2:]]
    assert static.traces == traces  # the later steps replay the program
    np.testing.assert_allclose(got, expect, rtol=1e-5)
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4,
                                   atol=1e-6)
