"""Wave-17 ports, part one, run with ``torch`` = PyTorch or chainrule (test_port17_programs.py):
PyTorch's autograd tutorials as they write them.

- "Forward-mode Automatic Differentiation": ``fwAD.dual_level``/``make_dual``/``unpack_dual``
  on a function, on a module whose parameters are replaced by dual tensors (``delattr`` then
  ``setattr``), through ``torch.func.functional_call``, a custom Function with a ``jvp``
  staticmethod, and ``torch.func.jvp``; then forward-gradient training ("Gradients without
  backpropagation", Baydin et al.): the directional derivative along a random tangent, times
  the tangent, as the step of plain SGD.
- "Extending torch.func with autograd.Function": ``NumpySort``/``NumpyTake`` (NumPy in the
  forward, the split ``forward``/``setup_context``, ``mark_non_differentiable``, a ``vmap``
  staticmethod) and ``MyCube`` (``generate_vmap_rule = True``, two outputs), under
  ``torch.func.grad``, ``vmap`` and ``jacrev``; a trimmed-mean regression trained through the
  NumPy sort.
"""

from __future__ import annotations

import numpy as np


def forward_ad_tutorial(torch, primal, tangent, plain, x, w, b, t_w, t_b):
    fwAD, nn = torch.autograd.forward_ad, torch.nn
    functional_call = torch.func.functional_call
    out = {}

    def fn(x, y):
        return x ** 2 + y ** 2

    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        assert fwAD.unpack_dual(dual_input).tangent is tangent
        dual_input_alt = fwAD.make_dual(primal, tangent.T)
        assert fwAD.unpack_dual(dual_input_alt).tangent is not tangent
        dual_output = fn(dual_input, plain)
        out["fn"] = fwAD.unpack_dual(dual_output).tangent.numpy().copy()
    assert fwAD.unpack_dual(dual_output).tangent is None

    model = nn.Linear(5, 5).double()
    model.load_state_dict({"weight": w, "bias": b})
    params = {name: p for name, p in model.named_parameters()}
    tangents = {"weight": t_w, "bias": t_b}
    with fwAD.dual_level():
        for name, p in params.items():
            delattr(model, name)
            setattr(model, name, fwAD.make_dual(p, tangents[name]))
        result = model(x)
        out["module"] = fwAD.unpack_dual(result).tangent.detach().numpy().copy()

    model = nn.Linear(5, 5).double()
    model.load_state_dict({"weight": w, "bias": b})
    params = {name: p for name, p in model.named_parameters()}
    with fwAD.dual_level():
        dual_params = {}
        for name, p in params.items():
            dual_params[name] = fwAD.make_dual(p, tangents[name])
        result = functional_call(model, dual_params, x)
        out["functional"] = fwAD.unpack_dual(result).tangent.detach().numpy().copy()

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = torch.exp(foo)
            # Tensors stored in ctx can be used in the subsequent forward grad computation.
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, gI):
            gO = gI * ctx.result
            # If the tensor stored in ctx will not also be used in the backward pass,
            # one can manually free it using ``del``
            del ctx.result
            return gO

    fn = Fn.apply
    primal_d = primal.clone().requires_grad_()
    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal_d, tangent)
        dual_output = fn(dual_input)
        out["custom"] = fwAD.unpack_dual(dual_output).tangent.detach().numpy().copy()
    out["gradcheck"] = torch.autograd.gradcheck(
        Fn.apply, (primal_d,), check_forward_ad=True, check_backward_ad=False,
        check_undefined_grad=False, check_batched_grad=False)

    primal0, primal1 = primal, plain
    tangent0, tangent1 = tangent, tangent.T.contiguous()

    def fn(x, y):
        return x ** 2 + y ** 2

    output, jvp_out = torch.func.jvp(fn, (primal0, primal1), (tangent0, tangent1))
    out["func_jvp"] = (output.numpy().copy(), jvp_out.numpy().copy())

    def func(params, x):
        return functional_call(model, params, x)

    primals = (dict(model.named_parameters()),)
    jvp_tangents = ({"weight": t_w, "bias": t_b},)
    output, jvp_out = torch.func.jvp(lambda p: func(p, x), primals, jvp_tangents)
    out["module_jvp"] = jvp_out.detach().numpy().copy()
    return out


