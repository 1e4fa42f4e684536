"""chainrule.vision.utils.draw_bounding_boxes / draw_segmentation_masks / draw_keypoints: by hand,
and equal to torchvision.utils' (pure Python over Pillow) where torchvision imports."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import utils

pytest.importorskip("PIL")

RNG = np.random.default_rng(0)
IMAGE = RNG.integers(0, 256, (3, 20, 24), dtype=np.uint8)
BOXES = np.array([[1, 2, 10, 12.7], [5, 5, 20, 18], [0, 0, 23, 19]])
MASKS = RNG.random((3, 20, 24)) > 0.6
POINTS = RNG.uniform(0, 20, (2, 5, 2))
SEEN = RNG.random((2, 5)) > 0.3


def _torchvision_utils():
    try:  # a torchvision built for another torch fails with RuntimeError, not ImportError
        import torchvision.utils as tvu
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"torchvision does not import: {e!r}")
    return tvu


def _images():
    return [IMAGE, IMAGE.astype(np.float32) / 255, IMAGE.astype(np.float64) / 255]


def test_boxes_by_hand():
    image = cr.tensor(np.zeros((1, 6, 8), np.uint8))  # grayscale comes back RGB
    out = utils.draw_bounding_boxes(image, cr.tensor([[1, 1, 4.9, 3]]), colors=(255, 0, 0))
    assert out.shape == (3, 6, 8) and out.dtype == cr.uint8
    red = out.numpy()[0]
    box = np.zeros((6, 8), bool)  # corners truncated: (1, 1)-(4, 3), a 1-pixel outline
    box[1:4, 1:5] = True
    box[2, 2:4] = False
    np.testing.assert_array_equal(red == 255, box)
    assert not out.numpy()[1:].any()
    filled = utils.draw_bounding_boxes(cr.tensor(np.zeros((3, 6, 8))), cr.tensor([[1, 1, 4, 3.]]),
                                       colors="white", fill=True)
    assert filled.dtype == cr.float64  # back in the image's dtype, through uint8
    assert filled.numpy()[0, 2, 2] == 100 / 255  # inside: white at alpha 100


def test_oriented_boxes_by_hand():
    image = cr.tensor(np.zeros((3, 12, 16), np.uint8))
    square = cr.tensor([[1, 1, 13, 1, 13, 9, 1, 9.]])  # the top edge dashed, 5 on and 5 off
    red = utils.draw_bounding_boxes(image, square, colors=(255, 0, 0)).numpy()[0] == 255
    assert red[1:10, 13].all() and red[9, 1:14].all() and red[1:10, 1].all()
    assert red[1, 1:6].all() and not red[1, 8:10].any() and red[1, 12]
    assert not red[2:9, 2:13].any()  # no fill


def test_masks_by_hand():
    image = np.full((3, 2, 2), 100, np.uint8)
    masks = np.array([[[True, True], [False, False]], [[False, True], [False, False]]])
    out = utils.draw_segmentation_masks(cr.tensor(image), cr.tensor(masks), 0.5,
                                        ["red", (0, 0, 255)]).numpy()
    assert out[:, 0, 0].tolist() == [177, 50, 50]  # red: 100 * 0.5 + 255 * 0.5, truncated
    assert out[:, 0, 1].tolist() == [50, 50, 50]  # under two masks: blended with black
    assert out[:, 1, 0].tolist() == [100, 100, 100]


def test_keypoints_by_hand():
    image = cr.tensor(np.zeros((3, 9, 9), np.uint8))
    out = utils.draw_keypoints(image, cr.tensor([[[4.7, 4.2], [1, 1]]]), colors=(0, 255, 0),
                               radius=1, visibility=cr.tensor([[True, False]])).numpy()
    assert out[1, 4, 4] == 255 and out[1, 1, 1] == 0  # (4, 4): truncated; the hidden point not
    assert out[0].sum() == 0 and out[2].sum() == 0


def test_bad_arguments_and_warnings():
    image = cr.tensor(IMAGE)
    with pytest.raises(ValueError, match=r"\(xmin, ymin, xmax, ymax\) format"):
        utils.draw_bounding_boxes(image, cr.tensor([[5, 0, 1, 1.]]))
    with pytest.raises(ValueError, match=r"boxes must be \(N, 4\) .* or \(N, 8\)"):
        utils.draw_bounding_boxes(image, cr.zeros(2, 5))
    with pytest.raises(ValueError, match="3 boxes but 1 labels"):
        utils.draw_bounding_boxes(image, cr.tensor(BOXES), labels=["a"])
    with pytest.raises(ValueError, match="at least one colour per object, got 1 for 3"):
        utils.draw_bounding_boxes(image, cr.tensor(BOXES), colors=["red"])
    with pytest.raises(ValueError, match="RGB triplet"):
        utils.draw_bounding_boxes(image, cr.tensor(BOXES), colors=(1, 2))
    with pytest.raises(ValueError, match="uint8 or float, got int32"):
        utils.draw_bounding_boxes(cr.tensor(IMAGE.astype(np.int32)), cr.tensor(BOXES))
    with pytest.raises(ValueError, match="not a batch"):
        utils.draw_keypoints(cr.tensor(IMAGE[None]), cr.tensor(POINTS))
    with pytest.raises(ValueError, match="3 channels"):
        utils.draw_segmentation_masks(cr.tensor(IMAGE[:1]), cr.tensor(MASKS[:, :1]))
    with pytest.raises(ValueError, match="masks must be bool, got float64"):
        utils.draw_segmentation_masks(image, cr.tensor(MASKS * 1.0))
    with pytest.raises(ValueError, match="same height and width"):
        utils.draw_segmentation_masks(image, cr.tensor(MASKS[:, 1:]))
    with pytest.raises(ValueError, match=r"visibility must be \(num_instances, K\)"):
        utils.draw_keypoints(image, cr.tensor(POINTS), visibility=cr.tensor(SEEN[:1]))
    with pytest.raises(TypeError, match="image must be a Tensor, got ndarray"):
        utils.draw_keypoints(IMAGE, cr.tensor(POINTS))
    with pytest.warns(UserWarning, match="No box was drawn"):
        assert utils.draw_bounding_boxes(image, cr.zeros(0, 4)) is image
    with pytest.warns(UserWarning, match="No mask was drawn"):
        assert utils.draw_segmentation_masks(image, cr.tensor(MASKS[:0])) is image
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        utils.draw_keypoints(image, cr.tensor(POINTS), visibility=cr.tensor(SEEN[..., None]))


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"fill": True, "width": 2},
                                    {"labels": ["a", "bb", "c"], "colors": "red"},
                                    {"labels": ["a", "bb", "c"], "fill_labels": True,
                                     "colors": [(1, 2, 3), "blue", "#ff00ff"]},
                                    {"labels": ["x", None, "z"], "label_colors": "green"}])
def test_draw_bounding_boxes_equals_torchvision(kwargs):
    torch = pytest.importorskip("torch")
    tvu = _torchvision_utils()
    oriented = np.array([[2, 3, 15, 1, 19, 12, 4, 16.5], [10, 2, 22, 9, 14, 19, 3, 11]] * 2)[:3]
    for image in _images() + [IMAGE[:1]]:
        for boxes in (BOXES, oriented):
            ours = utils.draw_bounding_boxes(cr.tensor(image), cr.tensor(boxes), **kwargs)
            theirs = tvu.draw_bounding_boxes(torch.tensor(image), torch.tensor(boxes), **kwargs)
            assert str(theirs.dtype).endswith(str(ours.numpy().dtype))
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("alpha", [0.8, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("colors", [None, "red", [(10, 20, 30), "blue", (0, 255, 7)]])
def test_draw_segmentation_masks_equals_torchvision(alpha, colors):
    torch = pytest.importorskip("torch")
    tvu = _torchvision_utils()
    for image in _images():
        for masks in (MASKS, MASKS[0]):
            ours = utils.draw_segmentation_masks(cr.tensor(image), cr.tensor(masks), alpha,
                                                 colors)
            theirs = tvu.draw_segmentation_masks(torch.tensor(image), torch.tensor(masks), alpha,
                                                 colors)
            assert ours.numpy().dtype == image.dtype
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"colors": "red", "radius": 1, "width": 1},
                                    {"connectivity": [(0, 1), (1, 2), (3, 4)], "colors": "red"}])
def test_draw_keypoints_equals_torchvision(kwargs):
    torch = pytest.importorskip("torch")
    tvu = _torchvision_utils()
    for image in _images():
        for seen in (None, SEEN):
            vis = {} if seen is None else {"visibility": seen}
            ours = utils.draw_keypoints(cr.tensor(image), cr.tensor(POINTS), **kwargs,
                                        **{k: cr.tensor(v) for k, v in vis.items()})
            theirs = tvu.draw_keypoints(torch.tensor(image), torch.tensor(POINTS), **kwargs,
                                        **{k: torch.tensor(v) for k, v in vis.items()})
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
