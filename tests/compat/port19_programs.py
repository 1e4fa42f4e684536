"""Wave-19 ports, part one, run with ``torch`` = PyTorch or chainrule (test_port19_programs.py).

The DQN tutorial's optimisation step (a ``deque`` replay memory of ``Transition`` namedtuples,
``Transition(*zip(*transitions))``, a ``non_final_mask`` made by ``tuple(map(...))``,
``gather(1, action_batch)``, ``AdamW(amsgrad=True)``, ``clip_grad_value_`` and the soft update
written into ``target_net.state_dict()`` entries); torch-lr-finder's range test (an
``LRScheduler`` subclass overriding ``get_lr`` from ``self.last_epoch`` and ``self.base_lrs``,
smoothed losses, a divergence stop and the state restored from ``copy.deepcopy`` d state dicts);
model surgery (activations swapped through ``named_modules`` + ``rpartition`` +
``get_submodule`` + ``setattr``, ``set_submodule``, ``fuse_conv_bn_eval``, freezing by name
prefix); and an LSTM forecaster fed windows cut by ``Tensor.unfold`` with an autoregressive
rollout.
"""

from __future__ import annotations

import copy
from collections import deque, namedtuple


def _np(t):
    return t.detach().numpy().copy()


# ---- the DQN tutorial's optimize_model ----
Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, picks):  # random.sample(self.memory, batch_size) with the picks given
        return [self.memory[i] for i in picks]

    def __len__(self):
        return len(self.memory)


def dqn_net(torch, n_obs=4, n_actions=2, hidden=8):
    nn = torch.nn

    class DQN(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = nn.Linear(n_obs, hidden)
            self.layer2 = nn.Linear(hidden, hidden)
            self.layer3 = nn.Linear(hidden, n_actions)

        def forward(self, x):
            x = torch.nn.functional.relu(self.layer1(x))
            return self.layer3(torch.nn.functional.relu(self.layer2(x)))

    return DQN()


def train_dqn(
    torch, policy_net, target_net, states, actions, rewards, dones, picks, gamma=0.9, tau=0.05
):
    target_net.load_state_dict(policy_net.state_dict())
    memory = ReplayMemory(capacity=6)  # older transitions fall out of the deque
    for i in range(len(actions)):
        state = states[i].unsqueeze(0)
        next_state = None if dones[i] else states[i + 1].unsqueeze(0)
        memory.push(state, torch.tensor([[actions[i]]]), next_state, torch.tensor([rewards[i]]))
    optimizer = torch.optim.AdamW(policy_net.parameters(), lr=0.01, amsgrad=True)
    losses = []
    for batch_picks in picks:
        transitions = memory.sample(batch_picks)
        batch = Transition(*zip(*transitions))
        non_final_mask = torch.tensor(
            tuple(map(lambda s: s is not None, batch.next_state)), dtype=torch.bool
        )
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(len(batch_picks), dtype=state_batch.dtype)
        with torch.no_grad():
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
        expected = (next_state_values * gamma) + reward_batch
        criterion = torch.nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 0.5)
        optimizer.step()
        target_net_state_dict = target_net.state_dict()
        policy_net_state_dict = policy_net.state_dict()
        for key in policy_net_state_dict:
            target_net_state_dict[key] = policy_net_state_dict[key] * tau + target_net_state_dict[
                key
            ] * (1 - tau)
        target_net.load_state_dict(target_net_state_dict)
        losses.append(loss.item())
    return {
        "losses": losses,
        "len": len(memory),
        "target": {k: _np(v) for k, v in target_net.state_dict().items()},
        "amsgrad": [_np(s["max_exp_avg_sq"]) for s in optimizer.state.values()],
    }


