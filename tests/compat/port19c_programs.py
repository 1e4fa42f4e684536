"""Wave-19 ports, part three, run with ``torch`` = PyTorch or chainrule (test_port19c_programs.py).

DDPG as the TD3 authors' reference code writes it (an actor scaled by ``max_action * tanh``, a
critic on ``torch.cat([state, action], 1)``, ``.clamp`` ed noisy actions, targets under
``no_grad`` with ``not_done``, the actor loss ``-critic(state, actor(state)).mean()`` and soft
updates by ``target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)`` over
``zip`` ped parameters); VICReg's loss (``x.var(dim=0)``, ``F.relu(1 - std)``, covariance
``(x.T @ x) / (batch_size - 1)``, the ``off_diagonal`` trick by ``flatten()[:-1].view(n - 1, n
+ 1)[:, 1:]``); a sub-pixel super-resolution net with ICNR init (a sub-kernel ``repeat`` ed over
the shuffle's channels so that ``PixelShuffle`` starts free of checkerboards); and GradNorm
(learned task weights whose gradient comes from ``autograd.grad(..., create_graph=True)`` of the
shared layer's weighted-loss gradient norms, written into ``weights.grad``, then renormalised).
"""

from __future__ import annotations


def _np(t):
    return t.detach().numpy().copy()


# ---- DDPG ----
def ddpg_nets(torch, state_dim=3, action_dim=2, max_action=2.0):
    nn = torch.nn
    F = torch.nn.functional

    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(state_dim, 8)
            self.l2 = nn.Linear(8, action_dim)
            self.max_action = max_action

        def forward(self, state):
            return self.max_action * torch.tanh(self.l2(F.relu(self.l1(state))))

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(state_dim + action_dim, 8)
            self.l2 = nn.Linear(8, 1)

        def forward(self, state, action):
            return self.l2(F.relu(self.l1(torch.cat([state, action], 1))))

    class ActorCritic(nn.Module):  # one module so that one state dict holds both
        def __init__(self):
            super().__init__()
            self.actor, self.critic = Actor(), Critic()

    return ActorCritic()


def train_ddpg(torch, nets, batches, noise, discount=0.9, tau=0.1):
    import copy

    F = torch.nn.functional
    actor, critic = nets.actor, nets.critic
    actor_target, critic_target = copy.deepcopy(actor), copy.deepcopy(critic)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-3)
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=3e-3, weight_decay=1e-2)
    history = []
    for (state, action, next_state, reward, not_done), eps in zip(batches, noise):
        explore = (actor(state[:1]) + eps).clamp(-actor.max_action, actor.max_action)
        with torch.no_grad():
            target_q = critic_target(next_state, actor_target(next_state))
            target_q = reward + (not_done * discount * target_q)
        current_q = critic(state, action)
        critic_loss = F.mse_loss(current_q, target_q)
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        actor_loss = -critic(state, actor(state)).mean()
        actor_optimizer.zero_grad()
        actor_loss.backward()
        actor_optimizer.step()
        for param, target_param in zip(critic.parameters(), critic_target.parameters()):
            target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
        for param, target_param in zip(actor.parameters(), actor_target.parameters()):
            target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
        history.append([critic_loss.item(), actor_loss.item()] + explore.flatten().tolist())
    return {
        "history": history,
        "targets": [_np(p) for p in [*actor_target.parameters(), *critic_target.parameters()]],
        "state": {k: _np(v) for k, v in nets.state_dict().items()},
    }


# ---- VICReg ----
def off_diagonal(x):
    n, m = x.shape
    assert n == m
    return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def vicreg_nets(torch, d_in=5, d_emb=6):
    nn = torch.nn
    return nn.ModuleDict(
        {
            "backbone": nn.Sequential(nn.Linear(d_in, 8), nn.ReLU()),
            "projector": nn.Sequential(
                nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, d_emb, bias=False)
            ),
        }
    )


def vicreg_loss(torch, x, y, sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0):
    F = torch.nn.functional
    batch_size, num_features = x.shape
    repr_loss = F.mse_loss(x, y)
    x = x - x.mean(dim=0)
    y = y - y.mean(dim=0)
    std_x = torch.sqrt(x.var(dim=0) + 0.0001)
    std_y = torch.sqrt(y.var(dim=0) + 0.0001)
    std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
    cov_x = (x.T @ x) / (batch_size - 1)
    cov_y = (y.T @ y) / (batch_size - 1)
    cov_loss = off_diagonal(cov_x).pow_(2).sum().div(num_features) + off_diagonal(cov_y).pow_(
        2
    ).sum().div(num_features)
    loss = sim_coeff * repr_loss + std_coeff * std_loss + cov_coeff * cov_loss
    return loss, [repr_loss.item(), std_loss.item(), cov_loss.item()]


