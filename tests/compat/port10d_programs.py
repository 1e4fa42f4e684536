"""Two more public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port10_programs.py): TRPO as ikostrikov/pytorch-trpo writes it (``Variable``, the value
net fitted by SciPy's ``fmin_l_bfgs_b`` through flat parameters and ``param.data.copy_``,
advantages by a reversed loop writing rows of ``torch.Tensor(n, 1)``, Fisher-vector products by
double backward through ``autograd.grad(create_graph=True)``, conjugate gradients with in-place
``x += alpha * p``, a backtracking line search), and the tutorial that fuses the optimizer step
into the backward pass (one optimizer per parameter stepped from
``register_post_accumulate_grad_hook``).
"""

from __future__ import annotations

import math

import numpy as np


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# --- TRPO ----------------------------------------------------------------------------------

def trpo_nets(torch, num_inputs=3, num_outputs=2, hidden=8):
    nn = torch.nn

    class Policy(nn.Module):
        def __init__(self, num_inputs, num_outputs):
            super().__init__()
            self.affine1 = nn.Linear(num_inputs, hidden)
            self.affine2 = nn.Linear(hidden, hidden)
            self.action_mean = nn.Linear(hidden, num_outputs)
            self.action_mean.weight.data.mul_(0.1)
            self.action_mean.bias.data.mul_(0.0)
            self.action_log_std = nn.Parameter(torch.zeros(1, num_outputs))
            self.saved_actions = []
            self.rewards = []
            self.final_value = 0

        def forward(self, x):
            x = torch.tanh(self.affine1(x))
            x = torch.tanh(self.affine2(x))
            action_mean = self.action_mean(x)
            action_log_std = self.action_log_std.expand_as(action_mean)
            action_std = torch.exp(action_log_std)
            return action_mean, action_log_std, action_std

    class Value(nn.Module):
        def __init__(self, num_inputs):
            super().__init__()
            self.affine1 = nn.Linear(num_inputs, hidden)
            self.affine2 = nn.Linear(hidden, hidden)
            self.value_head = nn.Linear(hidden, 1)
            self.value_head.weight.data.mul_(0.1)
            self.value_head.bias.data.mul_(0.0)

        def forward(self, x):
            x = torch.tanh(self.affine1(x))
            x = torch.tanh(self.affine2(x))
            state_values = self.value_head(x)
            return state_values

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.policy_net = Policy(num_inputs, num_outputs)
            self.value_net = Value(num_inputs)

    return Both()


def normal_log_density(torch, x, mean, log_std, std):
    var = std.pow(2)
    log_density = -(x - mean).pow(2) / (
        2 * var) - 0.5 * math.log(2 * math.pi) - log_std
    return log_density.sum(1, keepdim=True)


def get_flat_params_from(torch, model):
    params = []
    for param in model.parameters():
        params.append(param.data.view(-1))
    flat_params = torch.cat(params)
    return flat_params


def set_flat_params_to(model, flat_params):
    prev_ind = 0
    for param in model.parameters():
        flat_size = int(np.prod(list(param.size())))
        param.data.copy_(
            flat_params[prev_ind:prev_ind + flat_size].view(param.size()))
        prev_ind += flat_size


def get_flat_grad_from(torch, net, grad_grad=False):
    grads = []
    for param in net.parameters():
        if grad_grad:
            grads.append(param.grad.grad.view(-1))
        else:
            grads.append(param.grad.view(-1))
    flat_grad = torch.cat(grads)
    return flat_grad


def conjugate_gradients(torch, Avp, b, nsteps, residual_tol=1e-10):  # noqa: N803
    x = torch.zeros(b.size(), dtype=b.dtype)
    r = b.clone()
    p = b.clone()
    rdotr = torch.dot(r, r)
    for i in range(nsteps):  # noqa: B007
        _Avp = Avp(p)  # noqa: N806
        alpha = rdotr / torch.dot(p, _Avp)
        x += alpha * p
        r -= alpha * _Avp
        new_rdotr = torch.dot(r, r)
        betta = new_rdotr / rdotr
        p = r + betta * p
        rdotr = new_rdotr
        if rdotr < residual_tol:
            break
    return x


def linesearch(torch, model, f, x, fullstep, expected_improve_rate, max_backtracks=10,
               accept_ratio=.1):
    fval = f(True).data
    for (_n_backtracks, stepfrac) in enumerate(.5 ** np.arange(max_backtracks)):
        xnew = x + stepfrac * fullstep
        set_flat_params_to(model, xnew)
        newfval = f(True).data
        actual_improve = fval - newfval
        expected_improve = expected_improve_rate * stepfrac
        ratio = actual_improve / expected_improve
        if ratio.item() > accept_ratio and actual_improve.item() > 0:
            return True, xnew
    return False, x


