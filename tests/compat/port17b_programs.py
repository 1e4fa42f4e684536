"""Wave-17 ports, part two, run with ``torch`` = PyTorch or chainrule (test_port17_programs.py):
three more of PyTorch's autograd tutorials as they write them.

- "Jacobians, Hessians, hvp, vhp, and more: composing function transforms": Jacobian rows by
  ``autograd.grad`` against ``vmap(vjp_fn)``, ``jacrev``/``jacfwd`` with ``argnums``, the
  Hessian three ways, batch Jacobians by ``vmap`` and by summing the output, a batch Hessian,
  ``hvp`` as ``jvp(grad(f))``, and ``torch.autograd.functional``'s ``jacobian``/``hessian``/
  ``vhp``/``hvp``; then a Levenberg-Marquardt fit whose Jacobian is ``jacrev`` of a
  ``functional_call``.
- "Double Backward with Custom Functions": ``Square`` (saving the input), ``Exp`` (saving the
  output), ``Sinh`` (intermediate results returned as outputs) and ``Cube`` with its backward as
  another Function, each under ``gradcheck`` and ``gradgradcheck``; then Sobolev training, a
  network whose activation is ``Sinh`` fitted to values and derivatives (``create_graph``).
- "Hooks for autograd saved tensors": ``saved_tensors_hooks`` that count, that save to disk
  (``torch.save``/``torch.load`` of temporary files), ``save_on_cpu``, and a module whose
  forward pre/post hooks enter and exit the disk hooks, trained with SGD.
"""

from __future__ import annotations

import os
import uuid
from functools import partial


def predict(torch, weight, bias, x):
    return torch.nn.functional.linear(x, weight, bias).tanh()


def jacobians_tutorial(torch, weight, bias, x, bweight, bbias, bx, sx, stangent):
    func = torch.func
    vmap, vjp, jacrev, jacfwd, hessian = func.vmap, func.vjp, func.jacrev, func.jacfwd, \
        func.hessian
    predict_ = partial(predict, torch)
    D = x.shape[0]
    out = {}
    xp = x.clone().requires_grad_()
    unit_vectors = torch.eye(D, dtype=x.dtype)

    def compute_jac(xp):
        jacobian_rows = [torch.autograd.grad(predict_(weight, bias, xp), xp, vec)[0]
                         for vec in unit_vectors]
        return torch.stack(jacobian_rows)

    out["rows"] = compute_jac(xp)
    _, vjp_fn = vjp(partial(predict_, weight, bias), x)
    (out["vmap_vjp"],) = vmap(vjp_fn)(unit_vectors)
    out["jacrev"] = jacrev(predict_, argnums=2)(weight, bias, x)
    out["jac_weight"], out["jac_bias"] = jacrev(predict_, argnums=(0, 1))(weight, bias, x)
    out["jacfwd"] = jacfwd(predict_, argnums=2)(weight, bias, x)
    out["hess_api"] = hessian(predict_, argnums=2)(weight, bias, x)
    out["hess_fwdfwd"] = jacfwd(jacfwd(predict_, argnums=2), argnums=2)(weight, bias, x)
    out["hess_revrev"] = jacrev(jacrev(predict_, argnums=2), argnums=2)(weight, bias, x)

    compute_batch_jacobian = vmap(jacrev(predict_, argnums=2), in_dims=(None, None, 0))
    out["batch_jacobian0"] = compute_batch_jacobian(bweight, bbias, bx)

    def predict_with_output_summed(weight, bias, x):
        return predict_(weight, bias, x).sum(0)

    out["batch_jacobian1"] = jacrev(predict_with_output_summed, argnums=2)(
        bweight, bbias, bx).movedim(1, 0)
    compute_batch_hessian = vmap(hessian(predict_, argnums=2), in_dims=(None, None, 0))
    out["batch_hessian"] = compute_batch_hessian(bweight, bbias, bx[:3])

    def hvp(f, primals, tangents):
        return func.jvp(func.grad(f), primals, tangents)[1]

    def f(x):
        return x.sin().sum()

    out["hvp"] = hvp(f, (sx,), (stangent,))
    out["hvp_check"] = -sx.sin() * stangent
    functional = torch.autograd.functional
    out["af_jacobian"] = functional.jacobian(partial(predict_, weight, bias), x)
    out["af_jacobian_vec"] = functional.jacobian(partial(predict_, weight, bias), x,
                                                 vectorize=True)
    out["af_hessian"] = functional.hessian(f, sx[:6])
    out["af_vhp"] = functional.vhp(f, sx, stangent)
    out["af_hvp"] = functional.hvp(f, sx, stangent)
    return {k: (tuple(t.detach().numpy().copy() for t in v) if isinstance(v, tuple)
                else v.detach().numpy().copy()) for k, v in out.items()}


