"""Wave-19 ports, part four, run with ``torch`` = PyTorch or chainrule (test_port19d_programs.py).

An older hand-written optimizer as public repositories copied it from ``torch/optim/sgd.py``
(``from torch.optim.optimizer import Optimizer, required``, ``lr=required``, a ``__setstate__``
that calls ``super().__setstate__(state)`` and fills a newer hyperparameter, a ``closure`` run
under ``enable_grad``, decoupled weight decay), copied by ``copy.deepcopy`` and reloaded from an
older checkpoint; gpleiss/temperature_scaling (a ``Parameter`` temperature fitted by ``LBFGS``
on held-out logits, the ``_ECELoss`` module over ``torch.linspace`` bins with ``gt``/``le``
masks); and davidmrau's sparsely-gated mixture of experts (noisy top-k gating with
``torch.topk``/``scatter``, the load estimate by ``Normal.cdf``, ``cv_squared``, and the
``SparseDispatcher``: ``torch.nonzero(gates).sort(0)``, ``split`` by expert sizes,
``index_add`` of gate-weighted expert outputs in log space).
"""

from __future__ import annotations

import copy
import importlib


def _np(t):
    return t.detach().numpy().copy()


# ---- an SGD-derived optimizer with lr=required ----
def make_sgdw(torch):
    optimizer_module = importlib.import_module(torch.__name__ + ".optim.optimizer")
    Optimizer, required = optimizer_module.Optimizer, optimizer_module.required

    class SGDW(Optimizer):
        def __init__(
            self, params, lr=required, momentum=0, dampening=0, weight_decay=0, nesterov=False
        ):
            if lr is not required and lr < 0.0:
                raise ValueError(f"Invalid learning rate: {lr}")
            defaults = dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
            )
            if nesterov and (momentum <= 0 or dampening != 0):
                raise ValueError("Nesterov momentum requires a momentum and zero dampening")
            super().__init__(params, defaults)

        def __setstate__(self, state):
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("nesterov", False)

        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                weight_decay, momentum = group["weight_decay"], group["momentum"]
                dampening, nesterov = group["dampening"], group["nesterov"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    d_p = p.grad.data
                    if momentum != 0:
                        param_state = self.state[p]
                        if "momentum_buffer" not in param_state:
                            buf = param_state["momentum_buffer"] = torch.clone(d_p).detach()
                        else:
                            buf = param_state["momentum_buffer"]
                            buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
                        d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
                    if weight_decay != 0:  # decoupled: decays the weights, not the gradient
                        p.data.add_(p.data, alpha=-weight_decay * group["lr"])
                    p.data.add_(d_p, alpha=-group["lr"])
            return loss

    return SGDW, required


def train_sgdw(torch, model, x, y, steps=4):
    SGDW, required = make_sgdw(torch)
    refused = []
    for bad in (
        [{"params": model[0].parameters()}],  # a group without the required lr
        [{"params": model.parameters(), "lr": -1.0}],
    ):
        try:
            SGDW(bad)
        except ValueError as e:
            refused.append(type(e).__name__)
    opt = SGDW(
        [
            {"params": model[0].parameters(), "lr": 0.05},
            {"params": model[2].parameters(), "lr": 0.1, "nesterov": True},
        ],
        momentum=0.9,
        weight_decay=1e-2,
    )
    losses = []

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(opt.step(closure).item())
    twin = copy.deepcopy(opt)  # runs SGDW.__setstate__, which calls the base class's
    old = opt.state_dict()  # a checkpoint from before nesterov existed
    for group in old["param_groups"]:
        del group["nesterov"]
    opt.load_state_dict(old)  # the base class calls SGDW.__setstate__: nesterov filled in
    losses.append(opt.step(closure).item())
    return {
        "losses": losses,
        "refused": refused,
        "required": repr(required),
        "twin_groups": [{k: v for k, v in g.items() if k != "params"} for g in twin.param_groups],
        "groups": [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups],
        "buffers": [_np(s["momentum_buffer"]) for s in twin.state.values()],
        "params": [_np(p) for p in model.parameters()],
    }


# ---- temperature scaling ----
def ece_loss(torch, n_bins=5):
    nn = torch.nn
    F = torch.nn.functional

    class _ECELoss(nn.Module):
        def __init__(self):
            super().__init__()
            bin_boundaries = torch.linspace(0, 1, n_bins + 1)
            self.bin_lowers = bin_boundaries[:-1]
            self.bin_uppers = bin_boundaries[1:]

        def forward(self, logits, labels):
            softmaxes = F.softmax(logits, dim=1)
            confidences, predictions = torch.max(softmaxes, 1)
            accuracies = predictions.eq(labels)
            ece = torch.zeros(1, device=logits.device)
            for bin_lower, bin_upper in zip(self.bin_lowers, self.bin_uppers):
                in_bin = confidences.gt(bin_lower.item()) * confidences.le(bin_upper.item())
                prop_in_bin = in_bin.float().mean()
                if prop_in_bin.item() > 0:
                    accuracy_in_bin = accuracies[in_bin].float().mean()
                    avg_confidence_in_bin = confidences[in_bin].mean()
                    ece += torch.abs(avg_confidence_in_bin - accuracy_in_bin) * prop_in_bin
            return ece

    return _ECELoss()


def temperature_scaling(torch, model, x_valid, y_valid):
    nn = torch.nn

    class ModelWithTemperature(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model
            self.temperature = nn.Parameter(torch.ones(1) * 1.5)

        def forward(self, input):  # noqa: A002 - the original names
            return self.temperature_scale(self.model(input))

        def temperature_scale(self, logits):
            temperature = self.temperature.unsqueeze(1).expand(logits.size(0), logits.size(1))
            return logits / temperature

        def set_temperature(self, valid_x, valid_y):
            nll_criterion = nn.CrossEntropyLoss()
            ece_criterion = ece_loss(torch)
            with torch.no_grad():
                logits, labels = self.model(valid_x), valid_y
            before = (nll_criterion(logits, labels).item(), ece_criterion(logits, labels).item())
            optimizer = torch.optim.LBFGS([self.temperature], lr=0.01, max_iter=50)

            def eval():  # noqa: A001 - the original name
                optimizer.zero_grad()
                loss = nll_criterion(self.temperature_scale(logits), labels)
                loss.backward()
                return loss

            optimizer.step(eval)
            after = (
                nll_criterion(self.temperature_scale(logits), labels).item(),
                ece_criterion(self.temperature_scale(logits), labels).item(),
            )
            return before, after

    scaled = ModelWithTemperature(model).double()
    before, after = scaled.set_temperature(x_valid, y_valid)
    return {
        "before": list(before),
        "after": list(after),
        "temperature": scaled.temperature.item(),
        "probs": _np(scaled(x_valid).softmax(1)),
    }


# ---- sparsely-gated mixture of experts ----
class SparseDispatcher:
    def __init__(self, torch, num_experts, gates):
        self.torch, self._gates, self._num_experts = torch, gates, num_experts
        sorted_experts, index_sorted_experts = torch.nonzero(gates).sort(0)
        _, self._expert_index = sorted_experts.split(1, dim=1)
        self._batch_index = torch.nonzero(gates)[index_sorted_experts[:, 1], 0]
        self._part_sizes = (gates > 0).sum(0).tolist()
        gates_exp = gates[self._batch_index.flatten()]
        self._nonzero_gates = torch.gather(gates_exp, 1, self._expert_index)

    def dispatch(self, inp):
        inp_exp = inp[self._batch_index].squeeze(1)
        return self.torch.split(inp_exp, self._part_sizes, dim=0)

    def combine(self, expert_out, multiply_by_gates=True):
        torch = self.torch
        stitched = torch.cat(expert_out, 0).exp()
        if multiply_by_gates:
            stitched = stitched.mul(self._nonzero_gates)
        zeros = torch.zeros(
            self._gates.size(0), expert_out[-1].size(1), requires_grad=True, dtype=stitched.dtype
        )
        combined = zeros.index_add(0, self._batch_index, stitched)
        combined[combined == 0] = torch.finfo(torch.float64).eps  # np.finfo(float).eps
        return combined.log()


def moe(torch, d_in=4, d_out=3, num_experts=4, k=2):
    nn = torch.nn

    class MoE(nn.Module):
        def __init__(self):
            super().__init__()
            self.num_experts, self.k = num_experts, k
            self.experts = nn.ModuleList(
                [
                    nn.Sequential(nn.Linear(d_in, 5), nn.ReLU(), nn.Linear(5, d_out), nn.Softmax(1))
                    for _ in range(num_experts)
                ]
            )
            self.w_gate = nn.Parameter(torch.zeros(d_in, num_experts))
            self.w_noise = nn.Parameter(torch.zeros(d_in, num_experts))
            self.softplus, self.softmax = nn.Softplus(), nn.Softmax(1)
            self.register_buffer("mean", torch.tensor([0.0]))
            self.register_buffer("std", torch.tensor([1.0]))

        def cv_squared(self, x):
            eps = 1e-10
            if x.shape[0] == 1:
                return torch.tensor([0], dtype=x.dtype)
            x = x.to(self.w_gate.dtype)  # the original's x.float(): here float64 stays
            return x.var() / (x.mean() ** 2 + eps)

        def _prob_in_top_k(self, clean_values, noisy_values, noise_stddev, noisy_top_values):
            batch, m = clean_values.size(0), noisy_top_values.size(1)
            top_values_flat = noisy_top_values.flatten()
            threshold_positions_if_in = torch.arange(batch) * m + self.k
            threshold_if_in = torch.unsqueeze(
                torch.gather(top_values_flat, 0, threshold_positions_if_in), 1
            )
            is_in = torch.gt(noisy_values, threshold_if_in)
            threshold_if_out = torch.unsqueeze(
                torch.gather(top_values_flat, 0, threshold_positions_if_in - 1), 1
            )
            normal = torch.distributions.normal.Normal(self.mean, self.std)
            prob_if_in = normal.cdf((clean_values - threshold_if_in) / noise_stddev)
            prob_if_out = normal.cdf((clean_values - threshold_if_out) / noise_stddev)
            return torch.where(is_in, prob_if_in, prob_if_out)

        def noisy_top_k_gating(self, x, noise, noise_epsilon=1e-2):
            clean_logits = x @ self.w_gate
            raw_noise_stddev = x @ self.w_noise
            noise_stddev = self.softplus(raw_noise_stddev) + noise_epsilon
            logits = clean_logits + (noise * noise_stddev if self.training else 0)
            top_logits, top_indices = logits.topk(min(self.k + 1, self.num_experts), dim=1)
            top_k_logits, top_k_indices = top_logits[:, : self.k], top_indices[:, : self.k]
            top_k_gates = self.softmax(top_k_logits)
            zeros = torch.zeros_like(logits, requires_grad=True)
            gates = zeros.scatter(1, top_k_indices, top_k_gates)
            if self.training:
                load = self._prob_in_top_k(clean_logits, logits, noise_stddev, top_logits).sum(0)
            else:
                load = (gates > 0).sum(0)
            return gates, load

        def forward(self, x, noise, loss_coef=1e-2):
            gates, load = self.noisy_top_k_gating(x, noise)
            importance = gates.sum(0)
            loss = (self.cv_squared(importance) + self.cv_squared(load)) * loss_coef
            dispatcher = SparseDispatcher(torch, self.num_experts, gates)
            expert_inputs = dispatcher.dispatch(x)
            expert_outputs = [self.experts[i](expert_inputs[i]) for i in range(self.num_experts)]
            return dispatcher.combine(expert_outputs), loss

    return MoE()


def train_moe(torch, model, x, y, noises):
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    history = []
    for noise in noises:
        model.train()
        opt.zero_grad()
        y_hat, aux_loss = model(x, noise)
        loss = torch.nn.functional.nll_loss(y_hat, y) + aux_loss
        loss.backward()
        opt.step()
        history.append([loss.item(), aux_loss.item()])
    model.eval()
    with torch.no_grad():
        y_eval, eval_aux = model(x, noises[0])
    return {
        "history": history,
        "eval": _np(y_eval),
        "eval_aux": eval_aux.item(),
        "params": {n: _np(p) for n, p in model.named_parameters()},
    }
