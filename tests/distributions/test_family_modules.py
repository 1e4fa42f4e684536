"""PyTorch's per-family submodules of ``torch.distributions``: ``distributions.normal.Normal``
and ``from ...distributions.bernoulli import Bernoulli`` (the DeepAR port writes the first);
chainrule had none of them (distributions/_families.py)."""

from __future__ import annotations

import importlib
import types

import pytest

import chainrule as cr
from chainrule.distributions._families import FAMILIES

from .._case_loop import each_case, grid


def _each_family_module_holds_the_packages_classes_case(name):
    module = getattr(cr.distributions, name)
    assert isinstance(module, types.ModuleType)
    assert importlib.import_module(f"chainrule.distributions.{name}") is module
    for cls in FAMILIES[name]:
        assert getattr(module, cls) is getattr(cr.distributions, cls)


@pytest.mark.kernel_free
def test_each_family_module_holds_the_packages_classes():
    each_case(_each_family_module_holds_the_packages_classes_case, grid(("name", sorted(FAMILIES))))


@pytest.mark.kernel_free
def test_from_import_and_a_density_through_the_submodule():
    from chainrule.distributions.negative_binomial import NegativeBinomial
    from chainrule.distributions.normal import Normal

    assert Normal is cr.distributions.Normal
    lp = cr.distributions.normal.Normal(0.0, 1.0).log_prob(cr.tensor(0.0))
    assert abs(lp.item() + 0.9189385332046727) < 1e-7
    assert NegativeBinomial(2.0, logits=cr.tensor(0.0)).log_prob(cr.tensor(1.0)).item() < 0


@pytest.mark.kernel_free
@pytest.mark.torch
def test_the_names_are_pytorchs():
    pytest.importorskip("torch")
    for name, classes in FAMILIES.items():
        theirs = importlib.import_module(f"torch.distributions.{name}")
        assert set(classes) <= set(theirs.__all__), name


@pytest.mark.kernel_free
def test_the_utils_module_holds_the_helpers():
    from chainrule.distributions.utils import clamp_probs, logits_to_probs, probs_to_logits

    p = logits_to_probs(cr.tensor([0.0, 1.0], dtype=cr.float64), is_binary=True)
    assert abs(p[0].item() - 0.5) < 1e-15
    assert abs(probs_to_logits(p, is_binary=True)[1].item() - 1.0) < 1e-12
    assert clamp_probs(cr.tensor([0.0, 1.0])).numpy().min() > 0
    assert cr.distributions.utils.lazy_property is not None
