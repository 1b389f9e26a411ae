"""Export to ONNX: ``fw.onnx.export(model, example_inputs, path, dynamic_axes=None)``.

Needs the ``onnx`` extra. The model is traced like ``fw.jit.save`` traces it and each backend
primitive of the graph becomes ONNX operators of opset 17 (see :mod:`framework.onnx.export`).
"""

from .export import OPSET, OnnxExportError, export

__all__ = ["OPSET", "OnnxExportError", "export"]
