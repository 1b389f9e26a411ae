"""``fw.jit.explain``: what a static function captured, where it fell back, what each pass did."""

from __future__ import annotations

import warnings
from typing import Any

from .static import JitWarning, StaticFunction, to_static


class Explanation:
    """The report of :func:`explain`; ``str()`` it for a readable summary."""

    def __init__(self, name: str, program: Any, fallbacks: list, result: Any) -> None:
        self.name = name
        self.program = program
        self.fallbacks = list(fallbacks)
        self.result = result

    @property
    def captured_ops(self) -> dict[str, int]:
        return self.program.raw_graph.op_counts() if self.program is not None else {}

    @property
    def passes(self) -> list[tuple[str, dict]]:
        return self.program.report if self.program is not None else []

    def __str__(self) -> str:
        lines = [f"fw.jit.explain: {self.name}"]
        if self.program is None:
            lines.append("  not captured: runs eagerly")
        else:
            raw = self.program.raw_graph
            ops = ", ".join(f"{op} x{n}" for op, n in sorted(self.captured_ops.items(),
                                                             key=lambda kv: -kv[1]))
            lines.append(f"  captured {len(raw.nodes)} ops: {ops}")
            lines.append(f"  inputs {len(raw.inputs)}, parameters/buffers/gradients "
                         f"{len(raw.state)}, constants {len(raw.consts)}")
            hosts = [str(h) for h in self.program.host_calls]
            if hosts:
                lines.append("  runs eagerly on every call (host calls): " + ", ".join(hosts))
            for name, stats in self.passes:
                detail = {k: v for k, v in stats.items()
                          if k not in ("nodes_before", "nodes_after") and v}
                lines.append(f"  pass {name}: {stats['nodes_before']} -> "
                             f"{stats['nodes_after']} nodes  {detail}")
        for reason, where in self.fallbacks:
            lines.append(f"  fallback to eager at {where}: {reason}")
        return "\n".join(lines)

    __repr__ = __str__


def explain(fn: Any, *args: Any, **kwargs: Any) -> Explanation:
    """Trace ``fn(*args, **kwargs)`` (one ordinary call: side effects happen) and report.

    >>> import framework as fw
    >>> print(fw.jit.explain(lambda x: (x * 1.0 + 2.0).exp(), fw.ones(3)))  # doctest: +ELLIPSIS
    fw.jit.explain: <lambda>
      captured ... ops: ...
    """
    static = fn if isinstance(fn, StaticFunction) else to_static(fn)
    if not isinstance(static, StaticFunction):  # a module: its forward was made static
        static = static.forward
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JitWarning)
        static.reset()  # also forgets earlier fallbacks: what remains is this call's
        result = static(*args, **kwargs)
    program = static.last_program
    name = getattr(static.fn, "__qualname__", repr(static.fn))
    return Explanation(name, program, static.fallbacks, result)
