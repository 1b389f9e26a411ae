"""Data: datasets, samplers, DataLoader, collation, transforms, and the offline data sets."""

import fnmatch
import gzip
import shutil
import struct
import tomllib
from collections import namedtuple
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import framework as fw
from framework import data
from framework.data import transforms as T

ROOT = Path(__file__).resolve().parents[2]


def _ds(n=10):
    return data.TensorDataset(fw.arange(n * 2).reshape(n, 2).float(), fw.arange(n))


# ----- datasets and loader ------------------------------------------------------------------

def test_tensor_dataset_rows_and_size_check():
    ds = _ds(5)
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3 and len(ds) == 5
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(4,\)"):
        data.TensorDataset(fw.zeros(5, 2), fw.zeros(4))


def test_loader_batches_in_order_with_and_without_drop_last():
    ds = _ds(10)
    batches = [yb.tolist() for _, yb in data.DataLoader(ds, batch_size=4)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = data.DataLoader(ds, batch_size=4, drop_last=True)
    assert [yb.tolist() for _, yb in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(loader) == 2
    assert len(data.DataLoader(ds, batch_size=4)) == 3
    xb, _ = next(iter(data.DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 2) and xb.dtype == fw.float32


def test_shuffle_is_reproducible_with_a_seeded_generator_and_covers_every_sample():
    ds = _ds(20)

    def epochs(seed):
        loader = data.DataLoader(ds, batch_size=6, shuffle=True,
                                 generator=fw.Generator().manual_seed(seed))
        return [[i for _, yb in loader for i in yb.tolist()] for _ in range(2)]

    a, b, c = epochs(1), epochs(1), epochs(2)
    assert a == b and a != c
    assert a[0] != a[1]  # a new order each epoch
    assert sorted(a[0]) == list(range(20)) and a[0] != list(range(20))
    fw.manual_seed(5)
    g1 = [yb.tolist() for _, yb in data.DataLoader(ds, batch_size=20, shuffle=True)]
    fw.manual_seed(5)
    g2 = [yb.tolist() for _, yb in data.DataLoader(ds, batch_size=20, shuffle=True)]
    assert g1 == g2


def test_batch_gathering_matches_collating_samples_one_by_one():
    ds = _ds(9)
    order = data.SubsetRandomSampler(range(9), generator=fw.Generator().manual_seed(0))
    idx = list(order)
    fast = list(data.DataLoader(ds, batch_size=4, sampler=idx))
    slow = list(data.DataLoader(ds, batch_size=4, sampler=idx,
                                collate_fn=data.default_collate))
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
    assert [y.tolist() for _, y in fast][0] == idx[:4]


def test_sampler_batch_sampler_and_no_batching():
    ds = _ds(6)
    loader = data.DataLoader(ds, batch_sampler=[[5, 0], [2]])
    assert [yb.tolist() for _, yb in loader] == [[5, 0], [2]]
    single = list(data.DataLoader(ds, batch_size=None))
    assert len(single) == 6 and single[2][1].item() == 2 and single[2][0].shape == (2,)
    bs = data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    rs = data.RandomSampler(range(4), replacement=True, num_samples=10,
                            generator=fw.Generator().manual_seed(0))
    draws = list(rs)
    assert len(draws) == 10 and set(draws) <= {0, 1, 2, 3}


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0), "batch_size should be a positive integer"),
    (dict(sampler=[0, 1], shuffle=True), "sampler is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
    (dict(num_workers=2), "num_workers must be 0"),
])
def test_loader_rejects_conflicting_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.DataLoader(_ds(4), **kwargs)


