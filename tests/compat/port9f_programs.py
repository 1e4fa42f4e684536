"""Two more public PyTorch programs written from memory, run with ``torch`` = PyTorch or
chainrule (test_port9_programs.py): nflows' rational-quadratic spline coupling flow (bins by
softmax and cumsum padded with ``F.pad``, corners set by slice assignment, a searchsorted that
adds eps in place to the bin edges, masked tuple assignment of the spline's outputs, linear
tails, the inverse by the quadratic root) and "learning to learn by gradient descent by
gradient descent" (a two-layer LSTMCell optimizer over coordinates, preprocessed gradients
written through boolean-masked views, ``retain_grad`` on non-leaf optimizee parameters, unrolled
meta-training with ``backward(retain_graph=True)`` and ``Variable``).
"""

from __future__ import annotations

import numpy as np

DEFAULT_MIN_BIN_WIDTH = 1e-3
DEFAULT_MIN_BIN_HEIGHT = 1e-3
DEFAULT_MIN_DERIVATIVE = 1e-3


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def searchsorted(torch, bin_locations, inputs, eps=1e-6):
    bin_locations[..., -1] += eps
    return torch.sum(inputs[..., None] >= bin_locations, dim=-1) - 1


def rational_quadratic_spline(torch, inputs, unnormalized_widths, unnormalized_heights,
                              unnormalized_derivatives, inverse=False, left=0.0, right=1.0,
                              bottom=0.0, top=1.0, min_bin_width=DEFAULT_MIN_BIN_WIDTH,
                              min_bin_height=DEFAULT_MIN_BIN_HEIGHT,
                              min_derivative=DEFAULT_MIN_DERIVATIVE):
    F = torch.nn.functional  # noqa: N806
    if torch.min(inputs) < left or torch.max(inputs) > right:
        raise ValueError("input outside the domain")
    num_bins = unnormalized_widths.shape[-1]
    widths = F.softmax(unnormalized_widths, dim=-1)
    widths = min_bin_width + (1 - min_bin_width * num_bins) * widths
    cumwidths = torch.cumsum(widths, dim=-1)
    cumwidths = F.pad(cumwidths, pad=(1, 0), mode="constant", value=0.0)
    cumwidths = (right - left) * cumwidths + left
    cumwidths[..., 0] = left
    cumwidths[..., -1] = right
    widths = cumwidths[..., 1:] - cumwidths[..., :-1]
    derivatives = min_derivative + F.softplus(unnormalized_derivatives)
    heights = F.softmax(unnormalized_heights, dim=-1)
    heights = min_bin_height + (1 - min_bin_height * num_bins) * heights
    cumheights = torch.cumsum(heights, dim=-1)
    cumheights = F.pad(cumheights, pad=(1, 0), mode="constant", value=0.0)
    cumheights = (top - bottom) * cumheights + bottom
    cumheights[..., 0] = bottom
    cumheights[..., -1] = top
    heights = cumheights[..., 1:] - cumheights[..., :-1]
    if inverse:
        bin_idx = searchsorted(torch, cumheights, inputs)[..., None]
    else:
        bin_idx = searchsorted(torch, cumwidths, inputs)[..., None]
    input_cumwidths = cumwidths.gather(-1, bin_idx)[..., 0]
    input_bin_widths = widths.gather(-1, bin_idx)[..., 0]
    input_cumheights = cumheights.gather(-1, bin_idx)[..., 0]
    delta = heights / widths
    input_delta = delta.gather(-1, bin_idx)[..., 0]
    input_derivatives = derivatives.gather(-1, bin_idx)[..., 0]
    input_derivatives_plus_one = derivatives[..., 1:].gather(-1, bin_idx)[..., 0]
    input_heights = heights.gather(-1, bin_idx)[..., 0]
    slope_sum = input_derivatives + input_derivatives_plus_one - 2 * input_delta
    if inverse:
        a = (inputs - input_cumheights) * slope_sum + input_heights * (input_delta
                                                                      - input_derivatives)
        b = input_heights * input_derivatives - (inputs - input_cumheights) * slope_sum
        c = -input_delta * (inputs - input_cumheights)
        discriminant = b.pow(2) - 4 * a * c
        assert (discriminant >= 0).all()
        root = (2 * c) / (-b - torch.sqrt(discriminant))
        outputs = root * input_bin_widths + input_cumwidths
        theta_one_minus_theta = root * (1 - root)
        denominator = input_delta + slope_sum * theta_one_minus_theta
        derivative_numerator = input_delta.pow(2) * (
            input_derivatives_plus_one * root.pow(2) + 2 * input_delta * theta_one_minus_theta
            + input_derivatives * (1 - root).pow(2))
        logabsdet = torch.log(derivative_numerator) - 2 * torch.log(denominator)
        return outputs, -logabsdet
    theta = (inputs - input_cumwidths) / input_bin_widths
    theta_one_minus_theta = theta * (1 - theta)
    numerator = input_heights * (input_delta * theta.pow(2)
                                 + input_derivatives * theta_one_minus_theta)
    denominator = input_delta + slope_sum * theta_one_minus_theta
    outputs = input_cumheights + numerator / denominator
    derivative_numerator = input_delta.pow(2) * (
        input_derivatives_plus_one * theta.pow(2) + 2 * input_delta * theta_one_minus_theta
        + input_derivatives * (1 - theta).pow(2))
    logabsdet = torch.log(derivative_numerator) - 2 * torch.log(denominator)
    return outputs, logabsdet