# ---- torch-lr-finder's range test ----
def lr_finder(
    torch, model, x, y, start_lr=1e-4, end_lr=10.0, num_iter=12, smooth_f=0.3, diverge_th=4.0
):
    class ExponentialLR(torch.optim.lr_scheduler.LRScheduler):
        def __init__(self, optimizer, end_lr, num_iter, last_epoch=-1):
            self.end_lr = end_lr
            self.num_iter = num_iter
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            r = self.last_epoch / (self.num_iter - 1)
            return [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]

    optimizer = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    model_state = copy.deepcopy(model.state_dict())
    optim_state = copy.deepcopy(optimizer.state_dict())
    for group in optimizer.param_groups:  # set_optimizer_lr
        group["lr"] = start_lr
    lr_schedule = ExponentialLR(optimizer, end_lr, num_iter)
    history = {"lr": [], "loss": []}
    best_loss = None
    criterion = torch.nn.MSELoss()
    for iteration in range(num_iter):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        history["lr"].append(lr_schedule.get_last_lr()[0])
        lr_schedule.step()
        loss = loss.item()
        if iteration == 0:
            best_loss = loss
        else:
            loss = smooth_f * loss + (1 - smooth_f) * history["loss"][-1]
            best_loss = min(best_loss, loss)
        history["loss"].append(loss)
        if loss > diverge_th * best_loss:
            break
    trained = {k: _np(v) for k, v in model.state_dict().items()}
    model.load_state_dict(model_state)  # reset(): the model and optimizer as they were
    optimizer.load_state_dict(optim_state)
    suggestion = min(range(len(history["loss"])), key=lambda i: history["loss"][i])
    return {
        "history": history,
        "stopped_at": len(history["loss"]),
        "trained": trained,
        "restored": {k: _np(v) for k, v in model.state_dict().items()},
        "lr_after_reset": optimizer.param_groups[0]["lr"],
        "initial_lr": optimizer.param_groups[0].get("initial_lr"),
        "momentum_buffers": len(optimizer.state),
        "suggested": history["lr"][suggestion],
    }


# ---- model surgery ----
def conv_net(torch, c=3, classes=4):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(c, 6, 3, padding=1, bias=False),
        nn.BatchNorm2d(6),
        nn.ReLU(inplace=True),
        nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU()),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(6, classes),
    )


def surgery(torch, model, x, y, steps=3):
    nn = torch.nn
    model.eval()
    before = model(x)
    for name, module in list(model.named_modules()):  # swap every ReLU for a SiLU
        if isinstance(module, nn.ReLU):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, nn.SiLU())
    swapped = model(x)
    fused = copy.deepcopy(model)  # conv + BN folded for inference
    fused[0] = torch.nn.utils.fuse_conv_bn_eval(fused[0], fused[1])
    fused[1] = nn.Identity()
    fused.set_submodule("3.0", torch.nn.utils.fuse_conv_bn_eval(fused[3][0], fused[3][1]))
    fused.set_submodule("3.1", nn.Identity())
    for name, p in model.named_parameters():  # fine-tune the head and the last block only
        p.requires_grad_(not name.startswith(("0.", "1.")))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.SGD(
        (p for p in model.parameters() if p.requires_grad), lr=0.1, momentum=0.9, nesterov=True
    )
    model.train()
    for m in model.modules():  # frozen BatchNorms keep their statistics
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {
        "before": _np(before),
        "swapped": _np(swapped),
        "fused": _np(fused(x)),
        "fused_keys": list(fused.state_dict()),
        "trainable": trainable,
        "losses": losses,
        "kinds": [type(m).__name__ for m in model.modules()],
        "state": {k: _np(v) for k, v in model.state_dict().items()},
    }


# ---- an LSTM forecaster on unfolded windows ----
def forecaster(torch, hidden=6, num_layers=2, horizon=1):
    nn = torch.nn

    class LSTMForecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden_size, self.num_layers = hidden, num_layers
            self.lstm = nn.LSTM(1, hidden, num_layers, batch_first=True, dropout=0.0)
            self.fc = nn.Linear(hidden, horizon)

        def forward(self, x):
            h0 = torch.zeros(
                self.num_layers, x.size(0), self.hidden_size, dtype=x.dtype
            ).requires_grad_()
            c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size, dtype=x.dtype)
            out, (hn, cn) = self.lstm(x, (h0.detach(), c0.detach()))
            return self.fc(out[:, -1, :])

    return LSTMForecaster()


def train_forecaster(torch, model, series, window=5, epochs=4, future=4):
    lo, hi = series.min(), series.max()
    scaled = (series - lo) / (hi - lo) * 2 - 1  # MinMaxScaler(feature_range=(-1, 1))
    windows = scaled.unfold(0, window + 1, 1)  # (n - window, window + 1), a strided view
    inputs, targets = windows[:, :-1].unsqueeze(-1), windows[:, -1:]
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(epochs):
        for xb, yb in zip(inputs.split(4), targets.split(4)):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    model.eval()
    seq = inputs[-1:].clone()
    preds = []
    with torch.no_grad():
        for _ in range(future):  # feed each prediction back in
            pred = model(seq)
            preds.append(pred.item())
            seq = torch.cat((seq[:, 1:, :], pred.unsqueeze(-1)), dim=1)
    forecast = (torch.tensor(preds, dtype=series.dtype) + 1) / 2 * (hi - lo) + lo
    return {
        "losses": losses,
        "forecast": _np(forecast),
        "n_windows": windows.shape[0],
        "window_strides": list(windows.stride()),
    }
