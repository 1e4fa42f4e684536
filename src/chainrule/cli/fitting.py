"""``chainrule train``'s fitting options: the validation split, and the gradient clipping and
accumulation of an image classifier's Trainer (``--clip-grad-norm``, ``--clip-grad-value``,
``--accumulate``)."""

from __future__ import annotations

from ..experiments import generative

__all__ = ["add_train_arguments", "grad_settings", "val_split"]


def add_train_arguments(t, int_type, float_type) -> None:
    """Add the gradient options to ``train``'s parser ``t``."""
    g = t.add_argument_group("gradient clipping and accumulation (image classifiers)")
    g.add_argument(
        "--clip-grad-norm",
        type=float_type(0, low_ok=False),
        default=None,
        metavar="C",
        help="clip the gradients to a total L2 norm of C before every "
        "optimizer step (Trainer's clip_grad_norm; default: no clipping)",
    )
    g.add_argument(
        "--clip-grad-value",
        type=float_type(0, low_ok=False),
        default=None,
        metavar="C",
        help="clip every gradient entry into [-C, C] before every "
        "optimizer step (Trainer's clip_grad_value; default: no clipping)",
    )
    g.add_argument(
        "--accumulate",
        type=int_type(1),
        default=1,
        metavar="K",
        help="sum the gradients of K batches into each optimizer step, each loss "
        "scaled by 1/K (an epoch's last, shorter group steps too)",
    )


def grad_settings(args, *other_tasks) -> dict:
    """The Trainer's gradient options from the command line ({}: none given); refused for a
    model in ``other_tasks`` (generative and text models), whose training does not apply them."""
    options = {}
    if args.clip_grad_norm is not None:
        options["clip_grad_norm"] = args.clip_grad_norm
    if args.clip_grad_value is not None:
        options["clip_grad_value"] = args.clip_grad_value
    if args.accumulate != 1:
        options["accumulate_grad_batches"] = args.accumulate
    flags = {
        "clip_grad_norm": "--clip-grad-norm",
        "clip_grad_value": "--clip-grad-value",
        "accumulate_grad_batches": "--accumulate",
    }
    if options and any(args.model in tasks for tasks in other_tasks):
        raise ValueError(
            f"{flags[next(iter(options))]} is for image classifiers; "
            f"{args.model}'s training does not apply it"
        )
    if "clip_grad_norm" in options and "clip_grad_value" in options:
        raise ValueError("--clip-grad-norm and --clip-grad-value: pass one kind of clipping")
    return options


def val_split(args) -> float:
    """--val-split, 0.1 when not given; refused for GANs, which validate nothing."""
    if args.model in generative.GAN_MODELS:
        if args.val_split is not None:
            raise ValueError(
                f"--val-split {args.val_split:g}: GAN training is not validated "
                "(its losses are no measure of quality), so nothing is held out"
            )
        return 0.0
    return 0.1 if args.val_split is None else args.val_split