def test_default_collate_handles_structures():
    Point = namedtuple("Point", "x y")
    batch = [
        {"img": np.ones((2, 2), np.float32) * i, "label": i, "w": 0.5 * i, "ok": True,
         "name": f"s{i}", "pair": (fw.tensor([i, i]), i), "pt": Point(i, 1.0)}
        for i in range(3)
    ]
    out = data.default_collate(batch)
    assert out["img"].shape == (3, 2, 2) and isinstance(out["img"], fw.Tensor)
    assert out["label"].dtype == fw.int64 and out["label"].tolist() == [0, 1, 2]
    assert out["w"].dtype == fw.float64 and out["ok"].dtype == fw.bool
    assert out["name"] == ["s0", "s1", "s2"]
    assert isinstance(out["pair"], list) and out["pair"][0].tolist() == [[0, 0], [1, 1], [2, 2]]
    assert isinstance(out["pt"], Point) and out["pt"].x.tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="equal shapes"):
        data.default_collate([fw.zeros(2), fw.zeros(3)])
    with pytest.raises(TypeError, match="got object"):
        data.default_collate([object()])


def test_iterable_dataset_is_batched_in_stream_order():
    class Count(data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in data.DataLoader(Count(), batch_size=3)] == \
        [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in data.DataLoader(Count(), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="shuffle must be False"):
        data.DataLoader(Count(), shuffle=True)
    with pytest.raises(TypeError, match="not by index"):
        Count()[0]


def test_random_split_by_lengths_and_fractions():
    gen = fw.Generator().manual_seed(3)
    a, b = data.random_split(range(10), [7, 3], generator=gen)
    assert len(a) == 7 and len(b) == 3
    assert sorted(list(a) + list(b)) == list(range(10))
    c, d = data.random_split(range(10), [7, 3], generator=fw.Generator().manual_seed(3))
    assert list(a) == list(c) and list(b) == list(d)
    parts = data.random_split(range(11), [0.5, 0.3, 0.2], generator=gen)
    assert [len(p) for p in parts] == [6, 3, 2]
    assert sorted(i for p in parts for i in p) == list(range(11))
    with pytest.raises(ValueError, match="sum to 9"):
        data.random_split(range(10), [5, 4])
    with pytest.raises(ValueError, match="non-negative integers or fractions"):
        data.random_split(range(10), [0.5, 0.2])


def test_random_split_of_a_tensor_dataset_still_loads_fast_and_right():
    ds = _ds(12)
    train, _ = data.random_split(ds, [8, 4], generator=fw.Generator().manual_seed(0))
    ys = [int(y) for _, yb in data.DataLoader(train, batch_size=3) for y in yb.tolist()]
    assert ys == train.indices


def test_subset_and_concat():
    sub = data.Subset(_ds(10), [9, 1])
    assert sub[0][1].item() == 9 and len(sub) == 2
    cat = data.ConcatDataset([range(3), range(10, 12)])
    assert [cat[i] for i in range(len(cat))] == [0, 1, 2, 10, 11] and cat[-1] == 11
    with pytest.raises(IndexError):
        cat[5]


# ----- transforms ---------------------------------------------------------------------------

def test_normalize_per_channel():
    x = fw.tensor(np.stack([np.full((2, 2), 1.0), np.full((2, 2), 3.0)]).astype(np.float32))
    out = T.Normalize([1.0, 1.0], [1.0, 2.0])(x)
    np.testing.assert_allclose(out.numpy()[0], 0.0)
    np.testing.assert_allclose(out.numpy()[1], 1.0)
    assert x.numpy()[1, 0, 0] == 3.0  # not in place by default
    batch = T.Normalize([0.5], [0.5])(fw.ones(4, 1, 3, 3))
    np.testing.assert_allclose(batch.numpy(), 1.0)
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize([0.0], [0.0])


def test_random_crop_with_padding_is_a_window_of_the_padded_image():
    img = fw.tensor(np.arange(16, dtype=np.float32).reshape(1, 4, 4) + 1)
    padded = np.pad(img.numpy(), ((0, 0), (2, 2), (2, 2)))
    crop = T.RandomCrop(4, padding=2, generator=fw.Generator().manual_seed(0))
    seen = set()
    for _ in range(30):
        out = crop(img).numpy()
        assert out.shape == (1, 4, 4)
        hits = [(i, j) for i in range(5) for j in range(5)
                if np.array_equal(padded[:, i:i + 4, j:j + 4], out)]
        assert hits
        seen.add(hits[0])
    assert len(seen) > 5
    edge = T.RandomCrop((2, 3), padding=(1, 0), padding_mode="edge")(img)
    assert edge.shape == (1, 2, 3)
    with pytest.raises(ValueError, match="larger than"):
        T.RandomCrop(6)(img)


def test_flips_and_to_tensor_and_compose():
    img = fw.tensor(np.arange(6, dtype=np.float32).reshape(1, 2, 3))
    assert T.RandomHorizontalFlip(p=1.0)(img).tolist() == [[[2, 1, 0], [5, 4, 3]]]
    assert T.RandomHorizontalFlip(p=0.0)(img) is img
    assert T.RandomVerticalFlip(p=1.0)(img).tolist() == [[[3, 4, 5], [0, 1, 2]]]
    hwc = np.zeros((2, 3, 3), np.uint8)
    hwc[..., 1] = 255
    t = T.ToTensor()(hwc)
    assert t.shape == (3, 2, 3) and t.dtype == fw.float32 and t.numpy()[1].min() == 1.0
    pipeline = T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    assert pipeline(hwc).numpy()[1].max() == 1.0 and pipeline(hwc).numpy()[0].min() == -1.0
    with pytest.raises(TypeError, match="use ToTensor first"):
        T.RandomHorizontalFlip()(hwc)


# ----- bundled digits -----------------------------------------------------------------------

def test_digits_split_is_fixed_disjoint_and_stratified():
    images, labels = data.load_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.dtype == fw.float32 and 0.0 <= images.numpy().min() <= images.numpy().max() \
        <= 1.0
    raw, _ = data.load_digits(scale=False)
    assert raw.dtype == fw.int64 and raw.numpy().max() == 16
    train, test = data.Digits(train=True), data.Digits(train=False)
    assert (len(train), len(test)) == (1442, 355)
    counts = np.bincount(test.targets.numpy(), minlength=10)
    assert counts.min() >= 34 and counts.max() <= 36
    # the two parts together are exactly the whole set
    both = np.concatenate([train.data.numpy().reshape(-1, 64), test.data.numpy().reshape(-1, 64)])
    allx = images.numpy().reshape(-1, 64)
    assert sorted(map(bytes, both)) == sorted(map(bytes, allx))
    x, y = train[0]
    assert x.shape == (1, 8, 8) and y.dtype == fw.int64
    assert data.Digits(flatten=True)[0][0].shape == (64,)


def test_digits_with_transforms_goes_through_them():
    flip = data.Digits(train=False, transform=T.RandomHorizontalFlip(p=1.0),
                       target_transform=lambda y: int(y) + 100)
    plain = data.Digits(train=False)
    xb, yb = next(iter(data.DataLoader(flip, batch_size=5)))
    np.testing.assert_array_equal(xb.numpy(), plain.data.numpy()[:5, :, :, ::-1])
    assert yb.tolist() == [int(v) + 100 for v in plain.targets.numpy()[:5]]


# ----- IDX / MNIST --------------------------------------------------------------------------

def _write_idx(path, arr, code=0x08):
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    payload = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload)
    Path(path).write_bytes(payload)


