"""chainrule predict: per-file errors in a batch, background polarity, --resize, the help."""

import json

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data.datasets import digits
from chainrule.experiments import predict_images
from chainrule.io import read_config, save_weights

Image = pytest.importorskip("PIL.Image")

N = 30  # test digits used


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "mlp", "--model-arg", "sizes=[64,64,10]", "--lr", "0.01", "--epochs",
                 "20", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def test_digits():
    _, (x, y) = digits()
    return x[:N], y[:N]


def _save(folder, name, image):
    path = folder / name
    if name.endswith(".npy"):
        np.save(path, image.astype(np.float32))
    else:
        Image.fromarray(np.round(image * 255).astype(np.uint8), mode="L").save(path)
    return str(path)


def _classes(results):
    return [r["class"] for r in results]


def test_a_bad_file_does_not_stop_the_batch(run, test_digits, tmp_path, capsys):
    x, _ = test_digits
    good = [_save(tmp_path, "a.png", x[0]), _save(tmp_path, "c.npy", x[1])]
    (tmp_path / "bad.png").write_bytes(b"not an image at all")
    np.save(tmp_path / "big.npy", np.zeros((28, 28), np.float32))
    files = [good[0], str(tmp_path / "bad.png"), str(tmp_path / "missing.png"),
             str(tmp_path / "big.npy"), good[1]]
    assert main(["predict", str(run), *files]) == 2
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split(": ")[0] for line in lines] == good
    errors = err.splitlines()
    assert errors[0] == (f"chainrule: error: {files[1]}: not an image file Pillow can read; "
                         "expected a greyscale PNG or JPEG (or a .npy array)")
    assert errors[1] == f"chainrule: error: {files[2]}: no such image file"
    assert errors[2].startswith(f"chainrule: error: {files[3]}: image has shape (28, 28), the "
                                "model expects (8, 8)") and "--resize" in errors[2]
    assert errors[3] == "chainrule: error: 3 of 5 images could not be read"
    assert main(["predict", str(run), *good]) == 0


def test_predict_images_reports_each_files_error(run, test_digits, tmp_path):
    x, _ = test_digits
    good = _save(tmp_path, "a.npy", x[0])
    (tmp_path / "empty.png").write_bytes(b"")
    results = predict_images(run, [str(tmp_path / "empty.png"), good])
    assert results[0] == {"file": str(tmp_path / "empty.png"), "error": "the file is empty; "
                          "expected a greyscale PNG/JPEG image or a .npy array"}
    assert set(results[1]) == {"file", "class", "probabilities", "inverted"}
    assert predict_images(run, [str(tmp_path / "empty.png")]) == [results[0]]
    with pytest.raises(ValueError, match="empty.png: the file is empty"):
        predict_images(run, [str(tmp_path / "empty.png"), good], on_error="raise")


def test_json_output_and_top(run, test_digits, tmp_path, capsys):
    x, _ = test_digits
    files = [_save(tmp_path, "a.npy", x[0]), str(tmp_path / "missing.npy")]
    assert main(["predict", str(run), *files, "--json"]) == 2
    results = json.loads(capsys.readouterr().out)
    assert results[0]["file"] == files[0] and len(results[0]["probabilities"]) == 10
    assert results[1] == {"file": files[1], "error": "no such image file"}
    assert main(["predict", str(run), files[0], "--top", "1"]) == 0
    assert capsys.readouterr().out.count(": ") == 2  # the file's and its one class's


def test_training_records_the_images_background(run):
    assert read_config(run / "model.safetensors")["images"] == {"background": 0.0, "extent": 1.0}


def test_inverted_digits_warn_and_invert_fixes_them(run, test_digits, tmp_path, capsys):
    x, y = test_digits
    upright = [_save(tmp_path, f"u{i}.npy", x[i]) for i in range(N)]
    inverted = [_save(tmp_path, f"i{i}.npy", 1 - x[i]) for i in range(N)]
    right = _classes(predict_images(run, upright))
    assert np.mean(np.array(right, int) == y) > 0.8
    assert main(["predict", str(run), *inverted]) == 0
    out, err = capsys.readouterr()
    wrong = [line.split(": ")[1].split()[0] for line in out.splitlines()]
    assert np.mean(np.array(wrong, int) == y) < 0.5
    warnings = err.splitlines()
    assert len(warnings) == N
    assert warnings[0] == (f"chainrule: warning: {inverted[0]} looks inverted (dark strokes on a "
                           "light background, border level 1.00); the model was trained on "
                           "light-on-dark images (background 0.00): pass --invert (or "
                           "--auto-invert)")
    assert main(["predict", str(run), *inverted, "--invert"]) == 0
    out, err = capsys.readouterr()
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()] == right
    assert all(line.endswith("[inverted]") for line in out.splitlines()) and err == ""