def unconstrained_rational_quadratic_spline(torch, inputs, unnormalized_widths,
                                            unnormalized_heights, unnormalized_derivatives,
                                            inverse=False, tail_bound=1.0,
                                            min_derivative=DEFAULT_MIN_DERIVATIVE):
    F = torch.nn.functional  # noqa: N806
    inside_interval_mask = (inputs >= -tail_bound) & (inputs <= tail_bound)
    outside_interval_mask = ~inside_interval_mask
    outputs = torch.zeros_like(inputs)
    logabsdet = torch.zeros_like(inputs)
    unnormalized_derivatives = F.pad(unnormalized_derivatives, pad=(1, 1))
    constant = np.log(np.exp(1 - min_derivative) - 1)
    unnormalized_derivatives[..., 0] = constant
    unnormalized_derivatives[..., -1] = constant
    outputs[outside_interval_mask] = inputs[outside_interval_mask]
    logabsdet[outside_interval_mask] = 0
    if torch.any(inside_interval_mask):
        (outputs[inside_interval_mask], logabsdet[inside_interval_mask]) = \
            rational_quadratic_spline(
                torch, inputs=inputs[inside_interval_mask],
                unnormalized_widths=unnormalized_widths[inside_interval_mask, :],
                unnormalized_heights=unnormalized_heights[inside_interval_mask, :],
                unnormalized_derivatives=unnormalized_derivatives[inside_interval_mask, :],
                inverse=inverse, left=-tail_bound, right=tail_bound, bottom=-tail_bound,
                top=tail_bound, min_derivative=min_derivative)
    return outputs, logabsdet