def trpo_step(torch, model, get_loss, get_kl, max_kl, damping):
    Variable = torch.autograd.Variable  # noqa: N806
    loss = get_loss()
    grads = torch.autograd.grad(loss, model.parameters())
    loss_grad = torch.cat([grad.view(-1) for grad in grads]).data

    def Fvp(v):  # noqa: N802
        kl = get_kl()
        kl = kl.mean()
        grads = torch.autograd.grad(kl, model.parameters(), create_graph=True)
        flat_grad_kl = torch.cat([grad.view(-1) for grad in grads])
        kl_v = (flat_grad_kl * Variable(v)).sum()
        grads = torch.autograd.grad(kl_v, model.parameters())
        flat_grad_grad_kl = torch.cat([grad.contiguous().view(-1) for grad in grads]).data
        return flat_grad_grad_kl + v * damping

    stepdir = conjugate_gradients(torch, Fvp, -loss_grad, 10)
    shs = 0.5 * (stepdir * Fvp(stepdir)).sum(0, keepdim=True)
    lm = torch.sqrt(shs / max_kl)
    fullstep = stepdir / lm[0]
    neggdotstepdir = (-loss_grad * stepdir).sum(0, keepdim=True)
    prev_params = get_flat_params_from(torch, model)
    success, new_params = linesearch(torch, model, get_loss, prev_params, fullstep,
                                     neggdotstepdir / lm[0])
    set_flat_params_to(model, new_params)
    return loss, lm[0].item(), success


def update_params(torch, policy_net, value_net, batch, gamma=0.995, tau=0.97, l2_reg=1e-3,
                  max_kl=1e-2, damping=1e-1):
    import scipy.optimize

    Variable = torch.autograd.Variable  # noqa: N806
    dtype = torch.get_default_dtype()
    rewards = torch.Tensor(batch["reward"])
    masks = torch.Tensor(batch["mask"])
    actions = torch.Tensor(np.concatenate(batch["action"], 0))
    states = torch.Tensor(batch["state"])
    values = value_net(Variable(states))

    returns = torch.Tensor(actions.size(0), 1)
    deltas = torch.Tensor(actions.size(0), 1)
    advantages = torch.Tensor(actions.size(0), 1)

    prev_return = 0
    prev_value = 0
    prev_advantage = 0
    for i in reversed(range(rewards.size(0))):
        returns[i] = rewards[i] + gamma * prev_return * masks[i]
        deltas[i] = rewards[i] + gamma * prev_value * masks[i] - values.data[i]
        advantages[i] = deltas[i] + gamma * tau * prev_advantage * masks[i]
        prev_return = returns[i, 0]
        prev_value = values.data[i, 0]
        prev_advantage = advantages[i, 0]

    targets = Variable(returns)

    def get_value_loss(flat_params):
        set_flat_params_to(value_net, torch.tensor(flat_params, dtype=dtype))
        for param in value_net.parameters():
            if param.grad is not None:
                param.grad.data.fill_(0)
        values_ = value_net(Variable(states))
        value_loss = (values_ - targets).pow(2).mean()
        for param in value_net.parameters():
            value_loss += param.pow(2).sum() * l2_reg
        value_loss.backward()
        return (value_loss.data.double().numpy(),
                get_flat_grad_from(torch, value_net).data.double().numpy())

    flat_params, value_loss, opt_info = scipy.optimize.fmin_l_bfgs_b(
        get_value_loss, get_flat_params_from(torch, value_net).double().numpy(), maxiter=5)
    set_flat_params_to(value_net, torch.tensor(flat_params, dtype=dtype))

    advantages = (advantages - advantages.mean()) / advantages.std()

    action_means, action_log_stds, action_stds = policy_net(Variable(states))
    fixed_log_prob = normal_log_density(torch, Variable(actions), action_means, action_log_stds,
                                        action_stds).data.clone()

    def get_loss(volatile=False):
        if volatile:
            with torch.no_grad():
                action_means, action_log_stds, action_stds = policy_net(Variable(states))
        else:
            action_means, action_log_stds, action_stds = policy_net(Variable(states))
        log_prob = normal_log_density(torch, Variable(actions), action_means, action_log_stds,
                                      action_stds)
        action_loss = -Variable(advantages) * torch.exp(log_prob - Variable(fixed_log_prob))
        return action_loss.mean()

    def get_kl():
        mean1, log_std1, std1 = policy_net(Variable(states))
        mean0 = Variable(mean1.data)
        log_std0 = Variable(log_std1.data)
        std0 = Variable(std1.data)
        kl = log_std1 - log_std0 + (std0.pow(2) + (mean0 - mean1).pow(2)) / (
            2.0 * std1.pow(2)) - 0.5
        return kl.sum(1, keepdim=True)

    loss, lm, success = trpo_step(torch, policy_net, get_loss, get_kl, max_kl, damping)
    return (float(value_loss), loss.item(), lm, success, returns.numpy(), advantages.numpy())


def run_trpo(torch, nets, batches):
    out = [update_params(torch, nets.policy_net, nets.value_net, b) for b in batches]
    return out, _state(nets)


# --- the optimizer step fused into the backward pass -----------------------------------------

def fused_mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 3))


def train_fused_step(torch, model, x, y, steps=4):
    optimizer_dict = {p: torch.optim.Adam([p], lr=0.05, foreach=False)
                      for p in model.parameters()}

    def optimizer_hook(parameter) -> None:
        optimizer_dict[parameter].step()
        optimizer_dict[parameter].zero_grad()

    handles = []
    for p in model.parameters():
        handles.append(p.register_post_accumulate_grad_hook(optimizer_hook))
    losses, grads_seen = [], []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        losses.append(loss.item())
        grads_seen.append(all(p.grad is None for p in model.parameters()))
    for h in handles:
        h.remove()
    return losses, grads_seen, _state(model)
