"""The command line explains itself: help with defaults, --version, aligned lists, figure titles."""

import re
from importlib import metadata

import pytest

from chainrule.cli import main


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def _options(text: str) -> dict:
    """``{invocation: help}`` of every option in argparse's help ('' where it has none)."""
    found = {}
    for block in re.findall(r"^  (-.*(?:\n {6,}\S.*)*)", text, flags=re.M):
        first, *rest = block.split("\n")
        invocation, _, head = first.partition("  ")
        found[invocation] = " ".join([head.strip(), *(line.strip() for line in rest)]).strip()
    return found


def test_train_help_shows_the_common_defaults(capsys):
    text = " ".join(_help(capsys, "train").split())
    assert "--epochs EPOCHS epochs to train, >= 1 (default: 10)" in text
    assert "--batch-size BATCH_SIZE images per training step (default: 64)" in text
    assert "--seed SEED seeds the weights, the shuffling and the augmentation, >= 0 (default: 0)" \
        in text
    assert ("--optimizer {adagrad,adam,adamw,rmsprop,sgd} the update rule (generative tasks and "
            "char_lm: Adam) (default: adam)") in text


@pytest.mark.parametrize("command", ["train", "evaluate", "generate"])
def test_every_option_is_explained_with_its_default(command, capsys):
    options = _options(_help(capsys, command))
    assert "--seed SEED" in options or command == "evaluate"
    for invocation, text in options.items():
        if invocation.startswith("-h"):
            continue
        assert text, f"{command} {invocation} has no help text"
        takes_value = " " in invocation.split(", ")[-1]
        if takes_value:
            assert "default" in text, f"{command} {invocation}: {text!r} names no default"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"chainrule {metadata.version('chainrule')}\n"


@pytest.mark.parametrize("command", ["models", "datasets"])
def test_lists_are_aligned_on_the_longest_name(command, capsys):
    assert main([command]) == 0
    lines = capsys.readouterr().out.splitlines()
    named = [line for line in lines if not line.startswith(" ")]
    assert any(line.startswith("conv_autoencoder ") for line in named) or command == "datasets"
    columns = {re.match(r"\S+\s+", line).end() for line in named}
    assert len(columns) == 1, lines
    sources = {line.index("source:") for line in lines if line.startswith(" ")}
    assert sources <= columns


def test_misclassified_figure_says_what_its_titles_are(monkeypatch, tmp_path):
    from chainrule.experiments import classify

    drawn = {}
    original = classify.image_grid

    def spy(images, path, **kwargs):
        drawn[path.name] = kwargs
        return original(images, path, **kwargs)

    monkeypatch.setattr(classify, "image_grid", spy)
    assert main(["train", "mlp", "--epochs", "1", "--model-arg", "sizes=[64,16,10]", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    shown = drawn["misclassified.png"]
    assert shown["suptitle"].endswith("test images (titles: true->predicted)")
    assert all("->" in title for title in shown["titles"])
