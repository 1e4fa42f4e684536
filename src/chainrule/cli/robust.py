"""The robustness subcommands (``attack``, ``patch``, ``shift``, ``ood``) and ``train``'s
adversarial-training options; ``cli.main`` registers them."""

from __future__ import annotations

import argparse

from ..experiments import robustness
from ..robust import ADVERSARIAL_METHODS

__all__ = ["COMMANDS", "add_parsers", "add_train_arguments", "adversarial_settings"]


def add_train_arguments(t, int_type, float_type) -> None:
    """``train``'s options for adversarial training."""
    a = t.add_argument_group("adversarial training (classifiers)")
    a.add_argument("--adversarial", choices=ADVERSARIAL_METHODS, default=None,
                   help="train on adversarial examples: fgsm (one step from a random start, "
                   "Wong et al. 2020) or pgd (Madry et al. 2017) (default: plain training)")
    a.add_argument("--eps", type=float_type(0, low_ok=False), default=0.3,
                   help="L-infinity radius of the training attack, > 0")
    a.add_argument("--adv-alpha", type=float_type(0, low_ok=False), default=None,
                   help="its step (default: 1.25 eps for fgsm, 2.5 eps / steps for pgd)")
    a.add_argument("--adv-steps", type=int_type(1), default=10, help="pgd's steps, >= 1")


def adversarial_settings(args, generative_tasks) -> dict | None:
    """``train_classifier``'s ``adversarial`` argument from the options (None: plain training)."""
    if args.adversarial is None:
        return None
    if args.model in generative_tasks:
        raise ValueError(f"--adversarial {args.adversarial}: adversarial training is for "
                         f"classifiers, not the generative task {args.model!r}")
    return {"method": args.adversarial, "eps": args.eps, "alpha": args.adv_alpha,
            "steps": args.adv_steps}


def add_parsers(sub, debug, int_type, float_type) -> None:
    """Add the ``attack``, ``patch``, ``shift`` and ``ood`` subcommands to ``sub``."""


COMMANDS: dict = {}
_ = (argparse, robustness)
