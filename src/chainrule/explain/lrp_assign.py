"""Which layer of a model follows which LRP rule: ``lrp``'s ``rules`` argument, and the composite
the LRP overview recommends (``composite_rules``).

``rules`` is None (epsilon everywhere), one rule (every layer that takes it; the others keep
epsilon), ``"composite"`` (``composite_rules(model)``) or a mapping from layers to rules. A layer
is named by its dotted name (``"features.0"``; a container's name covers the layers in it), the
module itself, or a layer class (``nn.Conv2d``: every one). A rule is an ``LRPRule`` or one of
``RULE_NAMES``. Where keys overlap the most specific wins: a layer's own name or module over a
container's (the deeper container first), a container over a class.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..nn import Conv2d, Module
from .lrp_rules import (
    PASSED,
    RESHAPING,
    RULED,
    WEIGHTED,
    AlphaBetaRule,
    EpsilonRule,
    FlatRule,
    GammaRule,
    IdentityRule,
    LRPRule,
    WSquareRule,
    ZeroRule,
)

__all__ = ["RULE_NAMES", "assign", "by_name", "composite_rules", "model_layers"]

RULE_NAMES = (
    "zero",
    "epsilon",
    "gamma",
    "alpha1beta0",
    "alpha2beta1",
    "flat",
    "wsquare",
    "identity",
)


def _rule(value, epsilon: float, where: str) -> LRPRule:
    if isinstance(value, LRPRule):
        return value
    if isinstance(value, str):
        made = {
            "zero": ZeroRule,
            "epsilon": lambda: EpsilonRule(epsilon),
            "gamma": GammaRule,
            "alpha1beta0": AlphaBetaRule,
            "alpha2beta1": lambda: AlphaBetaRule(2.0, 1.0),
            "flat": FlatRule,
            "wsquare": WSquareRule,
            "identity": IdentityRule,
        }.get(value)
        if made is None:
            raise ValueError(
                f"lrp: unknown rule {value!r}{where}; the names are "
                f"{', '.join(RULE_NAMES)} (or give an LRPRule such as "
                f"ZBRule(low, high){'' if where else ', or composite'})"
            )
        return made()
    raise TypeError(
        f"lrp: the rule{where} must be an LRPRule or a rule name, got "
        f"{type(value).__name__} {value!r}"
    )


def model_layers(model) -> dict:
    """Name -> module of the model's layers: the modules without children, or whose only child
    is ``parametrizations`` (a layer with a parametrized weight: ``weight_norm``...)."""
    out, inside = {}, ()
    for name, m in model.named_modules():
        if inside and name.startswith(inside):
            continue
        kids = [k for k, _ in m.named_children()]
        if not kids or kids == ["parametrizations"]:
            out[name] = m
            if kids:
                inside += (f"{name}.parametrizations" if name else "parametrizations",)
    return out


def _targets(model, key, leaves):
    """(rank, leaf names, whether the key names one layer) of a mapping key."""
    if isinstance(key, type) and issubclass(key, Module):
        names = [n for n, m in leaves.items() if isinstance(m, key)]
        if not names:
            raise ValueError(
                f"lrp: rules names the layer class {key.__name__}, and the model has no such layer"
            )
        return 0, names, False
    if isinstance(key, Module):
        key = _name_of(model, key)
    elif not isinstance(key, str):
        raise TypeError(
            f"lrp: a key of rules must be a layer name, a module of the model or "
            f"a layer class, got {type(key).__name__} {key!r}"
        )
    modules = dict(model.named_modules())
    if key not in modules:
        raise ValueError(
            f"lrp: rules names layer {key!r}, which the model does not have; its "
            f"layers: {', '.join(repr(n) for n in leaves)}"
        )
    if key in leaves:
        return 10**6, [key], True
    prefix = f"{key}." if key else ""
    return 1 + key.count(".") + bool(key), [n for n in leaves if n.startswith(prefix)], False


def _name_of(model, module) -> str:
    """The dotted name of ``module`` in ``model``; a module elsewhere is a ValueError."""
    found = [n for n, m in model.named_modules() if m is module]
    if not found:
        raise ValueError(
            f"lrp: rules names a {type(module).__name__} module that is not part of the model"
        )
    return found[0]


def by_name(model, rules):
    """``rules`` with each module key replaced by its dotted name: ``lrp`` calls it before
    ``nn.unfuse`` swaps the fused layers (the names stay, the modules do not)."""
    if not isinstance(rules, Mapping):
        return rules
    out = {}
    for key, value in rules.items():
        if isinstance(key, Module):
            key = _name_of(model, key)
        if key in out:
            raise ValueError(f"lrp: layer {key!r} is given two rules, {out[key]!r} and {value!r}")
        out[key] = value
    return out


def assign(model, rules, epsilon: float) -> dict:
    """Leaf name -> rule for the leaves ``rules`` gives one (see the module docstring)."""
    if rules is None:
        return {}
    if isinstance(rules, str) and rules == "composite":
        rules = composite_rules(model)
    everywhere = not isinstance(rules, Mapping)
    if everywhere:
        if not isinstance(rules, (str, LRPRule)):
            raise TypeError(
                "lrp: rules must be None, an LRPRule, a rule name, 'composite' or a mapping "
                f"{{layer: rule}}, got {type(rules).__name__} {rules!r}"
            )
        rules = {Module: rules}
    leaves = model_layers(model)
    chosen: dict = {}  # leaf name -> (rank, rule, key)
    for key, value in rules.items():
        where = "" if everywhere else f" for {key.__name__ if isinstance(key, type) else repr(key)}"
        rule = _rule(value, epsilon, where)
        rank, names, single = _targets(model, key, leaves)
        taking = [
            n for n in names if isinstance(leaves[n], RULED) and isinstance(leaves[n], rule.takes)
        ]
        if single and not taking:
            m = leaves[names[0]]
            why = (
                "passes relevance through unchanged and takes no rule"
                if isinstance(m, PASSED + RESHAPING)
                else f"does not take {type(rule).__name__} (it takes "
                f"{', '.join(c.__name__ for c in rule.takes)})"
                if isinstance(m, RULED)
                else "has no relevance rule"
            )
            raise TypeError(f"lrp: layer {names[0]!r} ({type(m).__name__}) {why}")
        if not taking:
            raise TypeError(
                f"lrp: no layer{where or ' of the model'} takes {type(rule).__name__} (it takes "
                f"{', '.join(c.__name__ for c in rule.takes)})"
            )
        for n in taking:
            if n in chosen and chosen[n][0] == rank and chosen[n][1] is not rule:
                raise ValueError(
                    f"lrp: layer {n!r} is given two rules, {chosen[n][1]!r} by "
                    f"{chosen[n][2]!r} and {rule!r} by {key!r}"
                )
            if n not in chosen or chosen[n][0] <= rank:
                chosen[n] = (rank, rule, key)
    return {n: rule for n, (_, rule, _) in chosen.items()}


def composite_rules(model, *, first=None, conv=None, middle=None, top=None) -> dict:
    """The composite of the LRP overview (Montavon et al. 2019, sec. 10.3): ``top`` (LRP-0) for
    the last weighted layer, ``conv`` (LRP-gamma, 0.25) for the convolutions, ``middle``
    (LRP-epsilon, 0.25) for the other ``Linear`` layers, and ``first`` (None: as the others),
    e.g. ``ZBRule(0, 1)`` or ``FlatRule()``, for the first weighted layer. Layers count in the
    order the model registers them; returns ``{layer name: rule}``, for ``lrp``'s ``rules``."""
    conv = GammaRule(0.25) if conv is None else conv
    middle = EpsilonRule(0.25) if middle is None else middle
    top = ZeroRule() if top is None else top
    names = [n for n, m in model_layers(model).items() if isinstance(m, WEIGHTED)]
    if not names:
        raise ValueError("composite_rules: the model has no Linear or Conv2d layer")
    leaves = model_layers(model)
    out = {n: conv if isinstance(leaves[n], Conv2d) else middle for n in names}
    out[names[-1]] = top
    if first is not None:
        out[names[0]] = first
    for n, r in out.items():
        _rule(r, 0.25, f" for {n!r}")
    return out