def forward_gradient_mlp(torch, d_in=4, hidden=8):
    nn = torch.nn
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, 1))


def train_forward_gradient(torch, model, x, y, steps=30, lr=0.05):
    """Forward gradients: no backward pass at all, one ``jvp`` per step."""
    functional_call, jvp = torch.func.functional_call, torch.func.jvp
    names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach() for p in model.parameters())

    def loss_fn(*params):
        pred = functional_call(model, dict(zip(names, params)), (x,))
        return torch.nn.functional.mse_loss(pred, y)

    losses = []
    for _ in range(steps):
        v_params = tuple(torch.randn_like(p) for p in params)
        loss, dir_der = jvp(loss_fn, params, v_params)
        params = tuple(p - lr * dir_der * v for p, v in zip(params, v_params))
        losses.append(loss.item())
    return losses, [p.numpy().copy() for p in params]


def _to_numpy(tensor):
    return tensor.cpu().numpy()


def numpy_sort_functions(torch):
    class NumpySort(torch.autograd.Function):
        # Note that forward does not take ctx
        @staticmethod
        def forward(x, dim):
            device = x.device
            x = _to_numpy(x)
            ind = np.argsort(x, axis=dim, kind="stable")
            ind_inv = np.argsort(ind, axis=dim, kind="stable")
            result = np.take_along_axis(x, ind, axis=dim)
            # Any intermediates to be saved in backward must be returned as outputs.
            return (
                # The desired output
                torch.tensor(result, device=device),
                # intermediate to save for backward
                torch.tensor(ind, device=device),
                # intermediate to save for backward
                torch.tensor(ind_inv, device=device),
            )

        # setup_context is responsible for calling methods and/or assigning to
        # the ctx object. Please do not do additional compute (e.g. add
        # Tensors together) in setup_context.
        @staticmethod
        def setup_context(ctx, inputs, output):
            x, dim = inputs
            # Note that output is whatever you returned from forward.
            # If you returned multiple values, then output is a Tuple of multiple values.
            # If you returned a single Tensor, then output is a Tensor.
            # If you returned a Tuple with a single Tensor, then output is a
            # Tuple with a single Tensor.
            _, ind, ind_inv = output
            ctx.mark_non_differentiable(ind, ind_inv)
            # Tensors must be saved via ctx.save_for_backward. Please do not
            # assign them directly onto the ctx object.
            ctx.save_for_backward(ind, ind_inv)
            # Non-tensors may be saved by assigning them as attributes on the ctx object.
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output, _0, _1):
            # For the autograd.Function to be arbitrarily composable with function
            # transforms, all staticmethod other than forward and setup_context
            # must be implemented in a "transformable" way; that is, they must
            # only consist of PyTorch operations or autograd.Function.
            #
            # For example, this allows us to do double backwards and/or compute
            # second order gradients.
            #
            # We've written the backward pass of NumpySort in terms of another
            # autograd.Function, NumpyTake.
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None

        @staticmethod
        def vmap(info, in_dims, x, dim):
            x_bdim, _ = in_dims
            # wrap dim to be between 0 and x.dim() - 1, the logical (unbatched) rank
            logical_dim = x.dim() - 1
            dim = dim if dim >= 0 else dim + logical_dim
            x = x.movedim(x_bdim, 0)
            # the batch dimension is now dimension 0 of x
            result = NumpySort.apply(x, dim + 1)
            # the outputs are batched at dimension 0
            return result, (0, 0, 0)

    class NumpyTake(torch.autograd.Function):
        @staticmethod
        def forward(x, ind, ind_inv, dim):
            device = x.device
            x = _to_numpy(x)
            ind = _to_numpy(ind)
            return torch.tensor(np.take_along_axis(x, ind, dim), device=device)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, ind, ind_inv, dim = inputs
            ctx.save_for_backward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output):
            ind, ind_inv = ctx.saved_tensors
            result = NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim)
            return result, None, None, None

        @staticmethod
        def vmap(info, in_dims, x, ind, ind_inv, dim):
            x_bdim, ind_bdim, ind_inv_bdim, _ = in_dims
            logical_dim = x.dim() if x_bdim is None else x.dim() - 1
            dim = dim if dim >= 0 else dim + logical_dim

            def maybe_expand_bdim_at_front(x, x_bdim):
                if x_bdim is None:
                    return x.expand(info.batch_size, *x.shape)
                return x.movedim(x_bdim, 0)

            x = maybe_expand_bdim_at_front(x, x_bdim)
            ind = maybe_expand_bdim_at_front(ind, ind_bdim)
            ind_inv = maybe_expand_bdim_at_front(ind_inv, ind_inv_bdim)
            return NumpyTake.apply(x, ind, ind_inv, dim + 1), 0

    class MyCube(torch.autograd.Function):
        # Set generate_vmap_rule to True to ask PyTorch to automatically generate
        # a vmap rule.
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            result = x ** 3
            dx = 3 * x ** 2
            return result, dx

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            result, dx = output
            ctx.save_for_backward(x, dx)

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            # In order for the autograd.Function to work with higher-order
            # gradients, we must add the gradient contribution of `dx`.
            result = grad_output * dx + grad_dx * 6 * x
            return result

    return NumpySort, NumpyTake, MyCube