def spline_flow(torch, num_bins=4, hidden=8, tail_bound=2.0):
    nn = torch.nn

    class PiecewiseRQCoupling(nn.Module):
        def __init__(self, mask):
            super().__init__()
            self.register_buffer("mask", torch.tensor(mask))
            self.transform_net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(),
                                               nn.Linear(hidden, 3 * num_bins - 1))

        def _transform(self, inputs, inverse):
            identity = inputs[:, self.mask == 0]
            transform = inputs[:, self.mask == 1]
            params = self.transform_net(identity).view(inputs.shape[0], 1, 3 * num_bins - 1)
            widths = params[..., :num_bins] / np.sqrt(hidden)
            heights = params[..., num_bins:2 * num_bins] / np.sqrt(hidden)
            derivs = params[..., 2 * num_bins:]
            out, logabsdet = unconstrained_rational_quadratic_spline(
                torch, transform, widths, heights, derivs, inverse=inverse,
                tail_bound=tail_bound)
            outputs = torch.empty_like(inputs)
            outputs[:, self.mask == 0] = identity
            outputs[:, self.mask == 1] = out
            return outputs, logabsdet.sum(-1)

        def forward(self, inputs):
            return self._transform(inputs, False)

        def inverse(self, inputs):
            return self._transform(inputs, True)

    class Flow(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([PiecewiseRQCoupling([0, 1]), PiecewiseRQCoupling([1, 0]),
                                         PiecewiseRQCoupling([0, 1])])

        def log_prob(self, x):
            total = torch.zeros(x.shape[0], dtype=x.dtype)
            for layer in self.layers:
                x, logabsdet = layer(x)
                total = total + logabsdet
            base = torch.distributions.Normal(torch.zeros(2, dtype=x.dtype),
                                              torch.ones(2, dtype=x.dtype))
            return base.log_prob(x).sum(-1) + total

        def sample_from(self, z):
            for layer in reversed(self.layers):
                z, _ = layer.inverse(z)
            return z

    return Flow()


def train_spline_flow(torch, flow, x, z, steps=4):
    optimizer = torch.optim.Adam(flow.parameters(), lr=5e-3)
    losses = []
    for _ in range(steps):
        loss = -flow.log_prob(x).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        samples = flow.sample_from(z)
        back = samples.clone()
        for layer in flow.layers:
            back, _ = layer(back)
    return losses, samples.numpy(), back.numpy(), _state(flow)


def l2l_optimizer(torch, preproc=True, hidden_sz=6, preproc_factor=10.0):
    nn = torch.nn
    Variable = torch.autograd.Variable  # noqa: N806

    class Optimizer(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden_sz = hidden_sz
            self.recurs = nn.LSTMCell(2 if preproc else 1, hidden_sz)
            self.recurs2 = nn.LSTMCell(hidden_sz, hidden_sz)
            self.output = nn.Linear(hidden_sz, 1)
            self.preproc, self.preproc_factor = preproc, preproc_factor
            self.preproc_threshold = np.exp(-preproc_factor)

        def forward(self, inp, hidden, cell):
            if self.preproc:
                inp = inp.data
                inp2 = torch.zeros(inp.size()[0], 2, dtype=inp.dtype)
                keep_grads = (torch.abs(inp) >= self.preproc_threshold).squeeze()
                inp2[:, 0][keep_grads] = (torch.log(torch.abs(inp[keep_grads]) + 1e-8)
                                          / self.preproc_factor).squeeze()
                inp2[:, 1][keep_grads] = torch.sign(inp[keep_grads]).squeeze()
                inp2[:, 0][~keep_grads] = -1
                inp2[:, 1][~keep_grads] = (float(np.exp(self.preproc_factor))
                                           * inp[~keep_grads]).squeeze()
                inp = Variable(inp2)
            hidden0, cell0 = self.recurs(inp, (hidden[0], cell[0]))
            hidden1, cell1 = self.recurs2(hidden0, (hidden[1], cell[1]))
            return self.output(hidden1), (hidden0, hidden1), (cell0, cell1)

    return Optimizer()


def fit_l2l(torch, opt_net, W, y, theta0, unroll=3, optim_it=6, out_mul=0.1):  # noqa: N803
    """``do_fit`` of the learning-to-learn repository on one quadratic ||W theta - y||^2, with
    meta-training by Adam every ``unroll`` steps; the optimizee's losses and the meta-gradient
    norms."""
    Variable = torch.autograd.Variable  # noqa: N806

    def detach_var(v):
        var = Variable(v.data, requires_grad=True)
        var.retain_grad()
        return var

    class QuadOptimizee:
        def __init__(self, theta=None):
            self.theta = detach_var(theta0) if theta is None else theta

        def __call__(self):
            return torch.sum((W.matmul(self.theta) - y) ** 2)

        def all_named_parameters(self):
            return [("theta", self.theta)]

    meta_opt = torch.optim.Adam(opt_net.parameters(), lr=1e-2)
    optimizee = QuadOptimizee()
    n_params = theta0.numel()
    hidden_states = [Variable(torch.zeros(n_params, opt_net.hidden_sz, dtype=W.dtype))
                     for _ in range(2)]
    cell_states = [Variable(torch.zeros(n_params, opt_net.hidden_sz, dtype=W.dtype))
                   for _ in range(2)]
    all_losses_ever, meta_norms = [], []
    meta_opt.zero_grad()
    all_losses = None
    for iteration in range(1, optim_it + 1):
        loss = optimizee()
        all_losses = loss if all_losses is None else all_losses + loss
        all_losses_ever.append(float(loss.data.numpy()))
        loss.backward(retain_graph=True)
        offset = 0
        result_params = {}
        hidden_states2 = [torch.zeros(n_params, opt_net.hidden_sz, dtype=W.dtype)
                          for _ in range(2)]
        cell_states2 = [torch.zeros(n_params, opt_net.hidden_sz, dtype=W.dtype)
                        for _ in range(2)]
        for name, p in optimizee.all_named_parameters():
            cur_sz = int(np.prod(p.size()))
            gradients = detach_var(p.grad.view(cur_sz, 1))
            updates, new_hidden, new_cell = opt_net(
                gradients, [h[offset:offset + cur_sz] for h in hidden_states],
                [c[offset:offset + cur_sz] for c in cell_states])
            for i in range(len(new_hidden)):
                hidden_states2[i][offset:offset + cur_sz] = new_hidden[i]
                cell_states2[i][offset:offset + cur_sz] = new_cell[i]
            result_params[name] = p + updates.view(*p.size()) * out_mul
            result_params[name].retain_grad()
            offset += cur_sz
        if iteration % unroll == 0:
            meta_opt.zero_grad()
            all_losses.backward()
            meta_norms.append(float(sum(p.grad.norm() ** 2 for p in opt_net.parameters())))
            meta_opt.step()
            all_losses = None
            optimizee = QuadOptimizee(**{"theta": detach_var(result_params["theta"])})
            hidden_states = [detach_var(v) for v in hidden_states2]
            cell_states = [detach_var(v) for v in cell_states2]
        else:
            optimizee = QuadOptimizee(**result_params)
            hidden_states, cell_states = hidden_states2, cell_states2
    return all_losses_ever, meta_norms, _state(opt_net)