def train_vicreg(torch, nets, view_a, view_b, steps=3):
    params = [
        {"params": nets["backbone"].parameters()},
        {"params": nets["projector"].parameters(), "lr": 0.01},
    ]
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        x = nets["projector"](nets["backbone"](view_a))
        y = nets["projector"](nets["backbone"](view_b))
        loss, parts = vicreg_loss(torch, x, y)
        loss.backward()
        opt.step()
        history.append([loss.item()] + parts)
    return {"history": history, "state": {k: _np(v) for k, v in nets.state_dict().items()}}


# ---- sub-pixel convolution with ICNR init ----
def icnr_(torch, x, scale=2, init=None):
    ni, nf, h, w = x.shape
    ni2 = int(ni / (scale**2))
    k = init(torch.zeros([ni2, nf, h, w])).transpose(0, 1)
    k = k.contiguous().view(ni2, nf, -1)
    k = k.repeat(1, 1, scale**2)
    return k.contiguous().view([nf, ni, h, w]).transpose(0, 1)


def subpixel_net(torch, c=3, hidden=4, scale=2):
    nn = torch.nn

    class SubPixel(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(c, hidden, 3, padding=1), nn.PReLU(hidden))
            self.conv = nn.Conv2d(hidden, c * scale**2, 3, padding=1, padding_mode="reflect")
            self.shuf = nn.PixelShuffle(scale)

        def forward(self, x):
            return self.shuf(self.conv(self.body(x)))

    return SubPixel()


def train_subpixel(torch, model, lr_img, hr_img, sub_kernel, steps=3):
    fill = lambda t: t.copy_(sub_kernel)  # noqa: E731 - the init function handed to icnr_
    with torch.no_grad():
        model.conv.weight.copy_(icnr_(torch, model.conv.weight, init=fill))
        model.conv.bias.zero_()
    out0 = model(lr_img)
    blocks = out0.detach().unfold(2, 2, 2).unfold(3, 2, 2)  # each 2x2 block of one pixel
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.l1_loss(model(lr_img), hr_img)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {
        "out0": _np(out0),
        "block_spread": (blocks.amax((-1, -2)) - blocks.amin((-1, -2))).abs().max().item(),
        "losses": losses,
        "state": {k: _np(v) for k, v in model.state_dict().items()},
    }


# ---- GradNorm ----
def gradnorm_net(torch, d_in=4, hidden=6, tasks=2):
    nn = torch.nn

    class MultiTask(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.Linear(d_in, hidden)
            self.heads = nn.ModuleList([nn.Linear(hidden, 1) for _ in range(tasks)])

        def forward(self, x):
            h = torch.relu(self.shared(x))
            return [head(h) for head in self.heads]

    return MultiTask()


def train_gradnorm(torch, model, x, targets, steps=4, alpha=1.5):
    F = torch.nn.functional
    T = len(targets)
    weights = torch.nn.Parameter(torch.ones(T, dtype=x.dtype))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    opt_w = torch.optim.Adam([weights], lr=0.05)
    history, l0 = [], None
    for _ in range(steps):
        losses = torch.stack([F.mse_loss(out, t) for out, t in zip(model(x), targets)])
        if l0 is None:
            l0 = losses.detach()
        weighted = weights * losses
        opt.zero_grad()
        weighted.sum().backward(retain_graph=True)
        gw = []
        for i in range(T):
            dl = torch.autograd.grad(
                weighted[i], model.shared.parameters(), retain_graph=True, create_graph=True
            )[0]
            gw.append(torch.norm(dl))
        gw = torch.stack(gw)
        loss_ratio = losses.detach() / l0
        rt = loss_ratio / loss_ratio.mean()
        gw_avg = gw.mean().detach()
        constant = (gw_avg * rt**alpha).detach()
        gradnorm_loss = torch.abs(gw - constant).sum()
        opt_w.zero_grad()
        weights.grad = torch.autograd.grad(gradnorm_loss, weights)[0]
        opt.step()
        opt_w.step()
        with torch.no_grad():
            weights.data = weights.data * T / weights.data.sum()
        history.append(losses.tolist() + gw.tolist() + weights.tolist())
    return {"history": history, "params": {n: _np(p) for n, p in model.named_parameters()}}
