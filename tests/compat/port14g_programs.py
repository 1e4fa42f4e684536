"""PyTorch's "Fusing Convolution and Batch Norm using Custom Function" tutorial written from
memory, run with ``torch`` = PyTorch or chainrule (test_port14_programs.py): a ``Conv2D`` Function
whose backward is ``F.conv2d(X.transpose(0, 1), grad_out.transpose(0, 1)).transpose(0, 1)`` and
``F.conv_transpose2d``, a ``BatchNorm`` Function keeping tensors and numbers as ``ctx``
attributes (``X.var(unbiased=True, dim=(0, 2, 3))``, ``N = X.numel() / X.size(1)``, in-place
``out /= ...``) with its hand-written backward, both checked by ``torch.autograd.gradcheck``
(``fast_mode=False``), the fused ``FusedConvBN2DFunction`` whose backward returns seven gradients
for three inputs (the extra ``None`` s are allowed), the ``FusedConvBN`` module
(``torch.empty(*shape, **factory_kwargs)``, ``kaiming_uniform_(a=math.sqrt(5))``), and the MNIST
``Net`` fused or not (``F.relu_``, ``nn.BatchNorm2d(affine=False, track_running_stats=False)``),
trained with Adadelta and ``StepLR``. Beside it, a straight-through binarized convolution in the
style of XNOR-Net/BNN repositories, a Function whose backward calls ``torch.nn.grad.conv2d_input``
and ``conv2d_weight``.
"""

from __future__ import annotations

import math


def fusion(torch):
    """The tutorial's Functions, for the library ``torch``."""
    F = torch.nn.functional

    def convolution_backward(grad_out, X, weight):
        grad_input = F.conv2d(X.transpose(0, 1), grad_out.transpose(0, 1)).transpose(0, 1)
        grad_X = torch.nn.functional.conv_transpose2d(grad_out, weight)
        return grad_X, grad_input

    class Conv2D(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, weight):
            ctx.save_for_backward(X, weight)
            return F.conv2d(X, weight)

        # Use @once_differentiable by default unless we intend to double backward
        @staticmethod
        def backward(ctx, grad_out):
            X, weight = ctx.saved_tensors
            return convolution_backward(grad_out, X, weight)

    def unsqueeze_all(t):
        # Helper function to ``unsqueeze`` all the dimensions that we reduce over
        return t[None, :, None, None]

    def batch_norm_backward(grad_out, X, sum, sqrt_var, N, eps):  # noqa: A002
        # We use the formula: ``out = (X - mean(X)) / (sqrt(var(X)) + eps)``
        # in batch norm 2D forward. To simplify our derivation, we follow the
        # chain rule and compute the gradients as follows before accumulating
        # them all into a final grad_input.
        #  1) ``grad of out wrt var(X)`` * ``grad of var(X) wrt X``
        #  2) ``grad of out wrt mean(X)`` * ``grad of mean(X) wrt X``
        #  3) ``grad of out wrt X in the numerator`` * ``grad of X wrt X``
        # We then rewrite the formulas to use as few extra buffers as possible
        tmp = ((X - unsqueeze_all(sum) / N) * grad_out).sum(dim=(0, 2, 3))
        tmp *= -1
        d_denom = tmp / (sqrt_var + eps)**2  # ``d_denom = -num / denom**2``
        # It is useful to delete tensors when you no longer need them with ``del``
        # For example, we could've done ``del tmp`` here because we won't use it later
        # In this case, it's not a big difference because ``tmp`` only has size of (C,)
        # The important thing is avoid allocating NCHW-sized tensors unnecessarily
        d_var = d_denom / (2 * sqrt_var)  # ``denom = torch.sqrt(var) + eps``
        # Compute ``d_mean_dx`` before allocating the final NCHW-sized grad_input buffer
        d_mean_dx = grad_out / unsqueeze_all(sqrt_var + eps)
        d_mean_dx = unsqueeze_all(-d_mean_dx.sum(dim=(0, 2, 3)) / N)
        # ``d_mean_dx`` has already been reassigned to a C-sized buffer so no need to worry

        # ``(1) unbiased_var(x) = ((X - unsqueeze_all(mean))**2).sum(dim=(0, 2, 3)) / (N - 1)``
        grad_input = X * unsqueeze_all(d_var * N)
        grad_input += unsqueeze_all(-d_var * sum)
        grad_input *= 2 / ((N - 1) * N)
        # (2) mean (see above)
        grad_input += d_mean_dx
        # (3) Add 'grad_out / <factor>' without allocating an extra buffer
        grad_input *= unsqueeze_all(sqrt_var + eps)
        grad_input += grad_out
        grad_input /= unsqueeze_all(sqrt_var + eps)  # ``sqrt_var + eps > 0!``
        return grad_input

    class BatchNorm(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, eps=1e-3):
            # Don't save ``keepdim`` values for backward
            sum = X.sum(dim=(0, 2, 3))  # noqa: A001
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.save_for_backward(X)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            out = X - unsqueeze_all(mean)
            out /= unsqueeze_all(denom)
            return out

        @staticmethod
        def backward(ctx, grad_out):
            X, = ctx.saved_tensors
            return batch_norm_backward(grad_out, X, ctx.sum, ctx.sqrt_var, ctx.N, ctx.eps)

    class FusedConvBN2DFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, conv_weight, eps=1e-3):
            assert X.ndim == 4  # N, C, H, W
            # (1) Only need to save this single buffer for backward!
            ctx.save_for_backward(X, conv_weight)

            # (2) Exact same Conv2D forward from example above
            X = F.conv2d(X, conv_weight)
            # (3) Exact same BatchNorm2D forward from example above
            sum = X.sum(dim=(0, 2, 3))  # noqa: A001
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            # Try to do as many things in-place as possible
            # Instead of `out = (X - a) / b`, doing `out = X - a; out /= b`
            # avoids allocating one extra NCHW-sized buffer here
            out = X - unsqueeze_all(mean)
            out /= unsqueeze_all(denom)
            return out

        @staticmethod
        def backward(ctx, grad_out):
            X, conv_weight, = ctx.saved_tensors
            # (4) Batch norm backward
            # (5) We need to recompute conv
            X_conv_out = F.conv2d(X, conv_weight)
            grad_out = batch_norm_backward(grad_out, X_conv_out, ctx.sum, ctx.sqrt_var,
                                           ctx.N, ctx.eps)
            # (6) Conv2d backward
            grad_X, grad_input = convolution_backward(grad_out, X, conv_weight)
            return grad_X, grad_input, None, None, None, None, None

    return Conv2D, BatchNorm, FusedConvBN2DFunction


