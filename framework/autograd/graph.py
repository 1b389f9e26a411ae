"""The autograd graph: grad mode, graph nodes and the backward engine.

Every tensor produced by a recorded op points to a :class:`Node`; the node keeps its
input tensors and a ``backward`` callable that maps output gradients to input gradients.
Gradient rules are written in framework ops, so running them with grad mode on
(``create_graph=True``) records a graph of the gradient itself: higher-order derivatives
need nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class _GradMode:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


grad_mode = _GradMode()


class Node:
    """One recorded op: its inputs, its gradient rule and what the rule saved."""

    __slots__ = ("name", "inputs", "backward", "saved", "versions", "hooks", "out_meta",
                 "__weakref__")

    def __init__(self, name: str, inputs: tuple, backward: Callable, saved: tuple = ()):
        self.name = name
        self.inputs = inputs
        self.backward = backward
        self.saved = saved
        self.versions = tuple([t._vc[0] if t._vc else 0 for t in saved]) if saved else ()
        self.hooks = None
        self.out_meta = None  # [(shape, dtype, backend)] for ops with several outputs

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"

    def check_versions(self) -> None:
        for t, v in zip(self.saved, self.versions, strict=True):
            now = t._vc[0] if t._vc else 0
            if now != v:
                raise RuntimeError(
                    f"one of the tensors needed for the gradient of {self.name} "
                    f"(shape {tuple(t.shape)}, dtype {t.dtype}) was modified by an in-place "
                    f"operation after it was used (version {v} then, {now} now); "
                    "use an out-of-place op (e.g. x = x + y instead of x.add_(y)) or "
                    ".clone() the tensor before modifying it"
                )


def _topo_order(roots: Sequence[Node]) -> list[Node]:
    """Nodes reachable from ``roots``, each before the nodes its inputs come from."""
    order: list[Node] = []
    seen: set[Node] = set()  # nodes hash by identity
    add = seen.add
    for root in roots:
        if root in seen:
            continue
        add(root)
        stack = [(root, iter(root.inputs))]
        while stack:
            node, it = stack[-1]
            for t in it:
                if t is None:
                    continue
                child = t._node
                if child is not None and child not in seen:
                    add(child)
                    stack.append((child, iter(child.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def run_backward(
    outputs: Sequence[Any],
    grad_outputs: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Any] | None = None,
    allow_unused: bool = False,
) -> list[Any] | None:
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph.

    With ``inputs=None`` gradients are accumulated into the ``.grad`` of leaf tensors
    (``Tensor.backward``). Otherwise the gradients with respect to ``inputs`` are returned
    and no ``.grad`` is touched (``fw.grad``).
    """
    capture_leaf: dict[int, int] = {}
    capture_node: dict[tuple[int, int], int] = {}
    results: list[Any] = []
    if inputs is not None:
        results = [None] * len(inputs)
        for pos, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(
                    f"input {pos} to fw.grad does not require grad; call .requires_grad_() on it"
                )
            if t._node is None:
                capture_leaf[id(t)] = pos
            else:
                capture_node[(id(t._node), t._idx)] = pos

    pending: dict[Node, list] = {}  # node -> gradients of its outputs so far
    roots: list[Node] = []
    fresh: set[int] = set()  # ids of arrays that .grad may keep without copying
    # the usual loss.backward(): leaves' gradients go straight into .grad (inlined below)
    plain = inputs is None and not create_graph

    def deliver(t: Any, g: Any) -> None:
        node = t._node
        if node is None:
            if inputs is not None:
                pos = capture_leaf.get(id(t))
                if pos is not None:
                    results[pos] = g if results[pos] is None else results[pos] + g
                return
            hooks = t._hooks
            if hooks:
                for hook in hooks:
                    new = hook(g)
                    if new is not None:
                        g = new
            if not create_graph:
                if g.requires_grad:
                    g = g.detach()
                d = g.data
                if id(d) in fresh or d.base is not None or not d.flags.writeable:
                    g = g.clone()
                fresh.add(id(g.data))
            if t.grad is None:
                t.grad = g
            else:
                t.grad = t.grad + g if create_graph else _add_into(t.grad, g)
            return
        slot = pending.get(node)
        if slot is None:
            slot = pending[node] = [None] * (len(node.out_meta) if node.out_meta else 1)
        i = t._idx
        prev = slot[i]
        slot[i] = g if prev is None else prev + g

    for out, g in zip(outputs, grad_outputs, strict=True):
        if not out.requires_grad:
            raise RuntimeError(
                "element of the outputs does not require grad and does not have a grad_fn; "
                "did you compute it under fw.no_grad() or from tensors without requires_grad?"
            )
        if out._node is not None:
            roots.append(out._node)
        deliver(out, g)

    previous = grad_mode.enabled
    grad_mode.enabled = create_graph
    pop = pending.pop
    get = pending.get
    try:
        for node in _topo_order(roots):
            grads = pop(node, None)
            if grads is None:
                continue
            backward = node.backward
            if backward is None:
                raise RuntimeError(
                    f"trying to backward through the graph a second time (at {node.name}); "
                    "the saved tensors were freed after the first backward. Pass "
                    "retain_graph=True to the first backward() if you need to call it twice"
                )
            if node.hooks:
                for idx, hooks in node.hooks.items():
                    g = grads[idx]
                    if g is None:
                        continue
                    for hook in hooks:
                        new = hook(g)
                        if new is not None:
                            g = new
                    grads[idx] = g
            if capture_node:
                for idx, g in enumerate(grads):
                    pos = capture_node.get((id(node), idx))
                    if pos is not None and g is not None:
                        results[pos] = g if results[pos] is None else results[pos] + g
            if node.saved:
                # inline version check; the method builds the error message
                for t, v in zip(node.saved, node.versions, strict=True):
                    vc = t._vc
                    if (vc[0] if vc else 0) != v:
                        node.check_versions()
            if node.out_meta is None:
                in_grads = backward(grads[0])
            else:
                filled = [
                    g if g is not None else _wrap(bk.zeros(shape, dtype), bk)
                    for g, (shape, dtype, bk) in zip(grads, node.out_meta, strict=True)
                ]
                in_grads = backward(*filled)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            inputs_of_node = node.inputs
            if not retain_graph:
                # free what the node kept (its rule, saved tensors and input tensors) as soon
                # as it has run: the activations' memory is reused by the rest of the backward
                node.backward = None
                node.saved = ()
                node.inputs = ()
            for t, g in zip(inputs_of_node, in_grads, strict=False):
                if g is None or t is None or not t.requires_grad:
                    continue
                if g.data.shape != t.data.shape:
                    raise RuntimeError(
                        f"gradient rule of {node.name} returned a gradient of shape "
                        f"{tuple(g.shape)} for an input of shape {tuple(t.shape)}"
                    )
                child = t._node
                if child is None:
                    if plain and t._hooks is None and not g.requires_grad:
                        # a leaf's .grad, inline: keep the fresh array of the rule
                        d = g.data
                        if id(d) in fresh or d.base is not None or not d.flags.writeable:
                            g = g.clone()
                            d = g.data
                        fresh.add(id(d))
                        acc = t.grad
                        t.grad = g if acc is None else _add_into(acc, g)
                    else:
                        deliver(t, g)
                    continue
                # an inner node's output gradient, inline (the common case)
                slot = get(child)
                if slot is None:
                    if child.out_meta is None:
                        pending[child] = [g]
                        continue
                    slot = pending[child] = [None] * len(child.out_meta)
                i = t._idx
                prev = slot[i]
                slot[i] = g if prev is None else prev + g
    finally:
        grad_mode.enabled = previous

    if inputs is None:
        return None
    for pos, r in enumerate(results):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"input {pos} of fw.grad was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return results


def _wrap(data: Any, bk: Any) -> Any:
    from ..tensor import Tensor  # the tensor module imports this one

    return Tensor._wrap(data, bk)


def _add_into(acc: Any, g: Any) -> Any:
    """``acc += g`` on .grad without recording, keeping the accumulator's array when possible."""
    data = acc.data
    if data.flags.writeable and data.base is None and data.shape == g.data.shape:
        acc._bk.add(data, g.data, out=data)
        if acc._vc:
            acc._vc[0] += 1
        return acc
    return acc + g