def _fake_mnist(folder, n=5, gz=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    ext = ".gz" if gz else ""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix in ("train", "t10k"):
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files_it_is_given(tmp_path, gz):
    images, labels = _fake_mnist(tmp_path / "MNIST" / "raw", gz=gz)
    ds = data.MNIST(tmp_path, train=True)
    assert len(ds) == 5
    x, y = ds[2]
    assert x.shape == (1, 28, 28) and x.dtype == fw.float32
    np.testing.assert_allclose(x.numpy()[0], images[2] / 255.0, rtol=1e-6)
    assert y.item() == labels[2] and ds.targets.dtype == fw.int64
    xb, yb = next(iter(data.DataLoader(ds, batch_size=4)))
    np.testing.assert_allclose(xb.numpy()[:, 0], images[:4] / 255.0, rtol=1e-6)
    assert yb.tolist() == labels[:4].tolist()


def test_read_idx_other_types_and_damage(tmp_path):
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    _write_idx(tmp_path / "f.idx", arr, code=0x0D)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "f.idx"), arr)
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01\0\0\0\1x")
    with pytest.raises(ValueError, match="bad magic"):
        data.read_idx(tmp_path / "bad")
    good = (tmp_path / "f.idx").read_bytes()
    (tmp_path / "cut").write_bytes(good[:-5])
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(tmp_path / "cut")
    (tmp_path / "huge.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 3]) +
                                                     struct.pack(">III", 2**31, 2**31, 4)))
    with pytest.raises(ValueError, match="limit"):
        data.read_idx(tmp_path / "huge.gz")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(ValueError, match="could not be read"):
        data.read_idx(tmp_path / "broken.gz")


