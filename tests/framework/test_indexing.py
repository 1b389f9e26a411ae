"""Indexing, gather/scatter and sorting: values, gradients (repeated indices and masks add
up), second derivatives in float64, and errors."""

import numpy as np
import pytest

import framework as fw
from framework.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(2)


def t64(*shape):
    return fw.tensor(rng.standard_normal(shape), dtype=fw.float64, requires_grad=True)


IDX = fw.tensor([[0, 2, 2], [1, 1, 0]])
SR_IDX = fw.tensor([[0, 2, 2, 1, 0], [3, 3, 0, 3, 3]])
MASK = fw.tensor([[True, False, True, True], [False, False, True, False], [True] * 4])

CASES = {
    "basic_slice": (lambda x: x[1:, ::-2], [(3, 4)]),
    "int_and_none": (lambda x: x[-1, None, 1:3], [(3, 4)]),
    "ellipsis": (lambda x: x[..., 0], [(2, 3, 2)]),
    "repeated_int_index": (lambda x: x[fw.tensor([0, 0, 2, 0])], [(3, 2)]),
    "list_index_two_dims": (lambda x: x[[0, 2, 2], [1, 1, 3]], [(3, 4)]),
    "bool_mask": (lambda x: x[MASK], [(3, 4)]),
    "bool_row_mask": (lambda x: x[fw.tensor([True, False, True])], [(3, 2)]),
    "scalar_0d": (lambda x: x[()], [()]),
    "empty_selection": (lambda x: x[fw.tensor([], dtype=fw.int64)], [(3,)]),
    "gather": (lambda x: fw.gather(x, 1, IDX), [(2, 4)]),
    "gather_dim0_smaller_index": (lambda x: x.gather(0, fw.tensor([[2, 0], [2, 2]])), [(3, 3)]),
    "scatter_add_both": (lambda x, s: fw.scatter_add(x, 1, IDX, s), [(2, 4), (2, 3)]),
    "scatter_add_larger_src": (lambda x, s: x.scatter_add(1, IDX, s), [(2, 4), (3, 4)]),
    "scatter_src": (lambda x, s: fw.scatter(x, 1, fw.tensor([[3, 0], [1, 2]]), s),
                    [(2, 4), (2, 2)]),
    "scatter_value": (lambda x: x.scatter(0, fw.tensor([[1, 0, 1]]), 2.0), [(2, 3)]),
    "index_select": (lambda x: fw.index_select(x, 1, fw.tensor([3, 0, 3])), [(2, 4)]),
    "masked_fill": (lambda x: x.masked_fill(MASK[0], 0.5), [(3, 4)]),
    "masked_fill_tensor_value": (lambda x, v: fw.masked_fill(x, MASK, v), [(3, 4), ()]),
    "take_along_dim": (lambda x: fw.take_along_dim(x, fw.tensor([[1], [0]]), 1), [(2, 3)]),
    "take_along_dim_broadcast": (lambda x: fw.take_along_dim(x, fw.tensor([[[2, 0]]]), 2),
                                 [(2, 3, 3)]),
    "take_along_dim_flat": (lambda x: fw.take_along_dim(x, fw.tensor([5, 0, 5])), [(2, 3)]),
    "masked_select": (lambda x: fw.masked_select(x, MASK), [(3, 4)]),
    "sort_values": (lambda x: fw.sort(x, dim=0, descending=True).values, [(3, 2)]),
    "topk_values": (lambda x: fw.topk(x, 2, dim=1).values, [(2, 4)]),
    "topk_smallest": (lambda x: x.topk(1, largest=False)[0], [(4,)]),
    "kthvalue": (lambda x: fw.kthvalue(x, 2, dim=0).values, [(3, 2)]),
    "sort_0d": (lambda x: fw.sort(x).values, [()]),
    "msort": (lambda x: fw.msort(x), [(3, 2)]),
    "scatter_reduce_sum": (lambda x, s: fw.scatter_reduce(x, 1, SR_IDX, s, "sum",
                                                          include_self=False), [(2, 4), (2, 5)]),
    "scatter_reduce_mean": (lambda x, s: x.scatter_reduce(1, SR_IDX, s, "mean"),
                            [(2, 4), (2, 5)]),
    "scatter_reduce_amax": (lambda x, s: fw.scatter_reduce(x, 1, SR_IDX, s, "amax"),
                            [(2, 4), (2, 5)]),
    "scatter_reduce_amin": (lambda x, s: fw.scatter_reduce(x, 1, SR_IDX, s, "amin",
                                                           include_self=False),
                            [(2, 4), (2, 5)]),
    "index_add": (lambda x, s: fw.index_add(x, 1, fw.tensor([2, 0, 2]), s, alpha=1.5),
                  [(2, 4), (2, 3)]),
    "index_fill": (lambda x: x.index_fill(0, fw.tensor([1, 1]), -2.0), [(3, 2)]),
    "index_fill_tensor_value": (lambda x, v: fw.index_fill(x, 1, fw.tensor([0, 2, 0]), v),
                                [(2, 3), ()]),
    "take": (lambda x: fw.take(x, fw.tensor([[5, 0], [5, 1]])), [(2, 3)]),
    "diagonal": (lambda x: fw.diagonal(x, offset=-1, dim1=2, dim2=0), [(3, 2, 4)]),
    "diag_vector": (lambda x: fw.diag(x, 1), [(3,)]),
    "diag_matrix": (lambda x: x.diag(-1), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, shapes = CASES[name]
    inputs = tuple(t64(*s) for s in shapes)

    def f(*xs):
        y = fn(*xs)
        return y * y

    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def test_repeated_indices_accumulate_gradient():
    x = fw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[fw.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_boolean_mask_gradient_lands_on_selected_elements():
    x = fw.tensor([[1.0, -2.0], [3.0, -4.0]], requires_grad=True)
    (x[x > 0] * fw.tensor([10.0, 20.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[10.0, 0.0], [20.0, 0.0]])


def test_gather_and_scatter_values_match_numpy():
    a = rng.standard_normal((3, 4))
    idx = np.array([[0, 3, 3], [2, 1, 0], [1, 1, 1]])
    x = fw.tensor(a)
    np.testing.assert_array_equal(fw.gather(x, 1, fw.tensor(idx)).numpy(),
                                  np.take_along_axis(a, idx, 1))
    out = fw.scatter_add(fw.zeros(3, 4, dtype=fw.float64), 1, fw.tensor(idx), x[:, :3])
    want = np.zeros((3, 4))
    for i in range(3):
        for j in range(3):
            want[i, idx[i, j]] += a[i, j]
    np.testing.assert_allclose(out.numpy(), want)
    s = fw.scatter(fw.zeros(2, 3), 0, fw.tensor([[1, 0, 1]]), 7.0)
    np.testing.assert_array_equal(s.numpy(), [[0, 7, 0], [7, 0, 7]])
    assert fw.index_select(x, 0, fw.tensor([2, 0])).tolist() == a[[2, 0]].tolist()


def test_scatter_gradient_of_input_skips_overwritten_positions():
    x = fw.ones(2, 3, requires_grad=True)
    src = fw.full((1, 3), 2.0, requires_grad=True)
    y = fw.scatter(x, 0, fw.tensor([[1, 0, 1]]), src)
    (y * fw.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 3], [0, 5, 0]])
    np.testing.assert_array_equal(src.grad.numpy(), [[4, 2, 6]])


def test_masked_fill_keeps_dtype_and_shape():
    x = fw.tensor([1, 2, 3])
    y = x.masked_fill(fw.tensor([True, False, True]), 9)
    assert y.dtype == fw.int64 and y.tolist() == [9, 2, 9]


def test_nonzero():
    x = fw.tensor([[0.0, 1.0], [2.0, 0.0]])
    assert fw.nonzero(x).tolist() == [[0, 1], [1, 0]]
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]


def test_sort_is_stable_both_ways_and_argsort_agrees():
    x = fw.tensor([2.0, 1.0, 2.0, 3.0, 1.0])
    asc = fw.sort(x)
    assert asc.values.tolist() == [1, 1, 2, 2, 3] and asc.indices.tolist() == [1, 4, 0, 2, 3]
    desc = x.sort(descending=True)
    assert desc.values.tolist() == [3, 2, 2, 1, 1] and desc.indices.tolist() == [3, 0, 2, 1, 4]
    assert fw.argsort(x, descending=True).tolist() == [3, 0, 2, 1, 4]
    m = fw.tensor([[3, 1], [0, 5]])
    assert fw.sort(m, dim=0).values.tolist() == [[0, 1], [3, 5]]
    assert fw.sort(m, dim=0).indices.dtype == fw.int64


def test_sort_puts_nan_last_ascending_and_first_descending():
    x = fw.tensor([1.0, float("nan"), 0.0])
    assert fw.sort(x).indices.tolist() == [2, 0, 1]
    assert fw.sort(x, descending=True).indices.tolist() == [1, 0, 2]


def test_topk_named_tuple_and_indices_not_differentiable():
    x = fw.tensor([[1.0, 5.0, 3.0], [4.0, 0.0, 6.0]], requires_grad=True)
    res = fw.topk(x, 2)
    values, indices = res
    assert res.values is values and res.indices is indices
    assert values.tolist() == [[5.0, 3.0], [6.0, 4.0]]
    assert indices.tolist() == [[1, 2], [2, 0]]
    assert values.requires_grad and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 1], [1, 0, 1]])
    with pytest.raises(RuntimeError, match="out of range"):
        fw.topk(x, 4)


