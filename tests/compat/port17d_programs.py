"""Wave-17 ports, part four, run with ``torch`` = PyTorch or chainrule
(test_port17d_programs.py).

- lucidrains/lion-pytorch: the ``Lion`` optimizer as written (an ``Optimizer`` subclass with
  ``@torch.no_grad()`` on ``step``, ``filter(lambda p: exists(p.grad), ...)``, the update
  ``exp_avg.clone().mul_(beta1).add(grad, alpha=1. - beta1).sign_()``, stepweight decay by
  ``p.data.mul_``, decoupled weight decay), beside PyTorch's own ``optim.Adafactor``, each
  under a ``LambdaLR`` warmup on a small MLP.
- PyTorch's pruning tutorial on its ``LeNet``: ``random_unstructured``, ``l1_unstructured`` of
  the bias by count, ``ln_structured`` iterated on top (the ``PruningContainer``'s history read
  from ``_forward_pre_hooks``), ``prune.remove``, pruning every Conv2d/Linear of a model by
  ``named_modules``, ``global_unstructured`` and the sparsity printout, and the custom
  ``FooBarPruningMethod(prune.BasePruningMethod)``; then the pruned model fine-tuned.
- The recipes "Warmstarting model using parameters from a different model" (a partial
  ``load_state_dict(..., strict=False)`` and its missing/unexpected keys, renamed keys) and
  "Tips for loading an nn.Module from a checkpoint" (``torch.load(mmap=True,
  weights_only=True)``, a model built under ``torch.device('meta')`` and loaded with
  ``assign=True``), then fine-tuned with per-group learning rates.
"""

from __future__ import annotations

import importlib
import os


def lion_class(torch):
    Optimizer = torch.optim.Optimizer

    def exists(val):
        return val is not None

    def update_fn(p, grad, exp_avg, lr, wd, beta1, beta2):
        # stepweight decay
        p.data.mul_(1. - lr * wd)
        # weight update
        update = exp_avg.clone().mul_(beta1).add(grad, alpha=1. - beta1).sign_()
        p.add_(update, alpha=-lr)
        # decay the momentum running average coefficient
        exp_avg.mul_(beta2).add_(grad, alpha=1. - beta2)

    class Lion(Optimizer):
        def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0,
                     use_triton=False, decoupled_weight_decay=False):
            assert lr > 0.
            assert all([0. <= beta <= 1. for beta in betas])
            self._init_lr = lr
            self.decoupled_wd = decoupled_weight_decay
            defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay)
            super().__init__(params, defaults)
            self.update_fn = update_fn

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if exists(closure):
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in filter(lambda p: exists(p.grad), group['params']):
                    grad, lr, wd, beta1, beta2, state, decoupled_wd, init_lr = \
                        p.grad, group['lr'], group['weight_decay'], *group['betas'], \
                        self.state[p], self.decoupled_wd, self._init_lr
                    # maybe decoupled weight decay
                    if decoupled_wd:
                        wd /= init_lr
                    # init state - exponential moving average of gradient values
                    if len(state) == 0:
                        state['exp_avg'] = torch.zeros_like(p)
                    exp_avg = state['exp_avg']
                    self.update_fn(p, grad, exp_avg, lr, wd, beta1, beta2)
            return loss

    return Lion


def optimizer_mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(5, 16), nn.GELU(), nn.Linear(16, 16), nn.GELU(),
                         nn.Linear(16, 3))


def train_with(torch, model, x, y, which, steps=15):
    if which == "lion":
        optimizer = lion_class(torch)(model.parameters(), lr=1e-2, weight_decay=1e-3,
                                      decoupled_weight_decay=True)
    else:
        optimizer = torch.optim.Adafactor(model.parameters(), lr=0.02, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 5))
    losses = []

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    for _ in range(steps):
        loss = optimizer.step(closure)
        scheduler.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def lenet(torch):
    nn, F = torch.nn, torch.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            # 1 input image channel, 6 output channels, 5x5 square conv kernel
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5x5 image dimension
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return LeNet()


