"""Which of ``chainrule train``'s options each kind of model reads.

``train`` has one parser for every model, so an option can be given to a model whose training
never looks at it: ``train gan --optimizer sgd`` trained with Adam, ``train mlp --bottleneck 8``
or ``train ngram --ensemble 5`` trained as without it, ``--eps 0.1`` without ``--adversarial``
did nothing. Each was a run that looked as asked and was not. ``refuse_unread`` makes such an
option (one that differs from its default) a usage error naming the option, the model and what
the option is for. The kinds that refuse an option with a message of their own (text models'
``--val-split``, GANs' ``--val-split``, char_lm's ``--dataset``) count as readers here.
"""

from __future__ import annotations

from ..experiments import generative
from ..experiments.char_lm import LANGUAGE_MODELS
from ..experiments.text import TEXT_MODELS as NGRAM_MODELS
from ..experiments.text_classify import TEXT_MODELS as CHARACTER_MODELS

__all__ = ["kind_of", "refuse_unread", "remember_defaults"]

IMAGE, AUTOENCODER, GAN, NGRAM, CHARS, LM = "image", "autoencoder", "gan", "ngram", "chars", "lm"
_NAMES = {
    IMAGE: "image classifiers",
    AUTOENCODER: "autoencoder tasks",
    GAN: "GANs",
    NGRAM: "ngram, fasttext",
    CHARS: "char_cnn, lstm_text",
    LM: "char_lm, char_transformer",
}
_TEXT = {NGRAM, CHARS}
_ALL_BUT_LM = {IMAGE, AUTOENCODER, GAN, NGRAM, CHARS}

# dest -> the kinds whose training reads it (or refuses it with its own message)
_READERS = {
    "optimizer": {IMAGE, *_TEXT},
    "weight_decay": {IMAGE, *_TEXT},
    "schedule": {IMAGE, *_TEXT},
    "augment": {IMAGE, NGRAM},
    "val_split": _ALL_BUT_LM,
    "data_dir": _ALL_BUT_LM,
    "no_download": _ALL_BUT_LM,
    "resume": _ALL_BUT_LM,
    "device": _ALL_BUT_LM,
    "ngram": {NGRAM},
    "min_count": {NGRAM},
    "max_features": {NGRAM},
    "text": {CHARS, LM},
    "bptt": {LM},
    "clip": {LM},
    "max_steps": {LM},
    "temperature": {LM},
    "arch": {AUTOENCODER},
    "bottleneck": {AUTOENCODER},
    "tied": {AUTOENCODER},
    "noise": {AUTOENCODER},
    "n_train": {AUTOENCODER, GAN},
    **dict.fromkeys(
        ("loss", "label_smoothing", "n_critic", "gp_weight", "prior", "latent_dim", "judge"), {GAN}
    ),
    **dict.fromkeys(
        ("adversarial", "ensemble", "bayes_by_backprop", "soft_sharing"), {IMAGE, AUTOENCODER, GAN}
    ),  # the generative tasks refuse them themselves
}
# dest -> the option it modifies, which must be given too
_NEEDS = {
    **dict.fromkeys(
        (
            "eps",
            "adv_alpha",
            "adv_steps",
            "adv_clip_start",
            "adv_noise",
            "adv_grad_align",
            "adv_grad_align_variant",
            "adv_check",
        ),
        "adversarial",
    ),
    "prior_sigma": "bayes_by_backprop",
    "sharing_strength": "soft_sharing",
    "sharing_warmup": "soft_sharing",
}


def kind_of(model: str) -> str:
    """The kind of training ``chainrule train MODEL`` runs."""
    if model in generative.AUTOENCODER_TASKS:
        return AUTOENCODER
    if model in generative.GAN_MODELS:
        return GAN
    if model in NGRAM_MODELS:
        return NGRAM
    if model in CHARACTER_MODELS:
        return CHARS
    return LM if model in LANGUAGE_MODELS else IMAGE


def remember_defaults(train_parser) -> None:
    """Keep ``train``'s options and their defaults in its namespace, for ``refuse_unread``."""
    flags = {
        a.dest: (a.option_strings, a.default)
        for a in train_parser._actions
        if a.option_strings and a.dest in {*_READERS, *_NEEDS}
    }
    train_parser.set_defaults(_train_flags=flags)


def _given(args, dest) -> str | None:
    """``"--flag value"`` (``"--flag"``, ``"--no-flag"`` for a switch) when ``dest`` differs
    from its default, else None."""
    options, default = args._train_flags[dest]
    value = getattr(args, dest)
    if value == default:
        return None
    if isinstance(value, bool):
        return options[0] if value or len(options) == 1 else options[-1]  # --x, --no-x
    return f"{options[0]} {value}"


def refuse_unread(args) -> None:
    """A ValueError for the first option given that ``args.model``'s training would ignore."""
    kind, model = kind_of(args.model), args.model
    for dest, readers in _READERS.items():
        shown = _given(args, dest)
        if shown and kind not in readers:
            names = ", ".join(_NAMES[k] for k in _NAMES if k in readers)
            names = " and ".join(names.rsplit(", ", 1))
            raise ValueError(
                f"{shown}: {model}'s training does not use this option (it is for {names})"
            )
    for dest, needed in _NEEDS.items():
        shown = _given(args, dest)
        if shown and _given(args, needed) is None:
            raise ValueError(f"{shown} has no effect without {args._train_flags[needed][0][0]}")
    arch = args.arch or ("dense" if model in ("autoencoder", "denoising") else "conv")
    if kind == AUTOENCODER and _given(args, "noise") and model != "denoising":
        raise ValueError(f"{_given(args, 'noise')}: only the denoising task adds noise")
    if (
        kind == AUTOENCODER
        and _given(args, "bottleneck")
        and arch == "conv"
        and (model != "autoencoder")
    ):
        raise ValueError(
            f"{_given(args, 'bottleneck')}: the conv {model} model has no "
            "bottleneck size to set (only --arch dense, or the autoencoder task)"
        )
