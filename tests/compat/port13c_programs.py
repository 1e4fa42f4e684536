"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port13_programs.py): NALU (kevinzakka/NALU-pytorch: ``Parameter(torch.Tensor(out, in))``,
``register_parameter('bias', None)``, ``F.linear(x, W, self.bias)``, ``tanh(W_hat) *
sigmoid(M_hat)``, the multiplicative path by ``exp(nac(log(|x| + eps)))``) learning a product;
the Lookahead optimizer (an ``Optimizer`` subclass that never calls ``super().__init__``, sharing
the inner optimizer's ``param_groups`` and keeping slow weights in a ``defaultdict``) under a
``StepLR``; BYOL (lucidrains/byol-pytorch: the representation taken by a forward hook on a
named hidden layer, a ``copy.deepcopy`` target with ``requires_grad`` off, an EMA by
``old * beta + (1 - beta) * new`` on ``.data``, ``2 - 2 * (x * y).sum(dim=-1)``); and SwAV's
Sinkhorn-Knopp codes with prototypes renormalised by ``weight.copy_`` and their gradients
dropped for the first iterations.
"""

# ruff: noqa: A002 - forward(self, input) as the NALU and BYOL repositories write it
from __future__ import annotations

import copy
import math
from collections import defaultdict

# --- NALU (kevinzakka/NALU-pytorch) -----------------------------------------------------------


def nalu(torch, in_dim=2, hidden_dim=3, out_dim=1, num_layers=2):
    nn = torch.nn
    F = torch.nn.functional
    Parameter = torch.nn.Parameter
    init = torch.nn.init

    class NeuralAccumulatorCell(nn.Module):
        """A Neural Accumulator (NAC) cell [1]."""

        def __init__(self, in_dim, out_dim):
            super().__init__()
            self.in_dim = in_dim
            self.out_dim = out_dim

            self.W_hat = Parameter(torch.Tensor(out_dim, in_dim))
            self.M_hat = Parameter(torch.Tensor(out_dim, in_dim))

            self.W = Parameter(torch.tanh(self.W_hat) * torch.sigmoid(self.M_hat))
            self.register_parameter('bias', None)

            init.kaiming_uniform_(self.W_hat, a=math.sqrt(5))
            init.kaiming_uniform_(self.M_hat, a=math.sqrt(5))

        def forward(self, input):
            W = torch.tanh(self.W_hat) * torch.sigmoid(self.M_hat)
            return F.linear(input, W, self.bias)

        def extra_repr(self):
            return 'in_dim={}, out_dim={}'.format(  # noqa: UP032
                self.in_dim, self.out_dim
            )

    class NeuralArithmeticLogicUnitCell(nn.Module):
        """A Neural Arithmetic Logic Unit (NALU) cell [1]."""

        def __init__(self, in_dim, out_dim):
            super().__init__()
            self.in_dim = in_dim
            self.out_dim = out_dim
            self.eps = 1e-10

            self.G = Parameter(torch.Tensor(out_dim, in_dim))
            self.nac = NeuralAccumulatorCell(in_dim, out_dim)
            self.register_parameter('bias', None)

            init.kaiming_uniform_(self.G, a=math.sqrt(5))

        def forward(self, input):
            a = self.nac(input)
            g = torch.sigmoid(F.linear(input, self.G, self.bias))
            add_sub = g * a
            log_input = torch.log(torch.abs(input) + self.eps)
            m = torch.exp(self.nac(log_input))
            mul_div = (1 - g) * m
            y = add_sub + mul_div
            return y

    class NALU(nn.Module):
        def __init__(self, num_layers, in_dim, hidden_dim, out_dim):
            super().__init__()
            self.num_layers = num_layers
            self.in_dim = in_dim
            self.hidden_dim = hidden_dim
            self.out_dim = out_dim

            layers = []
            for i in range(num_layers):
                layers.append(
                    NeuralArithmeticLogicUnitCell(
                        hidden_dim if i > 0 else in_dim,
                        hidden_dim if i < num_layers - 1 else out_dim,
                    )
                )
            self.model = nn.Sequential(*layers)

        def forward(self, x):
            out = self.model(x)
            return out

    return NALU(num_layers, in_dim, hidden_dim, out_dim)


def train_nalu(torch, net, X, y, steps=15):
    F = torch.nn.functional
    optimizer = torch.optim.RMSprop(net.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        out = net(X)
        loss = F.mse_loss(out, y)
        mea = torch.mean(torch.abs(y - out))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append((loss.item(), mea.item()))
    return losses, repr(net)


# --- Lookahead (an Optimizer subclass that skips Optimizer.__init__) ------------------------------

def lookahead(torch):
    Optimizer = torch.optim.Optimizer

    class Lookahead(Optimizer):
        def __init__(self, optimizer, k=5, alpha=0.5):
            self.optimizer = optimizer
            self.defaults = optimizer.defaults
            self.k = k
            self.alpha = alpha
            self.param_groups = self.optimizer.param_groups
            self.state = defaultdict(dict)
            self.fast_state = self.optimizer.state
            for group in self.param_groups:
                group["counter"] = 0

        def update(self, group):
            for fast in group["params"]:
                param_state = self.state[fast]
                if "slow_param" not in param_state:
                    param_state["slow_param"] = torch.zeros_like(fast.data)
                    param_state["slow_param"].copy_(fast.data)
                slow = param_state["slow_param"]
                slow += (fast.data - slow) * self.alpha
                fast.data.copy_(slow)

        def update_lookahead(self):
            for group in self.param_groups:
                self.update(group)

        def step(self, closure=None):
            loss = self.optimizer.step(closure)
            for group in self.param_groups:
                if group["counter"] == 0:
                    self.update(group)
                group["counter"] += 1
                if group["counter"] >= self.k:
                    group["counter"] = 0
            return loss

        def state_dict(self):
            fast_state_dict = self.optimizer.state_dict()
            slow_state = {
                (id(k) if isinstance(k, torch.Tensor) else k): v
                for k, v in self.state.items()
            }
            fast_state = fast_state_dict["state"]
            param_groups = fast_state_dict["param_groups"]
            return {
                "fast_state": fast_state,
                "slow_state": slow_state,
                "param_groups": param_groups,
            }

        def add_param_group(self, param_group):
            param_group["counter"] = 0
            self.optimizer.add_param_group(param_group)

    return Lookahead


def train_lookahead(torch, model, X, y, steps=12):
    Lookahead = lookahead(torch)
    base_optim = torch.optim.Adam(model.parameters(), lr=0.05)
    optimizer = Lookahead(base_optim, k=3, alpha=0.5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
    criterion = torch.nn.MSELoss()
    losses, lrs = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    sd = optimizer.state_dict()
    counters = [g["counter"] for g in optimizer.param_groups]
    return (losses, lrs, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()},
            counters, sorted(sd), len(sd["slow_state"]))


# --- BYOL (lucidrains/byol-pytorch) ---------------------------------------------------------------

def byol(torch, dim=6, hidden=8, projection_size=4, projection_hidden_size=8):
    nn = torch.nn
    F = torch.nn.functional

    def default(val, def_val):
        return def_val if val is None else val

    def flatten(t):
        return t.reshape(t.shape[0], -1)

    def get_module_device(module):
        return next(module.parameters()).device

    def set_requires_grad(model, val):
        for p in model.parameters():
            p.requires_grad = val

    def loss_fn(x, y):
        x = F.normalize(x, dim=-1, p=2)
        y = F.normalize(y, dim=-1, p=2)
        return 2 - 2 * (x * y).sum(dim=-1)

    class EMA:
        def __init__(self, beta):
            super().__init__()
            self.beta = beta

        def update_average(self, old, new):
            if old is None:
                return new
            return old * self.beta + (1 - self.beta) * new

    def update_moving_average(ema_updater, ma_model, current_model):
        for current_params, ma_params in zip(current_model.parameters(), ma_model.parameters()):
            old_weight, up_weight = ma_params.data, current_params.data
            ma_params.data = ema_updater.update_average(old_weight, up_weight)

    def MLP(dim, projection_size, hidden_size=4096):
        return nn.Sequential(
            nn.Linear(dim, hidden_size),
            nn.BatchNorm1d(hidden_size),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_size, projection_size)
        )

    class NetWrapper(nn.Module):
        def __init__(self, net, projection_size, projection_hidden_size, layer=-2):
            super().__init__()
            self.net = net
            self.layer = layer

            self.projector = None
            self.projection_size = projection_size
            self.projection_hidden_size = projection_hidden_size

            self.hidden = {}
            self.hook_registered = False

        def _find_layer(self):
            if type(self.layer) == str:  # noqa: E721
                modules = dict([*self.net.named_modules()])
                return modules.get(self.layer, None)
            elif type(self.layer) == int:  # noqa: E721
                children = [*self.net.children()]
                return children[self.layer]
            return None

        def _hook(self, _, input, output):
            device = input[0].device
            self.hidden[device] = flatten(output)

        def _register_hook(self):
            layer = self._find_layer()
            assert layer is not None, f'hidden layer ({self.layer}) not found'
            layer.register_forward_hook(self._hook)
            self.hook_registered = True

        def _get_projector(self, hidden):
            _, dim = hidden.shape
            if self.projector is None:
                self.projector = MLP(dim, self.projection_size, self.projection_hidden_size)
            return self.projector.to(hidden)

        def get_representation(self, x):
            if self.layer == -1:
                return self.net(x)

            if not self.hook_registered:
                self._register_hook()

            self.hidden.clear()
            _ = self.net(x)
            hidden = self.hidden[x.device]
            self.hidden.clear()

            assert hidden is not None, f'hidden layer {self.layer} never emitted an output'
            return hidden

        def forward(self, x, return_projection=True):
            representation = self.get_representation(x)

            if not return_projection:
                return representation

            projector = self._get_projector(representation)
            projection = projector(representation)
            return projection, representation

    class BYOL(nn.Module):
        def __init__(self, net, hidden_layer=-2, projection_size=256,
                     projection_hidden_size=4096, moving_average_decay=0.99,
                     use_momentum=True):
            super().__init__()
            self.net = net
            self.online_encoder = NetWrapper(net, projection_size, projection_hidden_size,
                                             layer=hidden_layer)
            self.use_momentum = use_momentum
            self.target_encoder = None
            self.target_ema_updater = EMA(moving_average_decay)
            self.online_predictor = MLP(projection_size, projection_size,
                                        projection_hidden_size)

            # send a mock image tensor to instantiate singleton parameters
            self.online_encoder.projector = MLP(hidden, projection_size, projection_hidden_size)

        def _get_target_encoder(self):
            if self.target_encoder is None:
                target_encoder = copy.deepcopy(self.online_encoder)
                set_requires_grad(target_encoder, False)
                self.target_encoder = target_encoder
            return self.target_encoder

        def reset_moving_average(self):
            del self.target_encoder
            self.target_encoder = None

        def update_moving_average(self):
            assert self.use_momentum, 'you do not need to update the moving average'
            assert self.target_encoder is not None, 'target encoder has not been created yet'
            update_moving_average(self.target_ema_updater, self.target_encoder,
                                  self.online_encoder)

        def forward(self, image_one, image_two, return_embedding=False, return_projection=True):
            if return_embedding:
                return self.online_encoder(image_one, return_projection=return_projection)

            online_proj_one, _ = self.online_encoder(image_one)
            online_proj_two, _ = self.online_encoder(image_two)

            online_pred_one = self.online_predictor(online_proj_one)
            online_pred_two = self.online_predictor(online_proj_two)

            with torch.no_grad():
                target_encoder = self._get_target_encoder() if self.use_momentum \
                    else self.online_encoder
                target_proj_one, _ = target_encoder(image_one)
                target_proj_two, _ = target_encoder(image_two)
                target_proj_one.detach_()
                target_proj_two.detach_()

            loss_one = loss_fn(online_pred_one, target_proj_two.detach())
            loss_two = loss_fn(online_pred_two, target_proj_one.detach())

            loss = loss_one + loss_two
            return loss.mean()

    net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                        nn.Tanh(), nn.Linear(hidden, 2))
    learner = BYOL(net, hidden_layer=-2, projection_size=projection_size,
                   projection_hidden_size=projection_hidden_size, moving_average_decay=0.9)
    learner.get_module_device = get_module_device
    learner.default = default
    return learner


def train_byol(torch, learner, views, steps=4):
    opt = torch.optim.Adam(learner.parameters(), lr=3e-4)  # the README's rate
    losses = []
    for step in range(steps):
        one, two = views[step % len(views)]
        loss = learner(one, two)
        opt.zero_grad()
        loss.backward()
        opt.step()
        learner.update_moving_average()  # update moving average of target encoder
        losses.append(loss.item())
    target = {k: v.detach().numpy().copy() for k, v in learner.target_encoder.state_dict().items()
              if v.is_floating_point()}
    grads_off = all(not p.requires_grad for p in learner.target_encoder.parameters())
    with torch.no_grad():
        learner.eval()
        projection, embedding = learner(views[0][0], None, return_embedding=True)
    return losses, target, grads_off, embedding.numpy().copy(), projection.numpy().copy()


# --- SwAV (Sinkhorn-Knopp codes, normalised prototypes) -------------------------------------------

def swav(torch, dim=5, feat_dim=4, nmb_prototypes=6):
    nn = torch.nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.projection_head = nn.Sequential(nn.Linear(dim, 8), nn.BatchNorm1d(8),
                                                 nn.ReLU(inplace=True), nn.Linear(8, feat_dim))
            self.prototypes = nn.Linear(feat_dim, nmb_prototypes, bias=False)

        def forward(self, inputs):
            x = self.projection_head(inputs)
            x = nn.functional.normalize(x, dim=1, p=2)
            return x, self.prototypes(x)

    return Model()


def distributed_sinkhorn(torch, out, epsilon=0.05, sinkhorn_iterations=3, world_size=1):
    Q = torch.exp(out / epsilon).t()  # Q is K-by-B for consistency with notations from our paper
    B = Q.shape[1] * world_size  # number of samples to assign
    K = Q.shape[0]  # how many prototypes

    # make the matrix sums to 1
    sum_Q = torch.sum(Q)
    Q /= sum_Q

    for it in range(sinkhorn_iterations):  # noqa: B007 - as the repository writes it
        # normalize each row: total weight per prototype must be 1/K
        sum_of_rows = torch.sum(Q, dim=1, keepdim=True)
        Q /= sum_of_rows
        Q /= K

        # normalize each column: total weight per sample must be 1/B
        Q /= torch.sum(Q, dim=0, keepdim=True)
        Q /= B

    Q *= B  # the colomns must sum to 1 so that Q is an assignment
    return Q.t()


def train_swav(torch, model, crops, epochs=2, freeze_prototypes_niters=2, temperature=0.1):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9, weight_decay=1e-6)
    bs = crops[0][0].size(0)
    losses, it = [], 0
    for _ in range(epochs):
        for inputs in crops:
            # normalize the prototypes
            with torch.no_grad():
                w = model.prototypes.weight.data.clone()
                w = nn_normalize(torch, w)
                model.prototypes.weight.copy_(w)

            # ============ multi-res forward passes ... ============
            embedding, output = model(torch.cat(inputs))
            embedding = embedding.detach()

            # ============ swav loss ... ============
            loss = 0
            for i, crop_id in enumerate([0, 1]):  # noqa: B007
                with torch.no_grad():
                    out = output[bs * crop_id: bs * (crop_id + 1)].detach()
                    # get assignments
                    q = distributed_sinkhorn(torch, out)[-bs:]

                # cluster assignment prediction
                subloss = 0
                for v in [v for v in range(len(inputs)) if v != crop_id]:
                    x = output[bs * v: bs * (v + 1)] / temperature
                    subloss -= torch.mean(torch.sum(q * torch.nn.functional.log_softmax(x, dim=1),
                                                    dim=1))
                loss += subloss / (len(inputs) - 1)
            loss /= 2

            # ============ backward and optim step ... ============
            optimizer.zero_grad()
            loss.backward()
            # cancel gradients for the prototypes
            if it < freeze_prototypes_niters:
                for name, p in model.named_parameters():
                    if "prototypes" in name:
                        p.grad = None
            optimizer.step()
            losses.append(loss.item())
            it += 1
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()
                    if v.is_floating_point()}


def nn_normalize(torch, w):
    return torch.nn.functional.normalize(w, dim=1, p=2)