def fit_levenberg_marquardt(torch, model, x, y, steps=8, damping=1e-2):
    """Damped Gauss-Newton on the residuals, the Jacobian of every residual with respect to the
    flattened parameters by ``jacrev`` of a ``functional_call``."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def residuals(theta):
        chunks = torch.split(theta, sizes)
        params = {n: c.reshape(s) for n, c, s in zip(names, chunks, shapes)}
        return (torch.func.functional_call(model, params, (x,)) - y).reshape(-1)

    losses = []
    for _ in range(steps):
        r = residuals(theta)
        J = torch.func.jacrev(residuals)(theta)
        A = J.T @ J + damping * torch.eye(theta.numel(), dtype=theta.dtype)
        step = torch.linalg.solve(A, J.T @ r)
        candidate = theta - step
        if (residuals(candidate) ** 2).sum() < (r ** 2).sum():
            theta, damping = candidate, damping / 3
        else:
            damping = damping * 4
        losses.append(0.5 * (r ** 2).sum().item())
    return losses, theta.numpy().copy()


def custom_functions(torch):
    Function = torch.autograd.Function

    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            # Because we are saving one of the inputs use `save_for_backward`
            # Save non-tensors and non-inputs/non-outputs directly on ctx
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, grad_out):
            # A function support double backward automatically if autograd
            # is able to record the computations performed in backward
            x, = ctx.saved_tensors
            return grad_out * 2 * x

    class Exp(Function):
        # Simple case where everything goes well
        @staticmethod
        def forward(ctx, x):
            # This time we save the output
            result = torch.exp(x)
            # Note that we should use `save_for_backward` here when
            # the tensor saved is an output (or an input).
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_out):
            result, = ctx.saved_tensors
            return result * grad_out

    class Sinh(Function):
        @staticmethod
        def forward(ctx, x):
            expx = torch.exp(x)
            expnegx = torch.exp(-x)
            ctx.save_for_backward(expx, expnegx)
            # In order to be able to save the intermediate results, we need to
            # include them as our outputs!
            return (expx - expnegx) / 2, expx, expnegx

        @staticmethod
        def backward(ctx, grad_out, _grad_out_exp, _grad_out_negexp):
            expx, expnegx = ctx.saved_tensors
            grad_input = grad_out * (expx + expnegx) / 2
            # We cannot skip accumulating these even though we won't use the outputs
            # directly. They will be used later in the second backward.
            grad_input += _grad_out_exp * expx
            grad_input -= _grad_out_negexp * expnegx
            return grad_input

    def cube_forward(x):
        return x ** 3

    def cube_backward(grad_out, x):
        return grad_out * 3 * x ** 2

    def cube_backward_backward(grad_out, sav_grad_out, x):
        return grad_out * sav_grad_out * 6 * x

    def cube_backward_backward_grad_out(grad_out, x):
        return grad_out * 3 * x ** 2

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return cube_forward(x)

        @staticmethod
        def backward(ctx, grad_out):
            x, = ctx.saved_tensors
            return CubeBackward.apply(grad_out, x)

    class CubeBackward(Function):
        @staticmethod
        def forward(ctx, grad_out, x):
            ctx.save_for_backward(x, grad_out)
            return cube_backward(grad_out, x)

        @staticmethod
        def backward(ctx, grad_out):
            x, sav_grad_out = ctx.saved_tensors
            dx = cube_backward_backward(grad_out, sav_grad_out, x)
            dgrad_out = cube_backward_backward_grad_out(grad_out, x)
            return dgrad_out, dx

    def sinh(x):
        # Create a wrapper that only returns the first output
        return Sinh.apply(x)[0]

    return Square, Exp, sinh, Cube


def double_backward_tutorial(torch, x):
    Square, Exp, sinh, Cube = custom_functions(torch)
    x = x.clone().requires_grad_()
    checks = []
    for fn in (Square.apply, Exp.apply, sinh, Cube.apply):
        checks.append(torch.autograd.gradcheck(fn, x)
                      and torch.autograd.gradgradcheck(fn, x))
    grads = []
    for fn in (Square.apply, Exp.apply, sinh, Cube.apply):
        (g,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), x)
        grads.append((g.detach().numpy().copy(), gg.numpy().copy()))
    return checks, grads


def sobolev_net(torch, hidden=12):
    nn = torch.nn
    _, _, sinh, _ = custom_functions(torch)

    class SinhNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(1, hidden)
            self.fc2 = nn.Linear(hidden, 1)

        def forward(self, x):
            return self.fc2(sinh(self.fc1(x)) * 0.5)

    return SinhNet()


def train_sobolev(torch, model, x, y, dy, steps=20):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        xg = x.clone().requires_grad_(True)
        pred = model(xg)
        (dpred,) = torch.autograd.grad(pred.sum(), xg, create_graph=True)
        loss = torch.nn.functional.mse_loss(pred, y) + torch.nn.functional.mse_loss(dpred, dy)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


class _SelfDeletingTempFile:
    def __init__(self, tmp_dir):
        self.name = os.path.join(tmp_dir, str(uuid.uuid4()))

    def __del__(self):
        if os.path.exists(self.name):
            os.remove(self.name)


def saved_hooks_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3))


def train_saving_to_disk(torch, model, x, y, tmp_dir, steps=6):
    """The tutorial's disk hooks, entered by a forward pre-hook and exited by a forward hook on
    the first layer only; a counting pair and ``save_on_cpu`` around the loss."""
    graph = torch.autograd.graph
    packed = []

    def pack_hook(tensor):
        temp_file = _SelfDeletingTempFile(tmp_dir)
        torch.save(tensor, temp_file.name)
        return temp_file

    def unpack_hook(temp_file):
        return torch.load(temp_file.name, weights_only=True)

    def count_pack(tensor):
        packed.append(tuple(tensor.shape))
        return tensor

    def pre_hook(module, args):
        module._disk_hooks = graph.saved_tensors_hooks(pack_hook, unpack_hook)
        module._disk_hooks.__enter__()

    def post_hook(module, args, output):
        module._disk_hooks.__exit__(None, None, None)

    model[0].register_forward_pre_hook(pre_hook)
    model[0].register_forward_hook(post_hook)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        if step % 2 == 0:
            with graph.saved_tensors_hooks(count_pack, lambda t: t):
                loss = torch.nn.functional.cross_entropy(model(x), y)
        else:
            with graph.save_on_cpu(pin_memory=False):
                loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, \
        len(packed) > 0
