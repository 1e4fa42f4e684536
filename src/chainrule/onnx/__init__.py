"""ONNX interchange: write a chainrule model to an ``.onnx`` file, and read one back as a Module.

``export`` (``_export.py``) and ``load`` (``_load.py``). The ``onnx`` package (and
``onnxruntime``, to run exported files) are optional: install them with
``pip install "chainrule[onnx]"``. Nothing here imports them until a function needs them, and
``import chainrule`` does not import this package's modules either: the names below are looked up
on first use, so a program that never reads or writes an ONNX file does not pay for importing them.
"""

from importlib import import_module

__all__ = ["OnnxLoadError", "OnnxModule", "UnsupportedOperatorError", "export", "load"]

_HOME = {"export": "._export", "UnsupportedOperatorError": "._export",
         "load": "._load", "OnnxLoadError": "._load", "OnnxModule": "._load"}


def __getattr__(name):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(home, __name__), name)
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
