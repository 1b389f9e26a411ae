"""Dynamic-to-static: the same eager code, traced once into an optimized program.

>>> import framework as fw
>>> @fw.jit.to_static
... def f(x):
...     return (x * 2.0 + 1.0).relu()
>>> f(fw.ones(3))          # traced (an ordinary eager call that records a graph)
tensor([3., 3., 3.])
>>> f(fw.ones(3))          # replayed
tensor([3., 3., 3.])

See ``docs/jit.md`` for what is captured, the guards, the passes and deployment.
"""

from .explain import Explanation, explain
from .ir import Graph, GraphFormatError, Node, Value
from .serialize import LoadedProgram, load, save
from .static import (
    InputSpec,
    JitWarning,
    Program,
    StaticFunction,
    ignore,
    not_to_static,
    to_static,
)
from .tracer import GraphBreakError

__all__ = [
    "Explanation", "Graph", "GraphBreakError", "GraphFormatError", "InputSpec", "JitWarning",
    "LoadedProgram", "Node", "Program", "StaticFunction", "Value", "explain", "ignore", "load",
    "not_to_static", "save", "to_static",
]
