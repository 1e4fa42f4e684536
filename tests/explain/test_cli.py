"""The explanation commands, driven in-process on a small CNN trained on the bundled digits."""

import json
import re

import numpy as np
import pytest

from chainrule import explain, models
from chainrule.cli import main
from chainrule.cli.explain import _METHOD_OPTIONS
from chainrule.experiments.explain_methods import MORE_METHODS, attribute_more, superpixels


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


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "small_cnn", "--epochs", "2", "--out", str(out), "--quiet",
                 "--seed", "1"]) == 0
    return out


def test_explain_writes_a_figure_and_the_completeness_error(run, tmp_path, capsys):
    out = tmp_path / "ex"
    assert main(["explain", str(run), "test:0", "test:5", "--method", "all", "--steps", "16",
                 "--samples", "4", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert (out / "all.png").is_file() and res["methods"][3] == "ig"
    gaps = res["ig_details"]["f_x_minus_f_baseline"]
    errors = res["ig_details"]["completeness_error"]
    assert all(abs(e) < 0.05 * abs(g) for e, g in zip(errors, gaps))
    assert "completeness error at most" in capsys.readouterr().out
    assert main(["explain", str(run), "test:99999"]) == 2
    assert "expected test:I" in capsys.readouterr().err


@pytest.mark.parametrize("method", MORE_METHODS)
def test_the_newer_methods_write_their_figure_and_details(run, tmp_path, method):
    out = tmp_path / method
    fast = [a for dest, value in (("steps", "8"), ("samples", "3"))  # those the method reads
            if method in _METHOD_OPTIONS[dest][1] for a in (f"--{dest}", value)]
    assert main(["explain", str(run), "test:0", "test:5", "--method", method, *fast,
                 "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["methods"] == [method] and (out / f"{method}.png").is_file()
    details = res.get(f"{method}_details", {})
    if method == "deeplift":  # exact for ReLU and max pooling, up to float32 rounding
        assert max(abs(e) for e in details["completeness_error"]) < 1e-4
    if method == "layer_ig":
        assert details["layer"] == "net.3" and len(details["completeness_error"]) == 2
    if method == "deeplift_shap":
        assert details["baselines"] == 3


def test_the_newer_methods_refuse_what_does_not_fit(run, capsys):
    assert main(["explain", str(run), "test:0", "--method", "feature_permutation"]) == 2
    assert "give two images at least, got 1" in capsys.readouterr().err
    assert main(["explain", str(run), "test:0", "--method", "layer_ig", "--layer", "net.7"]) == 2
    assert "layer_ig needs a layer whose output is (N, C, H, W), got shape (1, 64)" in \
        capsys.readouterr().err


def test_lrp_takes_a_rule_and_only_lrp_does(run, tmp_path, capsys):
    out = tmp_path / "lrp"
    assert main(["explain", str(run), "test:0", "--method", "lrp", "--rule", "composite",
                 "--out", str(out)]) == 0
    details = json.loads((out / "results.json").read_text())["lrp_details"]
    assert details["rule"] == "composite" and len(details["conservation_error"]) == 1
    model = models.build("small_cnn", rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((2, 1, 8, 8)).astype(np.float32)
    maps, _ = attribute_more("lrp", model, x, [1, 2], steps=6, n_samples=3, window=4,
                             stdev=0.1, layer=None, seed=0, rule="alpha1beta0")
    np.testing.assert_array_equal(maps, explain.lrp(model, x, [1, 2], rules="alpha1beta0"))
    assert main(["explain", str(run), "test:0", "--rule", "gamma"]) == 2
    assert "--rule 'gamma' is lrp's; give --method lrp (got 'saliency')" in \
        capsys.readouterr().err


def test_the_newer_methods_give_the_library_s_maps():
    model = models.build("small_cnn", rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((2, 1, 8, 8)).astype(np.float32)
    options = dict(steps=6, n_samples=3, window=4, stdev=0.1, layer=None, seed=0)
    maps, _ = attribute_more("shapley", model, x, [1, 2], **options)
    mask = superpixels(x.shape[1:], 4)
    assert len(np.unique(mask)) == 4
    expected = explain.shapley_value_sampling(model, x, [1, 2], feature_mask=mask, n_samples=3,
                                              rng=0)
    np.testing.assert_array_equal(maps, expected)
    maps, details = attribute_more("layer_ig", model, x, [1, 2], **options)
    layer = explain.layer_integrated_gradients(model, "net.3", x, [1, 2], steps=6)
    assert details["layer"] == "net.3" and maps.shape == x.shape  # 4x4 maps, each cell 2x2 pixels
    np.testing.assert_allclose(maps.reshape(2, -1).sum(1) / 4, layer.reshape(2, -1).sum(1),
                               rtol=1e-6)


def test_visualize_writes_its_figures(run, tmp_path, capsys):
    out = tmp_path / "vis"
    assert main(["visualize", str(run), "--layer", "net.3", "--channels", "0", "1",
                 "--images", "60", "--steps", "10", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    for name in ("first_layer_filters", "top_patches", "deconvnet", "activation_maximization"):
        assert (out / f"{name}.png").is_file()
    for ch in res["channels"].values():
        assert ch["maximization_end"] > ch["maximization_start"]
    assert main(["visualize", str(run), "--layer", "net.99"]) == 2
    assert "model has no layer 'net.99'" in capsys.readouterr().err


def test_prune_reports_accuracy_against_sparsity(run, tmp_path, capsys):
    out = tmp_path / "pr"
    assert main(["prune", str(run), "--sparsity", "0.6", "--steps", "2", "--iterative",
                 "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert [round(c["sparsity"], 2) for c in res["curve"]] == [0.0, 0.37, 0.6]
    assert abs(res["final_sparsity"]["global"] - 0.6) < 1e-3
    assert main(["evaluate", str(out)]) == 0      # the pruned weights load anywhere
    with pytest.raises(SystemExit) as usage:
        main(["prune", str(run), "--sparsity", "1.5"])
    assert usage.value.code == 2
    assert "--sparsity: expected a share in (0, 1), got '1.5'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["explain", "visualize", "prune", "rules"])
def test_every_option_is_explained_with_its_default(command, capsys):
    for invocation, text in _options(_help(capsys, command)).items():
        if invocation.startswith("-h"):
            continue
        assert text, f"{command} {invocation} has no help text"
        if " " in invocation.split(", ")[-1]:
            assert "default" in text, f"{command} {invocation}: {text!r} names no default"
