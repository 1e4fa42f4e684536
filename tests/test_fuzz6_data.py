"""Sixth fuzz wave, data: the batch augmentations of data.transforms on multi-channel images."""

import numpy as np
import pytest

from chainrule.data.transforms import elastic_distortion, random_affine, random_shift

DISTORTIONS = [lambda x, rng: random_shift(x, 2, rng=rng), lambda x, rng: random_affine(x, rng=rng),
               lambda x, rng: elastic_distortion(x, rng=rng, alpha=8.0, sigma=2.0)]


@pytest.mark.parametrize("distort", DISTORTIONS, ids=["shift", "affine", "elastic"])
def test_every_channel_of_an_image_moves_alike(distort):
    rng = np.random.default_rng(0)
    images = rng.random((4, 3, 10, 9), dtype=np.float32)
    out = distort(images, np.random.default_rng(5))
    # each channel was distorted by its own random draw: an RGB image came apart into
    # three differently shifted, rotated or warped planes
    for c in range(3):
        alone = distort(images[:, c], np.random.default_rng(5))
        np.testing.assert_array_equal(out[:, c], alone)
    # a grey image in the (N, 1, H, W) layout is distorted as in the (N, H, W) one
    np.testing.assert_array_equal(distort(images[:, :1], np.random.default_rng(5))[:, 0],
                                  distort(images[:, 0], np.random.default_rng(5)))


def test_a_damaged_npy_header_is_a_value_error_naming_the_file(tmp_path):
    from chainrule.data.images import read_image

    path = tmp_path / "digit.npy"
    np.save(path, np.zeros((28, 28), np.float32))
    raw = path.read_bytes()
    # one closing parenthesis of the shape lost: NumPy's tokenizer of the header raised
    # tokenize.TokenError, which escaped read_image as an unexplained error
    path.write_bytes(raw.replace(b"(28, 28)", b"(28, 28 ", 1))
    with pytest.raises(ValueError, match=r"digit\.npy: not a readable \.npy file"):
        read_image(path, (1, 28, 28))


def test_a_truncated_labelled_csv_is_a_value_error_naming_the_file(tmp_path):
    from chainrule.data.datasets import text

    path = tmp_path / "test.csv"
    path.write_text('3,"Title one","A description"\n2,"Title two","Cut off in the mid',
                    encoding="utf-8")
    # a lenient reader ran the open quote on to the end of the file: one text swallowed the rest
    with pytest.raises(ValueError, match=r"test\.csv: after line 2: not readable as UTF-8 CSV"):
        text.read_labelled_csv(path, label_offset=1)
    path.write_text('3,"Title one","A description"\n2,"Title two","Desc ""quoted"" here"\n',
                    encoding="utf-8")
    texts, labels = text.read_labelled_csv(path, label_offset=1)
    assert texts == ["Title one A description", 'Title two Desc "quoted" here']
    assert labels.tolist() == [2, 1]
    path.write_bytes('1,"caf\xe9","latin-1"\n'.encode("latin-1"))
    with pytest.raises(ValueError, match=r"test\.csv:1: not UTF-8 .*can't decode byte 0xe9"):
        text.read_labelled_csv(path)


def test_weighted_sampler_refuses_a_replacement_that_is_not_a_bool():
    from chainrule.utils.data import WeightedRandomSampler

    # bool("False") is True: the sampler drew with replacement, silently repeating indices
    with pytest.raises(ValueError, match=r"replacement should be a boolean value, but got "
                                         r"replacement='False'"):
        WeightedRandomSampler([1.0, 2.0, 3.0], 3, replacement="False")
    drawn = list(WeightedRandomSampler([1.0, 2.0, 3.0], 3, replacement=False,
                                       generator=np.random.default_rng(0)))
    assert sorted(drawn) == [0, 1, 2]
