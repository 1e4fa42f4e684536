"""Wave-17 ports, part ten, run with ``torch`` = PyTorch or chainrule
(test_port17j_programs.py): PyTorch's "Python Custom Operators" tutorial.

``crop`` and ``paste`` as ``@torch.library.custom_op`` operators with ``register_fake`` shape
functions, ``crop``'s gradient by ``register_autograd(backward, setup_context=setup_context)``
whose backward calls ``paste`` on ``grad_output.new_zeros(ctx.img_shape)``, ``opcheck`` of
both, and the mutable ``numpy_sin`` (``mutates_args={"output"}``, ``device_types="cpu"``,
``np.sin(input_np, out=output_np)`` through ``Tensor.numpy()``). The tutorial crops through PIL
(``to_pil_image``/``pil_to_tensor`` from torchvision, which quantise to bytes); here the kernels
are the same crop and paste as NumPy slices, the crop's result the (C, H, W) view of (H, W, C)
pixels that ``pil_to_tensor`` gives (the layout its fake function declares). A canvas is then
fitted through the operator: Adam on the squared error of its crops against target patches.

No ``from __future__ import annotations``: PyTorch reads the operators' annotations as their
schema, which must be the types themselves.
"""

from collections.abc import Sequence

import numpy as np


def custom_ops(torch, ns="mylib"):
    Tensor = torch.Tensor

    @torch.library.custom_op(f"{ns}::crop", mutates_args=())
    def crop(pic: Tensor, box: Sequence[int]) -> Tensor:
        img = pic.cpu().numpy().transpose(1, 2, 0)  # the (H, W, C) layout of a PIL image
        x0, y0, x1, y1 = box
        cropped_img = np.ascontiguousarray(img[y0:y1, x0:x1])
        # pil_to_tensor: a (C, H, W) view of the (H, W, C) pixels
        return torch.from_numpy(cropped_img).permute(2, 0, 1).to(pic.device, pic.dtype)

    @crop.register_fake
    def _(pic, box):
        channels = pic.shape[0]
        x0, y0, x1, y1 = box
        result = pic.new_empty(y1 - y0, x1 - x0, channels).permute(2, 0, 1)
        # The result should have the same metadata (shape/strides/``dtype``/device)
        # as running the ``crop`` function above.
        return result

    @torch.library.custom_op(f"{ns}::paste", mutates_args=())
    def paste(im1: Tensor, im2: Tensor, coord: Sequence[int]) -> Tensor:
        assert im1.device == im2.device
        assert im1.dtype == im2.dtype
        im1_np = im1.cpu().numpy().copy()
        im2_np = im2.cpu().numpy()
        x0, y0 = coord[0], coord[1]
        im1_np[:, y0:y0 + im2_np.shape[1], x0:x0 + im2_np.shape[2]] = im2_np
        return torch.from_numpy(im1_np).to(im1.device, im1.dtype)

    @paste.register_fake
    def _(im1, im2, coord):
        assert im1.device == im2.device
        assert im1.dtype == im2.dtype
        return torch.empty_like(im1)

    def backward(ctx, grad_output):
        grad_input = grad_output.new_zeros(ctx.pic_shape)
        grad_input = paste(grad_input, grad_output, ctx.coords)
        return grad_input, None

    def setup_context(ctx, inputs, output):
        pic, box = inputs
        ctx.coords = box[:2]
        ctx.pic_shape = pic.shape

    crop.register_autograd(backward, setup_context=setup_context)

    @torch.library.custom_op(f"{ns}::numpy_sin", mutates_args={"output"}, device_types="cpu")
    def numpy_sin(input: Tensor, output: Tensor) -> None:  # noqa: A002 - the tutorial's name
        assert input.device == output.device
        assert input.device.type == "cpu"
        input_np = input.numpy()
        output_np = output.numpy()
        np.sin(input_np, out=output_np)

    return crop, paste, numpy_sin


def custom_ops_tutorial(torch, img, ns="mylib"):
    crop, paste, numpy_sin = custom_ops(torch, ns)
    out = {}
    pic = img.clone().requires_grad_()
    cropped = crop(pic, (1, 2, 5, 6))
    out["cropped"] = cropped.detach().numpy().copy()
    cropped.sum().backward()
    out["grad"] = pic.grad.numpy().copy()
    examples = [[torch.randn(3, 8, 8), [0, 0, 4, 4]],
                [img.clone().requires_grad_(), [2, 1, 8, 3]]]
    out["opcheck"] = [sorted(torch.library.opcheck(crop, example).items())
                      for example in examples]
    out["opcheck_paste"] = sorted(torch.library.opcheck(
        paste, (img, img[:, :2, :3].clone(), [1, 1])).items())
    x = img[0].clone()
    y = torch.empty_like(x)
    numpy_sin(x, y)
    out["sin"] = y.numpy().copy()
    out["sin_check"] = np.sin(x.numpy())
    return out


def fit_canvas(torch, targets, boxes, ns="mylib", steps=25):
    crop, _, _ = custom_ops(torch, ns)
    canvas = torch.nn.Parameter(torch.zeros(3, 8, 8, dtype=targets[0].dtype))
    optimizer = torch.optim.Adam([canvas], lr=0.1)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = sum(torch.nn.functional.mse_loss(crop(canvas, box), target)
                   for box, target in zip(boxes, targets))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, canvas.detach().numpy().copy()