def extending_func_tutorial(torch, x, batch, cube_x):
    NumpySort, _, MyCube = numpy_sort_functions(torch)
    func = torch.func

    def numpy_sort(x, dim=-1):
        result, _, _ = NumpySort.apply(x, dim)
        return result

    def my_cube(x):
        result, _ = MyCube.apply(x)
        return result

    out = {"sorted": numpy_sort(x).numpy().copy()}
    out["grad"] = func.grad(lambda x: (numpy_sort(x) * torch.arange(x.shape[-1],
                                                                    dtype=x.dtype)).sum())(x)
    out["vmap"] = func.vmap(numpy_sort)(batch)
    out["vmap_dim0"] = func.vmap(lambda t: numpy_sort(t, 0), in_dims=1)(batch)
    out["jacrev"] = func.jacrev(numpy_sort)(x[0])
    out["cube_vmap"] = func.vmap(my_cube)(cube_x)
    out["cube_grad_grad"] = func.vmap(func.grad(func.grad(my_cube)))(cube_x)
    out["cube_jacrev"] = func.jacrev(func.vmap(my_cube))(cube_x)
    x2 = x.clone().requires_grad_()
    y = numpy_sort(x2)
    (g,) = torch.autograd.grad((y[:, 1:] ** 2).sum(), x2, create_graph=True)
    (gg,) = torch.autograd.grad((g * y).sum(), x2)
    out["double_backward"] = (g.detach(), gg)
    return {k: (tuple(t.detach().numpy().copy() for t in v) if isinstance(v, tuple)
                else v if isinstance(v, np.ndarray) else v.detach().numpy().copy())
            for k, v in out.items()}


def train_trimmed_regression(torch, model, x, y, steps=25, keep=0.75):
    """Least squares on the smallest ``keep`` share of squared residuals, the cut found by the
    tutorial's NumPy sort (robust to the outliers in ``y``)."""
    NumpySort, _, _ = numpy_sort_functions(torch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    k = int(keep * len(x))
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        residuals = (model(x).squeeze(-1) - y) ** 2
        ordered, _, _ = NumpySort.apply(residuals, 0)
        loss = ordered[:k].mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
