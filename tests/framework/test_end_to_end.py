"""End to end: models trained with a fixed seed on the bundled data reach their targets,
and save -> load gives a model with identical outputs.

BLAS runs single-threaded here: the suite runs two test processes on two cores, and a
threaded BLAS in each only oversubscribes them (and makes sums depend on thread timing).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import framework as fw
import framework.nn.functional as F
from framework import data, nn, optim


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _accuracy(model, x, y):
    model.eval()
    with fw.no_grad():
        pred = model(x).argmax(dim=1)
    model.train()
    return float((pred == y).float().mean().item())


def _outputs_survive_save_and_load(model, fresh, x, path):
    fw.save(model.state_dict(), path)
    before = fresh(x).detach().numpy()
    fresh.load_state_dict(fw.load(path))
    model.eval()
    fresh.eval()
    with fw.no_grad():
        ref = model(x).numpy()
        got = fresh(x).numpy()
    assert not np.array_equal(before, ref)  # the fresh model really was different
    np.testing.assert_array_equal(got, ref)


def _train_digits(model, train, epochs, batch_size, seed, label_smoothing=0.0):
    mean, std = 0.3, 0.4  # roughly the pixel mean and spread of the digits, scaled to [0, 1]
    loader = data.DataLoader(train, batch_size=batch_size, shuffle=True,
                             generator=fw.Generator().manual_seed(seed))
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, epochs=epochs,
                                          steps_per_epoch=len(loader))
    first = last = None
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model((xb - mean) / std), yb, label_smoothing=label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            first = loss.item() if first is None else first
            last = loss.item()
    return opt, (lambda x: (x - mean) / std), first, last


def test_mlp_on_digits_reaches_97_percent_and_resumes_from_a_checkpoint(tmp_path):
    fw.manual_seed(0)
    train, test = data.Digits(train=True, flatten=True), data.Digits(train=False, flatten=True)

    def mlp():
        return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                             nn.Linear(64, 10))

    model = mlp()
    opt, norm, first, last = _train_digits(model, train, epochs=15, batch_size=32, seed=0,
                                           label_smoothing=0.1)
    acc = _accuracy(model, norm(test.data), test.targets)
    assert acc >= 0.97, f"test accuracy {acc:.4f}"
    assert last < first / 3
    _outputs_survive_save_and_load(model, mlp(), norm(test.data), tmp_path / "mlp.safetensors")

    # a checkpoint of model and optimizer resumes training exactly where it stopped
    fw.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "ck.st")
    ck = fw.load(tmp_path / "ck.st")
    twin = mlp()
    twin.load_state_dict(ck["model"])
    twin_opt = optim.AdamW(twin.parameters())
    twin_opt.load_state_dict(ck["optim"])
    xb, yb = norm(train.data[:64]), train.targets[:64]
    for m, o in ((model, opt), (twin, twin_opt)):
        for _ in range(3):
            o.zero_grad()
            F.cross_entropy(m(xb), yb).backward()
            o.step()
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_cnn_on_digits_reaches_97_percent(tmp_path):
    fw.manual_seed(1)
    train, test = data.Digits(train=True), data.Digits(train=False)

    def cnn():
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
        )

    model = cnn()
    _, norm, first, last = _train_digits(model, train, epochs=12, batch_size=64, seed=1)
    acc = _accuracy(model, norm(test.data), test.targets)
    assert acc >= 0.97, f"test accuracy {acc:.4f}"
    assert last < first / 3
    _outputs_survive_save_and_load(model, cnn(), norm(test.data[:50]),
                                   tmp_path / "cnn.safetensors")


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> linear head over the next character."""

    def __init__(self, vocab_size, embed=24, hidden=96):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.head(h)


def _entropies(ids, vocab_size):
    """Unigram entropy and bigram conditional entropy H(next | previous), in nats."""
    p = np.bincount(ids, minlength=vocab_size) / len(ids)
    unigram = -(p[p > 0] * np.log(p[p > 0])).sum()
    pairs = np.zeros((vocab_size, vocab_size))
    np.add.at(pairs, (ids[:-1], ids[1:]), 1)
    joint = pairs / pairs.sum()
    cond = pairs / np.maximum(pairs.sum(axis=1, keepdims=True), 1)
    bigram = -(joint[joint > 0] * np.log(cond[joint > 0])).sum()
    return unigram, bigram


@pytest.mark.slow
def test_char_lstm_on_shakespeare_beats_the_bigram_entropy(tmp_path):
    """Threshold: the validation loss must fall below the bigram conditional entropy of the
    training text (about 2.41 nats; the unigram entropy is about 3.30). A model that only
    learned character frequencies would sit at the unigram entropy and one that only learned
    which character follows which at the bigram entropy, measured on the text it was fitted
    to; getting below that on held-out text means it uses longer context."""
    fw.manual_seed(0)
    train = data.CharCorpus(seq_len=32, train=True)
    val = data.CharCorpus(seq_len=32, train=False)
    vocab = train.vocab_size
    unigram, bigram = _entropies(train.ids, vocab)
    assert 3.0 < unigram < 3.6 and 2.2 < bigram < 2.6

    model = CharLSTM(vocab)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loader = data.DataLoader(train, batch_size=32, shuffle=True,
                             generator=fw.Generator().manual_seed(0))
    steps = 0
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb).reshape(-1, vocab), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps += 1
        if steps == 150:
            break

    def val_loss(m):
        m.eval()
        total = count = 0
        with fw.no_grad():
            for xb, yb in data.DataLoader(val, batch_size=128):
                total += F.cross_entropy(m(xb).reshape(-1, vocab), yb.reshape(-1),
                                         reduction="sum").item()
                count += yb.numel()
        return total / count

    loss = val_loss(model)
    assert loss < bigram, f"validation loss {loss:.3f} nats, bigram entropy {bigram:.3f}"

    xb, _ = next(iter(data.DataLoader(val, batch_size=4)))
    _outputs_survive_save_and_load(model, CharLSTM(vocab), xb, tmp_path / "lstm.safetensors")
