"""torchvision's shape for the lecture's image data: ``datasets.MNIST`` and ``transforms``.

``from chainrule.vision import datasets, transforms`` stands in for
``from torchvision import datasets, transforms``: a dataset yields ``(transform(image), label)``
with the image an (H, W) uint8 NumPy array (where torchvision gives a PIL image), and
``transforms.ToTensor`` turns it into a float (1, H, W) Tensor in [0, 1]. ``utils.make_grid`` and
``utils.save_image`` tile a batch of images into one picture, as torchvision.utils'; ``ops``
has torchvision.ops' box operations (``nms``, ``batched_nms``, ``box_iou``...).
"""

from . import datasets, ops, transforms, utils

__all__ = ["datasets", "ops", "transforms", "utils"]
