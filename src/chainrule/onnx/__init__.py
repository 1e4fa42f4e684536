"""ONNX interchange: write a chainrule model to an ``.onnx`` file, and read one back as a Module.

The ``onnx`` package (and ``onnxruntime``, to run exported files) are optional: install them with
``pip install "chainrule[onnx]"``. Nothing here imports them until a function needs them.
"""

from .export import UnsupportedOperatorError, export
from .load import OnnxLoadError, OnnxModule, load

__all__ = ["OnnxLoadError", "OnnxModule", "UnsupportedOperatorError", "export", "load"]