def test_auto_invert_inverts_only_the_inverted_images(run, test_digits, tmp_path, capsys):
    x, _ = test_digits
    files = [_save(tmp_path, "u.png", x[0]), _save(tmp_path, "i.png", 1 - x[1])]
    results = predict_images(run, files, invert="auto")
    assert [r["inverted"] for r in results] == [False, True]
    assert all("warning" not in r for r in results)
    assert _classes(results) == _classes(predict_images(run, [files[0], _save(tmp_path, "v.png",
                                                                              x[1])]))
    results = predict_images(run, files, invert=True)  # an upright image inverted: said so
    assert "warning" not in results[1]
    assert results[0]["warning"].startswith("inverted as asked, though its background (0.00)")


def test_old_runs_fall_back_on_their_datasets_background(run, test_digits, tmp_path):
    from chainrule.experiments import load_model

    net, config = load_model(run)
    del config["images"]
    save_weights(net, tmp_path / "old.safetensors", config=config)
    inverted = _save(tmp_path, "i.npy", 1 - test_digits[0][0])
    assert predict_images(tmp_path / "old.safetensors", [inverted])[0]["looks_inverted"]
    save_weights(net, tmp_path / "anon.safetensors",
                 config={k: v for k, v in config.items() if k != "dataset"})
    assert "warning" not in predict_images(tmp_path / "anon.safetensors", [inverted])[0]
    with pytest.raises(ValueError, match="records no training images' background"):
        predict_images(tmp_path / "anon.safetensors", [inverted], invert="auto")
    save_weights(net, tmp_path / "bad.safetensors", config={**config, "images": [0, 1]})
    with pytest.raises(ValueError, match=r"bad\.safetensors: the config's 'images' entry is"):
        predict_images(tmp_path / "bad.safetensors", [inverted])


def _enlarged(image, factor, margin, background=0.0):
    """``image`` scaled up ``factor`` times (each pixel a block), with a ``margin`` around it."""
    big = np.kron(image, np.ones((factor, factor)))
    return np.pad(big, margin, constant_values=background)


def test_resize_predicts_what_the_right_size_does(run, test_digits, tmp_path, capsys):
    x, _ = test_digits
    small = [_save(tmp_path, f"s{i}.png", x[i]) for i in range(N)]
    results = predict_images(run, small)
    clear = [i for i, r in enumerate(results) if max(r["probabilities"].values()) > 0.9]
    assert len(clear) >= N // 2
    big = [_save(tmp_path, f"b{i}.png", _enlarged(x[i], 5, ((7, 13), (20, 4)))) for i in clear]
    assert main(["predict", str(run), big[0]]) == 2  # refused without --resize
    assert "image has shape (60, 64), the model expects (8, 8)" in capsys.readouterr().err
    assert main(["predict", str(run), *big, "--resize"]) == 0
    got = [line.split(": ")[1].split()[0] for line in capsys.readouterr().out.splitlines()]
    expected = [results[i]["class"] for i in clear]
    # cropped to its content and scaled to fill the frame, as the training digits do: a digit
    # that did not fill it is scaled up, and faint edge pixels (1/16) are cropped
    assert np.mean(np.array(got) == expected) >= 0.9
    paper = [_save(tmp_path, f"p{i}.png", 1 - _enlarged(x[i], 4, 6)) for i in clear]
    resized = predict_images(run, paper, resize="content", invert="auto")  # dark on light
    assert _classes(resized) == got
    # a whole image scaled by a whole number comes back exactly
    whole = predict_images(run, [_save(tmp_path, f"w{i}.png", _enlarged(x[i], 3, 0))
                                 for i in clear], resize="whole")
    assert [r["probabilities"] for r in whole] == [results[i]["probabilities"] for i in clear]


def test_resize_still_bounds_the_pixels(run, tmp_path, capsys, monkeypatch):
    Image.new("L", (9000, 8000)).save(tmp_path / "huge.png")
    monkeypatch.setattr(Image.Image, "load", None)  # decoding would fail the test
    assert main(["predict", str(run), str(tmp_path / "huge.png"), "--resize"]) == 2
    assert ("huge.png: the image has 9000x8000 = 72,000,000 pixels; resizing reads at most "
            "64,000,000 8-bit pixels") in capsys.readouterr().err


def test_help_describes_the_arguments(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ("a classifier's run folder (from `chainrule train`) or its model.safetensors",
                  "greyscale PNG/JPEG images or .npy arrays", "--invert", "--auto-invert",
                  "--resize", "--resize-whole", "--top K", "--json", "the exit status is then 2"):
        assert words in text, words