def test_missing_mnist_files_say_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.FashionMNIST(tmp_path, train=False, download=True)
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert str(tmp_path / "FashionMNIST" / "raw") in msg and "does not download" in msg


def test_real_mnist_test_set_when_present(tmp_path):
    src = ROOT.parent / "shared" / "data" / "mnist"
    if not (src / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the MNIST test files are not at {src}")
    dst = tmp_path / "mnist"
    shutil.copytree(src, dst)
    ds = data.MNIST(dst, train=False)
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert np.bincount(ds.targets.numpy()).min() > 800
    assert ds[0][1].item() == 7  # the first test image is a 7


# ----- text ---------------------------------------------------------------------------------

def test_char_corpus_windows_and_round_trip():
    corpus = data.CharCorpus("abcabcabcd", seq_len=3, split=1.0)
    assert corpus.vocab == ["a", "b", "c", "d"] and corpus.vocab_size == 4
    x, y = corpus[1]
    assert corpus.decode(x) == "abc" and corpus.decode(y) == "bca"
    assert len(corpus) == 3
    assert corpus.decode(corpus.encode("dcba")) == "dcba"
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        corpus.encode("z")
    with pytest.raises(IndexError):
        corpus[3]
    xb, yb = next(iter(data.DataLoader(corpus, batch_size=3)))
    assert [corpus.decode(r) for r in xb] == ["abc", "abc", "abc"]
    assert [corpus.decode(r) for r in yb] == ["bca", "bca", "bcd"]


def test_bundled_shakespeare_train_and_validation_parts():
    text = data.load_shakespeare()
    assert 240_000 < len(text) < 260_000 and text.startswith("First Citizen:")
    train = data.CharCorpus(seq_len=64, train=True)
    val = data.CharCorpus(seq_len=64, train=False)
    assert train.vocab == val.vocab and len(train) > 8 * len(val) > 0
    assert len(train.ids) + len(val.ids) == len(text)
    x, y = val[0]
    assert corpus_text_at(val, 0) == text[len(train.ids):len(train.ids) + 65]
    assert x.shape == (64,) and y.dtype == fw.int64


def corpus_text_at(corpus, i):
    x, y = corpus[i]
    return corpus.decode(x) + corpus.decode(y)[-1]


# ----- packaging ----------------------------------------------------------------------------

def test_bundled_files_are_package_data_with_their_notice():
    files = resources.files("framework.data") / "files"
    names = sorted(p.name for p in files.iterdir())
    assert {"README.md", "uci-digits.csv.gz", "tinyshakespeare-250k.txt"} <= set(names)
    notice = (files / "README.md").read_text()
    assert "CC BY 4.0" in notice and "Alpaydin" in notice and "public domain" in notice
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    for name in names:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
