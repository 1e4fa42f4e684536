"""``torch.nn.modules.<kind>`` paths: ``from torch.nn.modules.batchnorm import _BatchNorm`` (the
SAM optimizer's BatchNorm momentum switch) was an AttributeError/ImportError; each submodule now
holds the classes PyTorch's file holds, the very classes of ``chainrule.nn``."""

from __future__ import annotations

import importlib

import pytest

import chainrule
from chainrule.nn.modules._paths import PATHS

from .._case_loop import each_case, grid

pytestmark = pytest.mark.kernel_free


def test_from_import_of_a_private_base_and_isinstance():
    from chainrule.nn.modules.batchnorm import _BatchNorm
    from chainrule.nn.modules.conv import _ConvNd
    from chainrule.nn.modules.loss import _Loss

    assert isinstance(chainrule.nn.BatchNorm1d(3), _BatchNorm)
    assert isinstance(chainrule.nn.InstanceNorm2d(3), chainrule.nn.modules.instancenorm
                      ._InstanceNorm)
    assert isinstance(chainrule.nn.Conv2d(1, 1, 1), _ConvNd)
    assert isinstance(chainrule.nn.MSELoss(), _Loss)
    assert not isinstance(chainrule.nn.Linear(1, 1), _BatchNorm)


def _each_submodule_holds_nn_classes_as_pytorch_file_does_case(kind):
    pytest.importorskip("torch")
    ours = importlib.import_module(f"chainrule.nn.modules.{kind}")
    theirs = importlib.import_module(f"torch.nn.modules.{kind}")
    assert getattr(chainrule.nn.modules, kind) is ours
    for name in PATHS[kind]:
        assert hasattr(theirs, name), (kind, name)
        if not name.startswith("_"):
            assert getattr(ours, name) is getattr(chainrule.nn, name)


def test_each_submodule_holds_nn_classes_as_pytorch_file_does():
    each_case(_each_submodule_holds_nn_classes_as_pytorch_file_does_case, grid(
        ("kind", sorted(PATHS)),
    ))