def test_unique_with_inverse_and_counts():
    x = fw.tensor([[3, 1], [3, 2]])
    vals, inv, counts = fw.unique(x, return_inverse=True, return_counts=True)
    assert vals.tolist() == [1, 2, 3]
    assert inv.tolist() == [[2, 0], [2, 1]] and inv.shape == x.shape
    assert counts.tolist() == [1, 1, 2]
    assert fw.unique(fw.tensor([2.0, 2.0])).tolist() == [2.0]
    rows = fw.unique(fw.tensor([[1, 2], [0, 1], [1, 2]]), dim=0)
    assert rows.tolist() == [[0, 1], [1, 2]]


@pytest.mark.parametrize("call, error, message", [
    (lambda: fw.zeros(3)[5], IndexError, r"shape \(3,\)"),
    (lambda: fw.gather(fw.zeros(2, 3), 1, fw.tensor([[3]])), RuntimeError, "out of bounds"),
    (lambda: fw.gather(fw.zeros(2, 3), 1, fw.tensor([0])), RuntimeError,
     "same number of dimensions"),
    (lambda: fw.gather(fw.zeros(2, 3), 1, fw.tensor([[0.0]])), RuntimeError, "integer tensor"),
    (lambda: fw.scatter_add(fw.zeros(2, 3), 0, fw.tensor([[0, 1]]), fw.zeros(1, 1)),
     RuntimeError, r"larger than src"),
    (lambda: fw.scatter(fw.zeros(2), 0, fw.tensor([0]), fw.zeros(1), reduce="mean"),
     RuntimeError, "reduce"),
    (lambda: fw.scatter_reduce(fw.zeros(2), 0, fw.tensor([0]), fw.zeros(1), "prod"),
     RuntimeError, "sum, mean, amax, amin"),
    (lambda: fw.scatter_reduce(fw.zeros(2, dtype=fw.int64), 0, fw.tensor([0]),
                               fw.zeros(1, dtype=fw.int64), "mean"), RuntimeError, "floating"),
    (lambda: fw.masked_fill(fw.zeros(2), fw.tensor([1, 0]), 1.0), RuntimeError, "bool"),
    (lambda: fw.masked_fill(fw.zeros(2), fw.tensor([[True], [False], [True]]), 1.0),
     RuntimeError, r"\(3, 1\) cannot be broadcast"),
    (lambda: fw.index_select(fw.zeros(2, 3), 1, fw.tensor([3])), IndexError, "out of range"),
    (lambda: fw.take_along_dim(fw.zeros(2, 3), fw.tensor([[0], [0], [0]]), 1), RuntimeError,
     "cannot be broadcast"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_scatter_reduce_values():
    x = fw.tensor([[1.0, 5.0, 0.0]])
    idx = fw.tensor([[0, 0, 2, 2]])
    src = fw.tensor([[3.0, 4.0, -1.0, 7.0]])
    assert fw.scatter_reduce(x, 1, idx, src, "sum").tolist() == [[8.0, 5.0, 6.0]]
    assert fw.scatter_reduce(x, 1, idx, src, "sum", include_self=False).tolist() == \
        [[7.0, 5.0, 6.0]]
    np.testing.assert_allclose(fw.scatter_reduce(x, 1, idx, src, "mean").numpy(),
                               [[8 / 3, 5.0, 2.0]], rtol=1e-6)
    assert fw.scatter_reduce(x, 1, idx, src, "amax").tolist() == [[4.0, 5.0, 7.0]]
    assert fw.scatter_reduce(x, 1, idx, src, "amin", include_self=False).tolist() == \
        [[3.0, 5.0, -1.0]]
    ints = fw.tensor([[1, 5, 0]])
    assert fw.scatter_reduce(ints, 1, idx, fw.tensor([[3, 4, -1, 7]]), "amax").tolist() == \
        [[4, 5, 7]]