def gradchecks(torch, X, weight, a):
    Conv2D, BatchNorm, Fused = fusion(torch)
    return (torch.autograd.gradcheck(Conv2D.apply, (X, weight)),
            torch.autograd.gradcheck(BatchNorm.apply, (a,), fast_mode=False),
            torch.autograd.gradcheck(Fused.apply, (X, weight)))


def mnist_net(torch, fused=True, side=28):
    nn = torch.nn
    F = torch.nn.functional
    _, _, FusedConvBN2DFunction = fusion(torch)

    class FusedConvBN(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, exp_avg_factor=0.1,
                     eps=1e-3, device=None, dtype=None):
            super(FusedConvBN, self).__init__()  # noqa: UP008
            factory_kwargs = {'device': device, 'dtype': dtype}
            # Conv parameters
            weight_shape = (out_channels, in_channels, kernel_size, kernel_size)
            self.conv_weight = nn.Parameter(torch.empty(*weight_shape, **factory_kwargs))
            # Batch norm parameters
            num_features = out_channels
            self.num_features = num_features
            self.eps = eps
            # Initialize
            self.reset_parameters()

        def forward(self, X):
            return FusedConvBN2DFunction.apply(X, self.conv_weight, self.eps)

        def reset_parameters(self) -> None:
            torch.nn.init.kaiming_uniform_(self.conv_weight, a=math.sqrt(5))

    class Net(nn.Module):
        def __init__(self, fused=True):
            super(Net, self).__init__()  # noqa: UP008
            self.fused = fused
            if fused:
                self.convbn1 = FusedConvBN(1, 4, 3)
                self.convbn2 = FusedConvBN(4, 6, 3)
            else:
                self.conv1 = nn.Conv2d(1, 4, 3, 1, bias=False)
                self.bn1 = nn.BatchNorm2d(4, affine=False, track_running_stats=False)
                self.conv2 = nn.Conv2d(4, 6, 3, 1, bias=False)
                self.bn2 = nn.BatchNorm2d(6, affine=False, track_running_stats=False)
            self.fc1 = nn.Linear(6 * ((side - 4) // 2) ** 2, 16)
            self.dropout = nn.Dropout(0.5)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            if self.fused:
                x = self.convbn1(x)
            else:
                x = self.conv1(x)
                x = self.bn1(x)
            F.relu_(x)
            if self.fused:
                x = self.convbn2(x)
            else:
                x = self.conv2(x)
                x = self.bn2(x)
            F.relu_(x)
            x = F.max_pool2d(x, 2)
            F.relu_(x)
            x = x.flatten(1)
            x = self.fc1(x)
            x = self.dropout(x)
            F.relu_(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return Net(fused)


def train_mnist(torch, model, train_loader, epochs=2):
    F = torch.nn.functional
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for epoch in range(1, epochs + 1):  # noqa: B007
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):  # noqa: B007
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def binary_conv(torch, in_channels=2, out_channels=4, kernel_size=3, stride=1, padding=1):
    """A binarized convolution (sign of the weight and input in the forward pass, gradients
    straight through, clipped at |x| > 1), its backward by ``torch.nn.grad``."""
    nn = torch.nn
    F = torch.nn.functional

    class BinaryConv2dFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight, stride, padding):  # noqa: A002
            ctx.save_for_backward(input, weight)
            ctx.stride, ctx.padding = stride, padding
            return F.conv2d(input.sign(), weight.sign(), None, stride, padding)

        @staticmethod
        def backward(ctx, grad_output):
            input, weight = ctx.saved_tensors  # noqa: A001
            grad_input = torch.nn.grad.conv2d_input(input.shape, weight.sign(), grad_output,
                                                    ctx.stride, ctx.padding)
            grad_weight = torch.nn.grad.conv2d_weight(input.sign(), weight.shape, grad_output,
                                                      ctx.stride, ctx.padding)
            grad_input = grad_input * (input.abs() <= 1).to(grad_input.dtype)
            return grad_input, grad_weight, None, None

    class BinaryConv2d(nn.Conv2d):
        def forward(self, input):  # noqa: A002
            return BinaryConv2dFunction.apply(input, self.weight, self.stride, self.padding)

    return nn.Sequential(BinaryConv2d(in_channels, out_channels, kernel_size, stride, padding,
                                      bias=False),
                         nn.BatchNorm2d(out_channels), nn.Hardtanh(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(out_channels, 3))


def train_binary(torch, model, x, y, steps=4):
    F = torch.nn.functional
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