def pruning_tutorial(torch, model, new_model, x, y, random_amount=0.3, steps=4):
    prune = importlib.import_module(f"{torch.__name__}.nn.utils.prune")
    out = {}
    module = model.conv1
    out["params_before"] = [name for name, _ in module.named_parameters()]
    prune.random_unstructured(module, name="weight", amount=random_amount)
    out["params_after"] = [name for name, _ in module.named_parameters()]
    out["buffers_after"] = [name for name, _ in module.named_buffers()]
    prune.l1_unstructured(module, name="bias", amount=3)
    out["bias_mask"] = module.bias_mask.numpy().copy()
    out["hooks"] = len(module._forward_pre_hooks)
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    for hook in module._forward_pre_hooks.values():
        if hook._tensor_name == "weight":  # select out the correct hook
            break
    out["history"] = [type(h).__name__ for h in hook]
    out["weight_mask"] = module.weight_mask.numpy().copy()
    prune.remove(module, 'weight')
    out["params_removed"] = [name for name, _ in module.named_parameters()]

    for name, module in new_model.named_modules():  # noqa: B007 - as written
        # prune 20% of connections in all 2D-conv layers
        if isinstance(module, torch.nn.Conv2d):
            prune.l1_unstructured(module, name='weight', amount=0.2)
        # prune 40% of connections in all linear layers
        elif isinstance(module, torch.nn.Linear):
            prune.l1_unstructured(module, name='weight', amount=0.4)
    out["new_buffers"] = list(dict(new_model.named_buffers()).keys())

    parameters_to_prune = (
        (model.conv1, 'weight'),
        (model.conv2, 'weight'),
        (model.fc1, 'weight'),
        (model.fc2, 'weight'),
        (model.fc3, 'weight'),
    )
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=0.2)
    out["sparsity"] = [
        "Sparsity in {}.weight: {:.2f}%".format(
            name, 100. * float(torch.sum(getattr(model, name).weight == 0))
            / float(getattr(model, name).weight.nelement()))
        for name in ("conv1", "conv2", "fc1", "fc2", "fc3")]

    class FooBarPruningMethod(prune.BasePruningMethod):
        """Prune every other entry in a tensor
        """
        PRUNING_TYPE = 'unstructured'

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    def foobar_unstructured(module, name):
        FooBarPruningMethod.apply(module, name)
        return module

    foobar_unstructured(model.fc3, name='bias')
    out["foobar_mask"] = model.fc3.bias_mask.numpy().copy()

    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["losses"] = losses
    out["state"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return out


def recipe_nets(torch):
    nn, F = torch.nn, torch.nn.functional

    class NetA(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 3)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 8, 3)
            self.fc1 = nn.Linear(8, 12)
            self.fc2 = nn.Linear(12, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = F.relu(self.conv2(x))
            x = x.view(-1, 8)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    class NetB(NetA):
        """NetA's backbone with a new head: ``fc2`` is gone, ``head`` is new."""

        def __init__(self, n_classes=4):
            super().__init__()
            del self.fc2
            self.head = nn.Linear(12, n_classes)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = F.relu(self.conv2(x))
            x = x.view(-1, 8)
            return self.head(F.relu(self.fc1(x)))

    return NetA, NetB


def warmstart_recipe(torch, netB, net_a_state, x, y, tmp_dir, steps=5):
    NetA, _ = recipe_nets(torch)
    netA = NetA()
    netA.load_state_dict(net_a_state)
    PATH = os.path.join(tmp_dir, "model.pt")
    torch.save(netA.state_dict(), PATH)

    head = {k: v.clone() for k, v in netB.head.state_dict().items()}
    result = netB.load_state_dict(torch.load(PATH, weights_only=True), strict=False)
    out = {"missing": sorted(result.missing_keys), "unexpected": sorted(result.unexpected_keys)}

    # a renamed layer: load the parameters of ``fc1`` into ``head``-shaped keys by hand
    state = torch.load(PATH, weights_only=True)
    renamed = {k.replace("conv1", "conv_first"): v for k, v in state.items()}
    out["renamed_missing"] = sorted(
        netB.load_state_dict(renamed, strict=False).missing_keys)

    # "Tips for loading an nn.Module from a checkpoint": mmap, meta device, assign
    state_dict = torch.load(PATH, mmap=True, weights_only=True)
    with torch.device('meta'):
        meta_m = NetA()
    out["meta_before"] = meta_m.conv1.weight.is_meta
    meta_m.load_state_dict(state_dict, assign=True)
    out["meta_after"] = meta_m.conv1.weight.is_meta
    out["meta_logits"] = meta_m(x).detach().numpy().copy()

    optimizer = torch.optim.SGD([
        {"params": [p for n, p in netB.named_parameters() if not n.startswith("head")],
         "lr": 0.01},
        {"params": netB.head.parameters()},
    ], lr=0.1, momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(netB(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["losses"] = losses
    out["head_kept"] = all(bool((head[k] != 0).any()) for k in head)
    out["state"] = {k: v.detach().numpy().copy() for k, v in netB.state_dict().items()}
    return out
