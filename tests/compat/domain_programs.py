"""Programs from domains the other corpora leave out, in the style of well-known public PyTorch
code, run with ``torch`` = PyTorch or chainrule (test_domain_programs.py): WaveNet (causal
dilated convolutions, gated units, mu-law), MoCo (a momentum encoder and a queue buffer), GAT
(attention over an edge list), a neural ODE with a hand-written RK4, N-BEATS, Bayes by
backprop, Reptile, a GPT-2 with a key/value cache, JEM, DeepAR, Glow, AWD-LSTM,
TabTransformer and PixelCNN.

As in real_programs.py each function takes the library as its ``torch`` argument and writes only
what a PyTorch program writes after ``import torch``; data and noise are passed in.
"""

from __future__ import annotations

import copy

import numpy as np


def mu_law_encode(torch, audio, quantization_channels):
    """WaveNet's companding: [-1, 1] audio to integer classes."""
    mu = quantization_channels - 1
    safe_audio_abs = torch.clamp(torch.abs(audio), max=1.0)
    magnitude = torch.log1p(mu * safe_audio_abs) / np.log1p(mu)
    signal = torch.sign(audio) * magnitude
    return ((signal + 1) / 2 * mu + 0.5).to(torch.int64)


def mu_law_decode(torch, output, quantization_channels):
    mu = quantization_channels - 1
    signal = 2 * (output.float() / mu) - 1
    magnitude = (1 / mu) * ((1 + mu) ** torch.abs(signal) - 1)
    return torch.sign(signal) * magnitude


def wavenet(torch, quantization=16, residual=6, skip=8, layers=4):
    """A WaveNet in the style of the public PyTorch ports: causal dilated Conv1d (padding both
    sides, the right end chopped), gated tanh * sigmoid units, 1x1 residual and skip convs, the
    skips summed over the receptive field."""
    nn = torch.nn

    class CausalConv1d(nn.Conv1d):
        def __init__(self, in_channels, out_channels, kernel_size, dilation=1):
            self.__padding = (kernel_size - 1) * dilation
            super().__init__(in_channels, out_channels, kernel_size, padding=self.__padding,
                             dilation=dilation)

        def forward(self, x):
            result = super().forward(x)
            if self.__padding != 0:
                return result[:, :, :-self.__padding]
            return result

    class ResidualBlock(nn.Module):
        def __init__(self, dilation):
            super().__init__()
            self.filter_conv = CausalConv1d(residual, residual, 2, dilation)
            self.gate_conv = CausalConv1d(residual, residual, 2, dilation)
            self.residual_conv = nn.Conv1d(residual, residual, 1)
            self.skip_conv = nn.Conv1d(residual, skip, 1)

        def forward(self, x, skip_size):
            gated = torch.tanh(self.filter_conv(x)) * torch.sigmoid(self.gate_conv(x))
            skip_out = self.skip_conv(gated)[:, :, -skip_size:]
            return self.residual_conv(gated) + x, skip_out

    class WaveNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.quantization = quantization
            self.dilations = [2 ** i for i in range(layers)]
            self.receptive_field = sum(self.dilations) + 1
            self.causal = CausalConv1d(quantization, residual, 2)
            self.blocks = nn.ModuleList([ResidualBlock(d) for d in self.dilations])
            self.end = nn.Sequential(nn.ReLU(), nn.Conv1d(skip, skip, 1), nn.ReLU(),
                                     nn.Conv1d(skip, quantization, 1))

        def forward(self, x):
            output_size = x.size(2) - self.receptive_field + 1
            x = self.causal(x)
            skips = []
            for block in self.blocks:
                x, s = block(x, output_size)
                skips.append(s)
            return self.end(torch.stack(skips).sum(dim=0))

    return WaveNet()


def train_wavenet(torch, model, audio, steps=4, generate=5):
    """Teacher-forced cross-entropy over one-hot inputs, Adam with clipping, then greedy
    generation sample by sample from the receptive field's last window, decoded by mu-law."""
    F = torch.nn.functional
    dtype = model.causal.weight.dtype
    q = mu_law_encode(torch, audio, model.quantization)
    inputs = F.one_hot(q[:, :-1], model.quantization).permute(0, 2, 1).to(dtype)
    output_size = inputs.size(2) - model.receptive_field + 1
    targets = q[:, -output_size:]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        logits = model(inputs)
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    generated = q[:1, -model.receptive_field:].clone()
    with torch.no_grad():
        for _ in range(generate):
            window = generated[:, -model.receptive_field:]
            x = F.one_hot(window, model.quantization).transpose(1, 2).type_as(model.causal.weight)
            prob = F.softmax(model(x)[:, :, -1], dim=1)
            generated = torch.cat([generated, prob.argmax(dim=1, keepdim=True)], dim=1)
    samples = generated[:, model.receptive_field:]
    return losses, samples.tolist(), mu_law_decode(torch, samples, model.quantization).numpy()


def moco(torch, dim=4, K=8, m=0.9, T=0.2, mlp=True):
    """MoCo v2: a query encoder trained by InfoNCE against a momentum-updated key encoder and a
    queue of past keys kept as a buffer; the batch shuffled for the key encoder's BatchNorm."""
    nn = torch.nn

    class Encoder(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(4, num_classes)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn(self.conv(x))))
            return self.fc(torch.flatten(x, 1))

    class MoCo(nn.Module):
        def __init__(self, base_encoder):
            super().__init__()
            self.K, self.m, self.T = K, m, T
            self.encoder_q = base_encoder(num_classes=dim)
            self.encoder_k = base_encoder(num_classes=dim)
            if mlp:
                dim_mlp = self.encoder_q.fc.weight.shape[1]
                self.encoder_q.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(),
                                                  self.encoder_q.fc)
                self.encoder_k.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(),
                                                  self.encoder_k.fc)
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data.copy_(param_q.data)
                param_k.requires_grad = False
            self.register_buffer("queue", torch.randn(dim, K))
            self.queue = nn.functional.normalize(self.queue, dim=0)
            self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

        @torch.no_grad()
        def _momentum_update_key_encoder(self):
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data = param_k.data * self.m + param_q.data * (1.0 - self.m)

        @torch.no_grad()
        def _dequeue_and_enqueue(self, keys):
            batch_size = keys.shape[0]
            ptr = int(self.queue_ptr)
            assert self.K % batch_size == 0
            self.queue[:, ptr:ptr + batch_size] = keys.T
            ptr = (ptr + batch_size) % self.K
            self.queue_ptr[0] = ptr

        @torch.no_grad()
        def _batch_shuffle_single_gpu(self, x):
            idx_shuffle = torch.randperm(x.shape[0])
            idx_unshuffle = torch.argsort(idx_shuffle)
            return x[idx_shuffle], idx_unshuffle

        def forward(self, im_q, im_k):
            q = self.encoder_q(im_q)
            q = nn.functional.normalize(q, dim=1)
            with torch.no_grad():
                self._momentum_update_key_encoder()
                im_k, idx_unshuffle = self._batch_shuffle_single_gpu(im_k)
                k = self.encoder_k(im_k)
                k = nn.functional.normalize(k, dim=1)
                k = k[idx_unshuffle]
            l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
            l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])
            logits = torch.cat([l_pos, l_neg], dim=1)
            logits /= self.T
            labels = torch.zeros(logits.shape[0], dtype=torch.long)
            self._dequeue_and_enqueue(k)
            return logits, labels

    return MoCo(Encoder)


def train_moco(torch, model, batches):
    """The main_moco loop: SGD with momentum and weight decay over all parameters (the key
    encoder's have no gradient), CE on the logits, top-1 accuracy by topk."""
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    losses, accs, ptrs = [], [], []
    model.train()
    for im_q, im_k in batches:
        output, target = model(im_q=im_q, im_k=im_k)
        loss = criterion(output, target)
        _, pred = output.topk(1, 1, True, True)
        correct = pred.t().eq(target.view(1, -1).expand_as(pred.t()))
        accs.append(correct[:1].reshape(-1).float().sum(0).mul_(100.0 / im_q.size(0)).item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        ptrs.append(model.queue_ptr.item())
    keys = [p.detach().numpy() for p in model.encoder_k.parameters()]
    return (losses, accs, ptrs, model.queue.numpy(), keys,
            model.encoder_k.bn.running_var.numpy())


def gat(torch, nfeat=5, nhid=4, nclass=3, nheads=2, alpha=0.2, dropout=0.3):
    """pyGAT's model written over an edge list instead of a dense adjacency: e_ij from
    ``a^T [W h_i || W h_j]`` through LeakyReLU, a softmax over each node's incoming edges by
    ``scatter_reduce(amax)`` and ``index_add_``, messages summed by ``scatter_add_``, multi-head
    ``cat`` and a mean-free output head, ``F.dropout`` on inputs and attention."""
    nn = torch.nn
    F = nn.functional

    class GraphAttentionLayer(nn.Module):
        def __init__(self, in_features, out_features, concat=True):
            super().__init__()
            self.out_features, self.concat = out_features, concat
            self.W = nn.Parameter(torch.empty(size=(in_features, out_features)))
            nn.init.xavier_uniform_(self.W.data, gain=1.414)
            self.a = nn.Parameter(torch.empty(size=(2 * out_features, 1)))
            nn.init.xavier_uniform_(self.a.data, gain=1.414)
            self.leakyrelu = nn.LeakyReLU(alpha)

        def forward(self, h, edge_index):
            Wh = torch.mm(h, self.W)
            src, dst = edge_index[0], edge_index[1]
            n = Wh.size(0)
            e = self.leakyrelu(torch.matmul(Wh, self.a[:self.out_features, :])[src]
                               + torch.matmul(Wh, self.a[self.out_features:, :])[dst]).squeeze(1)
            e_max = torch.full((n,), float("-inf"), dtype=e.dtype)
            e_max = e_max.scatter_reduce(0, dst, e.detach(), reduce="amax", include_self=True)
            e_exp = torch.exp(e - e_max[dst])
            denom = torch.zeros(n, dtype=e.dtype).index_add_(0, dst, e_exp)
            attention = e_exp / denom[dst]
            attention = F.dropout(attention, dropout, training=self.training)
            messages = attention.unsqueeze(-1) * Wh[src]
            index = dst.unsqueeze(-1).expand_as(messages)
            h_prime = torch.zeros_like(Wh).scatter_add_(0, index, messages)
            return F.elu(h_prime) if self.concat else h_prime

        def __repr__(self):
            return self.__class__.__name__ + f" ({self.W.shape[0]} -> {self.out_features})"

    class GAT(nn.Module):
        def __init__(self):
            super().__init__()
            self.attentions = [GraphAttentionLayer(nfeat, nhid) for _ in range(nheads)]
            for i, attention in enumerate(self.attentions):
                self.add_module("attention_{}".format(i), attention)  # noqa: UP032 - pyGAT
            self.out_att = GraphAttentionLayer(nhid * nheads, nclass, concat=False)

        def forward(self, x, edge_index):
            x = F.dropout(x, dropout, training=self.training)
            x = torch.cat([att(x, edge_index) for att in self.attentions], dim=1)
            x = F.dropout(x, dropout, training=self.training)
            x = F.elu(self.out_att(x, edge_index))
            return F.log_softmax(x, dim=1)

    return GAT()


def train_gat(torch, model, features, edge_index, labels, idx_train, idx_val, epochs=4):
    """pyGAT's train loop: Adam with weight decay, nll_loss on the training nodes, validation in
    eval mode, the best epoch kept by a state-dict copy."""
    F = torch.nn.functional
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
    history, best, best_state = [], float("inf"), None
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        output = model(features, edge_index)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        model.eval()
        output = model(features, edge_index)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        preds = output[idx_val].max(1)[1].type_as(labels)
        acc_val = preds.eq(labels[idx_val]).double().sum() / len(idx_val)
        history.append((loss_train.data.item(), loss_val.data.item(), acc_val.item()))
        if loss_val.item() < best:
            best, best_state = loss_val.item(), copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return history, repr(model.attention_0), model(features, edge_index).detach().numpy()


def ode_func(torch, hidden=16):
    """torchdiffeq's ode_demo: ``ODEFunc`` (a Sequential over ``y ** 3``, weights from
    ``normal_(std=0.1)``, biases ``constant_(0)``) counting its evaluations."""
    nn = torch.nn

    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
            for m in self.net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0, std=0.1)
                    nn.init.constant_(m.bias, val=0)
            self.nfe = 0

        def forward(self, t, y):
            self.nfe += 1
            return self.net(y ** 3)

    return ODEFunc()


def odeint_rk4(torch, func, y0, t):
    """A fixed-grid RK4 in torchdiffeq's '3/8 rule' form, differentiated by plain backprop."""
    solution = [y0]
    y = y0
    for t0, t1 in zip(t[:-1], t[1:]):
        dt = t1 - t0
        k1 = func(t0, y)
        k2 = func(t0 + dt / 3, y + dt * k1 / 3)
        k3 = func(t0 + dt * 2 / 3, y + dt * (k2 - k1 / 3))
        k4 = func(t1, y + dt * (k1 - k2 + k3))
        y = y + (k1 + 3 * (k2 + k3) + k4) * dt * 0.125
        solution.append(y)
    return torch.stack(solution)


def train_ode(torch, func, starts, data_size=20, batch_time=5, niters=4):
    """ode_demo's loop: the true trajectory of a cubic spiral under ``no_grad``, ``get_batch``
    by ``np.random.choice`` indices (passed in), ``torch.stack`` of shifted slices, RMSprop on the
    mean absolute error, a ``RunningAverageMeter``; then a forecast from ``true_y0``."""
    dtype = func.net[0].weight.dtype
    true_y0 = torch.tensor([[2., 0.]], dtype=dtype)
    t = torch.linspace(0., 2., data_size, dtype=dtype)
    true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=dtype)

    class Lambda(torch.nn.Module):
        def forward(self, t, y):
            return torch.mm(y ** 3, true_A)

    with torch.no_grad():
        true_y = odeint_rk4(torch, Lambda(), true_y0, t)

    class RunningAverageMeter:
        def __init__(self, momentum=0.99):
            self.momentum, self.val, self.avg = momentum, None, 0

        def update(self, val):
            self.avg = val if self.val is None else self.avg * self.momentum + val * (
                1 - self.momentum)
            self.val = val

    def get_batch(s):
        s = torch.from_numpy(s)
        batch_y0 = true_y[s]
        batch_t = t[:batch_time]
        batch_y = torch.stack([true_y[s + i] for i in range(batch_time)], dim=0)
        return batch_y0, batch_t, batch_y

    optimizer = torch.optim.RMSprop(func.parameters(), lr=1e-2)
    loss_meter = RunningAverageMeter(0.97)
    losses = []
    for itr in range(1, niters + 1):
        optimizer.zero_grad()
        batch_y0, batch_t, batch_y = get_batch(starts[itr - 1])
        pred_y = odeint_rk4(torch, func, batch_y0, batch_t)
        loss = torch.mean(torch.abs(pred_y - batch_y))
        loss.backward()
        optimizer.step()
        loss_meter.update(loss.item())
        losses.append(loss.item())
    with torch.no_grad():
        pred_y = odeint_rk4(torch, func, true_y0, t)
        test_loss = torch.mean(torch.abs(pred_y - true_y))
    return losses, loss_meter.avg, test_loss.item(), func.nfe, pred_y.numpy()


def nbeats(torch, backcast_length=8, forecast_length=4, units=8, thetas_dims=(3, 4, 6)):
    """N-BEATS as nbeats-pytorch builds it: trend, seasonality and generic stacks of blocks with
    four-layer FC trunks, polynomial and Fourier bases from ``np.linspace`` through
    ``torch.tensor(...).float()``, the backcast subtracted and forecasts summed."""
    nn = torch.nn
    F = nn.functional

    def linear_space(backcast_length, forecast_length, is_forecast=True):
        horizon = forecast_length if is_forecast else backcast_length
        return np.arange(0, horizon) / horizon

    def seasonality_model(thetas, t):
        p = thetas.size()[-1]
        assert p <= thetas.shape[1], "thetas_dim is too big."
        p1, p2 = (p // 2, p // 2) if p % 2 == 0 else (p // 2, p // 2 + 1)
        s1 = torch.tensor(np.array([np.cos(2 * np.pi * i * t) for i in range(p1)])).float()
        s2 = torch.tensor(np.array([np.sin(2 * np.pi * i * t) for i in range(p2)])).float()
        S = torch.cat([s1, s2])
        return thetas.mm(S)

    def trend_model(thetas, t):
        p = thetas.size()[-1]
        assert p <= 4, "thetas_dim is too big."
        T = torch.tensor(np.array([t ** i for i in range(p)])).float()
        return thetas.mm(T)

    class Block(nn.Module):
        def __init__(self, thetas_dim, share_thetas=False):
            super().__init__()
            self.fc1 = nn.Linear(backcast_length, units)
            self.fc2 = nn.Linear(units, units)
            self.fc3 = nn.Linear(units, units)
            self.fc4 = nn.Linear(units, units)
            self.share_thetas = share_thetas
            if share_thetas:
                self.theta_f_fc = self.theta_b_fc = nn.Linear(units, thetas_dim, bias=False)
            else:
                self.theta_b_fc = nn.Linear(units, thetas_dim, bias=False)
                self.theta_f_fc = nn.Linear(units, thetas_dim, bias=False)
            self.backcast_linspace = linear_space(backcast_length, forecast_length, False)
            self.forecast_linspace = linear_space(backcast_length, forecast_length, True)

        def forward(self, x):
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = F.relu(self.fc3(x))
            return F.relu(self.fc4(x))

    class SeasonalityBlock(Block):
        def __init__(self, thetas_dim):
            super().__init__(thetas_dim, share_thetas=True)

        def forward(self, x):
            x = super().forward(x)
            backcast = seasonality_model(self.theta_b_fc(x), self.backcast_linspace)
            forecast = seasonality_model(self.theta_f_fc(x), self.forecast_linspace)
            return backcast, forecast

    class TrendBlock(Block):
        def __init__(self, thetas_dim):
            super().__init__(thetas_dim, share_thetas=True)

        def forward(self, x):
            x = super().forward(x)
            backcast = trend_model(self.theta_b_fc(x), self.backcast_linspace)
            forecast = trend_model(self.theta_f_fc(x), self.forecast_linspace)
            return backcast, forecast

    class GenericBlock(Block):
        def __init__(self, thetas_dim):
            super().__init__(thetas_dim)
            self.backcast_fc = nn.Linear(thetas_dim, backcast_length)
            self.forecast_fc = nn.Linear(thetas_dim, forecast_length)

        def forward(self, x):
            x = super().forward(x)
            theta_b = self.theta_b_fc(x)
            theta_f = self.theta_f_fc(x)
            return self.backcast_fc(theta_b), self.forecast_fc(theta_f)

    class NBeatsNet(nn.Module):
        TREND_BLOCK, SEASONALITY_BLOCK, GENERIC_BLOCK = "trend", "seasonality", "generic"

        def __init__(self, stack_types=("trend", "seasonality", "generic"), nb_blocks_per_stack=2):
            super().__init__()
            self.stacks = []
            self.parameters_ = []
            for stack_id, stack_type in enumerate(stack_types):
                blocks = []
                for block_id in range(nb_blocks_per_stack):
                    block_init = {"trend": TrendBlock, "seasonality": SeasonalityBlock,
                                  "generic": GenericBlock}[stack_type]
                    if block_id != 0 and stack_type != "generic":
                        block = blocks[-1]  # pytorch implementation shares weights in a stack
                    else:
                        block = block_init(thetas_dims[stack_id])
                        self.parameters_.extend(block.parameters())
                    blocks.append(block)
                self.stacks.append(blocks)
            self.parameters_ = nn.ParameterList(self.parameters_)

        def forward(self, backcast):
            forecast = torch.zeros(size=(backcast.size()[0], forecast_length,))
            for stack in self.stacks:
                for block in stack:
                    b, f = block(backcast)
                    backcast = backcast - b
                    forecast = forecast + f
            return backcast, forecast

    return NBeatsNet()


def train_nbeats(torch, net, x, y, epochs=3, batch_size=4):
    """Adam on the forecast MSE over shuffled-free mini-batches, the backcast residual kept."""
    F = torch.nn.functional
    optimiser = torch.optim.Adam(lr=1e-3, params=net.parameters())
    losses = []
    for _ in range(epochs):
        for i in range(0, len(x), batch_size):
            optimiser.zero_grad()
            net.train()
            _, forecast = net(torch.tensor(x[i:i + batch_size], dtype=torch.float))
            loss = F.mse_loss(forecast, torch.tensor(y[i:i + batch_size], dtype=torch.float))
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        backcast, forecast = net(torch.tensor(x, dtype=torch.float))
    names = sorted(n for n, _ in net.named_parameters())
    return losses, backcast.numpy(), forecast.numpy(), names


def bayes_by_backprop(torch, n_in=4, hidden=6, classes=3, pi=0.5, sigma1=1.0, sigma2=0.1):
    """Bayes by backprop as the well-known notebooks write it: ``Gaussian`` variational posteriors
    with ``sigma = log1p(exp(rho))`` and ``Normal(0, 1).sample(rho.size())`` noise, a
    scale-mixture prior, ``BayesianLinear`` keeping ``log_prior`` and
    ``log_variational_posterior`` as attributes, and the closed-form KL by ``kl_divergence``."""
    import math

    nn = torch.nn
    F = nn.functional
    D = torch.distributions

    class Gaussian:
        def __init__(self, mu, rho):
            self.mu, self.rho = mu, rho
            self.normal = D.Normal(0, 1)

        @property
        def sigma(self):
            return torch.log1p(torch.exp(self.rho))

        def sample(self):
            epsilon = self.normal.sample(self.rho.size())
            return self.mu + self.sigma * epsilon

        def log_prob(self, input):  # noqa: A002 - the notebook's name
            return (-math.log(math.sqrt(2 * math.pi)) - torch.log(self.sigma)
                    - ((input - self.mu) ** 2) / (2 * self.sigma ** 2)).sum()

    class ScaleMixtureGaussian:
        def __init__(self):
            self.gaussian1 = D.Normal(0, sigma1)
            self.gaussian2 = D.Normal(0, sigma2)

        def log_prob(self, input):  # noqa: A002 - the notebook's name
            prob1 = torch.exp(self.gaussian1.log_prob(input))
            prob2 = torch.exp(self.gaussian2.log_prob(input))
            return (torch.log(pi * prob1 + (1 - pi) * prob2)).sum()

    class BayesianLinear(nn.Module):
        def __init__(self, in_features, out_features):
            super().__init__()
            shape = (out_features, in_features)
            self.weight_mu = nn.Parameter(torch.Tensor(*shape).uniform_(-0.2, 0.2))
            self.weight_rho = nn.Parameter(torch.Tensor(*shape).uniform_(-5, -4))
            self.weight = Gaussian(self.weight_mu, self.weight_rho)
            self.bias_mu = nn.Parameter(torch.Tensor(out_features).uniform_(-0.2, 0.2))
            self.bias_rho = nn.Parameter(torch.Tensor(out_features).uniform_(-5, -4))
            self.bias = Gaussian(self.bias_mu, self.bias_rho)
            self.weight_prior = ScaleMixtureGaussian()
            self.bias_prior = ScaleMixtureGaussian()
            self.log_prior = 0
            self.log_variational_posterior = 0

        def forward(self, input, sample=False, calculate_log_probs=False):  # noqa: A002
            if self.training or sample:
                weight = self.weight.sample()
                bias = self.bias.sample()
            else:
                weight = self.weight.mu
                bias = self.bias.mu
            if self.training or calculate_log_probs:
                self.log_prior = self.weight_prior.log_prob(weight) + self.bias_prior.log_prob(bias)
                self.log_variational_posterior = (self.weight.log_prob(weight)
                                                  + self.bias.log_prob(bias))
            else:
                self.log_prior, self.log_variational_posterior = 0, 0
            return F.linear(input, weight, bias)

        def kl(self, prior_sigma=sigma1):
            prior = D.Normal(torch.zeros_like(self.weight_mu), prior_sigma)
            kl_w = D.kl_divergence(D.Normal(self.weight_mu, self.weight.sigma), prior).sum()
            prior_b = D.Normal(torch.zeros_like(self.bias_mu), prior_sigma)
            return kl_w + D.kl.kl_divergence(D.Normal(self.bias_mu, self.bias.sigma), prior_b).sum()

    class BayesianNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = BayesianLinear(n_in, hidden)
            self.l2 = BayesianLinear(hidden, classes)

        def forward(self, x, sample=False):
            x = x.view(-1, n_in)
            x = F.relu(self.l1(x, sample))
            return F.log_softmax(self.l2(x, sample), dim=1)

        def log_prior(self):
            return self.l1.log_prior + self.l2.log_prior

        def log_variational_posterior(self):
            return self.l1.log_variational_posterior + self.l2.log_variational_posterior

        def sample_elbo(self, input, target, samples=2, num_batches=2):  # noqa: A002
            batch_size = input.size(0)
            outputs = torch.zeros(samples, batch_size, classes, dtype=input.dtype)
            log_priors = torch.zeros(samples, dtype=input.dtype)
            log_variational_posteriors = torch.zeros(samples, dtype=input.dtype)
            for i in range(samples):
                outputs[i] = self(input, sample=True)
                log_priors[i] = self.log_prior()
                log_variational_posteriors[i] = self.log_variational_posterior()
            log_prior = log_priors.mean()
            log_variational_posterior = log_variational_posteriors.mean()
            negative_log_likelihood = F.nll_loss(outputs.mean(0), target, reduction="sum")
            loss = (log_variational_posterior - log_prior) / num_batches + negative_log_likelihood
            return loss, log_prior, log_variational_posterior, negative_log_likelihood

    return BayesianNetwork()


def train_bayes_by_backprop(torch, net, batches, test_x):
    """Adam on the sampled ELBO over two batches per epoch; the closed-form KL reported beside;
    the test ensemble by averaging sampled softmax outputs, and the posterior mean's output."""
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    history = []
    for _ in range(2):
        for data, target in batches:
            net.train()
            net.zero_grad()
            loss, log_prior, log_q, nll = net.sample_elbo(data, target, num_batches=len(batches))
            loss.backward()
            optimizer.step()
            kl = (net.l1.kl() + net.l2.kl()).item()
            history.append([loss.item(), log_prior.item(), log_q.item(), nll.item(), kl])
    net.eval()
    with torch.no_grad():
        outputs = torch.stack([net(test_x, sample=True).exp() for _ in range(3)])
        ensemble = outputs.mean(0)
        mean_output = net(test_x)
    return history, ensemble.numpy(), mean_output.numpy(), ensemble.argmax(1).tolist()


def reptile_net(torch):
    """The Reptile sine-wave script's regressor."""
    nn = torch.nn
    return nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 1))


def train_reptile(torch, model, tasks, x_all, perms, innerstepsize=0.02, innerepochs=1,
                  outerstepsize0=0.1, ntrain=10):
    """The Reptile sine-wave script: ``torch.autograd.Variable(torch.Tensor(x))`` inputs, plain SGD
    by ``param.data -= innerstepsize * param.grad.data``, the outer step interpolating state dicts
    from ``deepcopy(model.state_dict())`` with a linearly decaying step; then a second form by
    ``copy.deepcopy(model)`` fine-tuned with ``torch.optim.SGD`` and the meta-update
    ``p.add_(q - p, alpha=eps)`` under ``no_grad``; and the test-time fine-tune and restore."""
    ag = torch.autograd  # the script's ``import torch.autograd as ag``

    def totorch(x):
        return ag.Variable(torch.Tensor(x))

    def train_on_batch(x, y):
        x = totorch(x)
        y = totorch(y)
        model.zero_grad()
        ypred = model(x)
        loss = (ypred - y).pow(2).mean()
        loss.backward()
        for param in model.parameters():
            param.data -= innerstepsize * param.grad.data
        return loss.item()

    def predict(x):
        x = totorch(x)
        return model(x).data.numpy()

    niterations = len(tasks)
    losses = []
    for iteration, (amplitude, phase) in enumerate(tasks):
        weights_before = copy.deepcopy(model.state_dict())
        y_all = amplitude * np.sin(x_all + phase)
        inds = perms[iteration]
        if iteration % 2 == 0:
            for _ in range(innerepochs):
                for start in range(0, len(x_all), ntrain):
                    mbinds = inds[start:start + ntrain]
                    losses.append(train_on_batch(x_all[mbinds], y_all[mbinds]))
            outerstepsize = outerstepsize0 * (1 - iteration / niterations)
            weights_after = model.state_dict()
            model.load_state_dict({name: weights_before[name] + (
                weights_after[name] - weights_before[name]) * outerstepsize
                for name in weights_before})
        else:
            fast = copy.deepcopy(model)
            inner = torch.optim.SGD(fast.parameters(), lr=innerstepsize)
            for start in range(0, len(x_all), ntrain):
                mbinds = inds[start:start + ntrain]
                inner.zero_grad()
                loss = torch.nn.functional.mse_loss(fast(totorch(x_all[mbinds])),
                                                    totorch(y_all[mbinds]))
                loss.backward()
                inner.step()
                losses.append(loss.item())
            with torch.no_grad():
                for p, q in zip(model.parameters(), fast.parameters()):
                    p.add_(q - p, alpha=outerstepsize0 * (1 - iteration / niterations))
    amplitude, phase = tasks[0]
    xtrain = x_all[:10]
    weights_before = copy.deepcopy(model.state_dict())
    curves = [predict(x_all)]
    for inneriter in range(8):
        train_on_batch(xtrain, amplitude * np.sin(xtrain + phase))
        if (inneriter + 1) % 4 == 0:
            curves.append(predict(x_all))
    model.load_state_dict(weights_before)
    restored = predict(x_all)
    return losses, curves, restored


def gpt2_cached(torch, vocab=11, n_embd=8, n_head=2, n_layer=2, block_size=16):
    """A GPT-2 whose attention keeps a key/value cache (``layer_past``/``present`` as in
    Hugging Face's GPT2Attention, ``torch.cat`` of past keys): ``Conv1D``-style ``c_attn``
    weights held (in, out) and applied by ``torch.addmm``, ``split(n_embd, dim=2)``, a
    ``torch.tril`` bias buffer sliced to ``[key_len - query_len : key_len, :key_len]`` for the
    hand-written path and ``F.scaled_dot_product_attention(is_causal=...)`` for the fused one."""
    import math

    nn = torch.nn
    F = nn.functional

    class Conv1D(nn.Module):
        def __init__(self, nf, nx):
            super().__init__()
            self.nf = nf
            self.weight = nn.Parameter(torch.empty(nx, nf))
            self.bias = nn.Parameter(torch.zeros(nf))
            nn.init.normal_(self.weight, std=0.02)

        def forward(self, x):
            size_out = x.size()[:-1] + (self.nf,)
            x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
            return x.view(size_out)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("bias", torch.tril(torch.ones((block_size, block_size),
                                                               dtype=torch.bool))
                                 .view(1, 1, block_size, block_size), persistent=False)
            self.c_attn = Conv1D(3 * n_embd, n_embd)
            self.c_proj = Conv1D(n_embd, n_embd)
            self.fused = False

        def _split_heads(self, x):
            new_shape = x.size()[:-1] + (n_head, n_embd // n_head)
            return x.view(new_shape).permute(0, 2, 1, 3)

        def _attn(self, query, key, value):
            attn_weights = torch.matmul(query, key.transpose(-1, -2))
            attn_weights = attn_weights / torch.full([], value.size(-1) ** 0.5,
                                                     dtype=attn_weights.dtype)
            query_length, key_length = query.size(-2), key.size(-2)
            causal_mask = self.bias[:, :, key_length - query_length: key_length, :key_length]
            mask_value = torch.finfo(attn_weights.dtype).min
            mask_value = torch.full([], mask_value, dtype=attn_weights.dtype)
            attn_weights = torch.where(causal_mask, attn_weights, mask_value)
            attn_weights = nn.functional.softmax(attn_weights, dim=-1)
            return torch.matmul(attn_weights, value)

        def forward(self, hidden_states, layer_past=None, use_cache=False):
            query, key, value = self.c_attn(hidden_states).split(n_embd, dim=2)
            query, key, value = (self._split_heads(t) for t in (query, key, value))
            if layer_past is not None:
                past_key, past_value = layer_past
                key = torch.cat((past_key, key), dim=-2)
                value = torch.cat((past_value, value), dim=-2)
            present = (key, value) if use_cache is True else None
            if self.fused:
                attn_output = F.scaled_dot_product_attention(
                    query, key, value, is_causal=layer_past is None and query.size(-2) > 1)
            else:
                attn_output = self._attn(query, key, value)
            attn_output = attn_output.permute(0, 2, 1, 3).contiguous()
            attn_output = attn_output.view(attn_output.size()[:-2] + (n_embd,))
            return self.c_proj(attn_output), present

    class NewGELU(nn.Module):
        def forward(self, x):
            return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                               * (x + 0.044715 * torch.pow(x, 3.0))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd, eps=1e-5)
            self.attn = Attention()
            self.ln_2 = nn.LayerNorm(n_embd, eps=1e-5)
            self.mlp = nn.ModuleDict(dict(c_fc=Conv1D(4 * n_embd, n_embd),
                                          c_proj=Conv1D(n_embd, 4 * n_embd), act=NewGELU()))

        def forward(self, x, layer_past=None, use_cache=False):
            a, present = self.attn(self.ln_1(x), layer_past=layer_past, use_cache=use_cache)
            x = x + a
            m = self.mlp
            x = x + m.c_proj(m.act(m.c_fc(self.ln_2(x))))
            return x, present

    class GPT2(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, n_embd)
            self.wpe = nn.Embedding(block_size, n_embd)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, input_ids, past_key_values=None, use_cache=False):
            if past_key_values is None:
                past_length = 0
                past_key_values = tuple([None] * len(self.h))
            else:
                past_length = past_key_values[0][0].size(-2)
            position_ids = torch.arange(past_length, input_ids.size(-1) + past_length,
                                        dtype=torch.long).unsqueeze(0)
            hidden_states = self.wte(input_ids) + self.wpe(position_ids)
            presents = () if use_cache else None
            for block, layer_past in zip(self.h, past_key_values):
                hidden_states, present = block(hidden_states, layer_past=layer_past,
                                               use_cache=use_cache)
                if use_cache is True:
                    presents = presents + (present,)
            return self.lm_head(self.ln_f(hidden_states)), presents

    return GPT2()


def top_k_top_p_filtering(torch, logits, top_k=0, top_p=0.0, filter_value=-float("Inf")):
    """The well-known filtering helper: top-k by ``torch.topk``, nucleus by ``torch.sort``,
    ``cumsum`` of the softmax, the mask shifted right and scattered back to the vocabulary."""
    F = torch.nn.functional
    top_k = min(top_k, logits.size(-1))
    if top_k > 0:
        indices_to_remove = logits < torch.topk(logits, top_k)[0][..., -1, None]
        logits[indices_to_remove] = filter_value
    if top_p > 0.0:
        sorted_logits, sorted_indices = torch.sort(logits, descending=True)
        cumulative_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        sorted_indices_to_remove = cumulative_probs > top_p
        sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
        sorted_indices_to_remove[..., 0] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices,
                                                             sorted_indices_to_remove)
        logits = logits.masked_fill(indices_to_remove, filter_value)
    return logits


def train_gpt2_cached(torch, model, tokens, prompt, steps=3, new_tokens=5):
    """AdamW steps on next-token CE, then sampling with the cache (fed one token at a time after
    the prompt) on both attention paths; the cached logits checked against a full recompute."""
    F = torch.nn.functional
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.1)
    losses = []
    for _ in range(steps):
        logits, _ = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    runs = []
    for fused in (False, True):
        for block in model.h:
            block.attn.fused = fused
        generated, past, step_logits, gaps = prompt.clone(), None, [], []
        with torch.no_grad():
            next_input = generated
            for _ in range(new_tokens):
                logits, past = model(next_input, past_key_values=past, use_cache=True)
                full, _ = model(generated)
                gaps.append((logits[:, -1, :] - full[:, -1, :]).abs().max().item())
                next_logits = logits[:, -1, :] / 0.8
                filtered = top_k_top_p_filtering(torch, next_logits.clone(), top_k=6, top_p=0.9)
                probs = F.softmax(filtered, dim=-1)
                next_token = torch.multinomial(probs, num_samples=1)
                step_logits.append(filtered.numpy())
                generated = torch.cat((generated, next_token), dim=1)
                next_input = next_token
        runs.append((generated.tolist(), step_logits, max(gaps), past[0][0].shape))
    return losses, runs


def jem(torch, n_in=4, hidden=8, n_classes=3):
    """JEM's ``F`` and ``CCF``: a classifier whose logsumexp is the energy of x."""
    nn = torch.nn

    class F(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                   nn.SiLU())
            self.energy_output = nn.Linear(hidden, 1)
            self.class_output = nn.Linear(hidden, n_classes)

        def forward(self, x, y=None):
            penult_z = self.f(x)
            return self.energy_output(penult_z).squeeze()

        def classify(self, x):
            return self.class_output(self.f(x)).squeeze()

    class CCF(F):
        def forward(self, x, y=None):
            logits = self.classify(x)
            if y is None:
                return logits.logsumexp(1)
            return torch.gather(logits, 1, y[:, None])

    return CCF()


def train_jem(torch, f, batches, draws, buffer, n_steps=3, step_size=1.0, sgld_noise=0.01,
              reinit_freq=0.05):
    """JEM's training: ``sample_q`` reads buffer rows at random indices, re-initialises some
    from uniform samples, runs SGLD with ``torch.autograd.grad(f(x_k).sum(), [x_k],
    retain_graph=True)[0]`` and ``x_k.data += step_size * f_prime + sgld_noise * noise`` on a
    ``torch.autograd.Variable(samples, requires_grad=True)``, writes the samples back into the
    replay buffer by index assignment, and trains on ``-(fp - fq) + CE``. The draws (JEM's
    ``torch.randint``, ``uniform_`` and ``randn_like``) are passed in."""
    replay_buffer = buffer.clone()
    optim = torch.optim.Adam(f.parameters(), lr=0.01, betas=(0.0, 0.999))

    def sample_q(inds, random_samples, choose, noises):
        buffer_samples = replay_buffer[inds]
        choose_random = (choose < reinit_freq).float()[:, None].type_as(buffer_samples)
        samples = choose_random * random_samples + (1 - choose_random) * buffer_samples
        f.eval()
        x_k = torch.autograd.Variable(samples, requires_grad=True)
        for k in range(n_steps):
            f_prime = torch.autograd.grad(f(x_k).sum(), [x_k], retain_graph=True)[0]
            x_k.data += step_size * f_prime + sgld_noise * noises[k]
        f.train()
        final_samples = x_k.detach()
        if len(replay_buffer) > 0:
            replay_buffer[inds] = final_samples.cpu()
        return final_samples

    history = []
    for (x_lab, y_lab), (inds, random_samples, choose, noises) in zip(batches, draws):
        x_q = sample_q(inds, random_samples, choose, noises)
        fp_all = f(x_lab)
        fq_all = f(x_q)
        fp = fp_all.mean()
        fq = fq_all.mean()
        l_p_x = -(fp - fq)
        logits = f.classify(x_lab)
        l_p_y_given_x = torch.nn.CrossEntropyLoss()(logits, y_lab)
        L = l_p_x + l_p_y_given_x
        acc = (logits.max(1)[1] == y_lab).float().mean()
        optim.zero_grad()
        L.backward()
        optim.step()
        history.append([L.item(), fp.item(), fq.item(), acc.item()])
    return history, replay_buffer.numpy(), f(x_lab, y_lab).detach().numpy()


def deepar(torch, num_class=3, embedding_dim=2, cov_dim=2, lstm_hidden_dim=5, lstm_layers=2):
    """DeepAR as the well-known PyTorch port writes it: a series embedding concatenated to the
    lagged target and covariates, a stacked LSTM stepped one time step at a time, forget-gate
    biases set to 1 through ``self.lstm._all_weights``, Gaussian ``mu`` and softplus ``sigma``
    heads read from ``hidden.permute(1, 2, 0)``; a negative-binomial head beside it for counts."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(num_class, embedding_dim)
            self.lstm = nn.LSTM(input_size=1 + cov_dim + embedding_dim,
                                hidden_size=lstm_hidden_dim, num_layers=lstm_layers, bias=True,
                                batch_first=False, dropout=0.0)
            for names in self.lstm._all_weights:
                for name in filter(lambda n: "bias" in n, names):
                    bias = getattr(self.lstm, name)
                    n = bias.size(0)
                    start, end = n // 4, n // 2
                    bias.data[start:end].fill_(1.)
            self.relu = nn.ReLU()
            self.distribution_mu = nn.Linear(lstm_hidden_dim * lstm_layers, 1)
            self.distribution_presigma = nn.Linear(lstm_hidden_dim * lstm_layers, 1)
            self.distribution_sigma = nn.Softplus()
            self.count_logits = nn.Linear(lstm_hidden_dim * lstm_layers, 1)

        def forward(self, x, idx, hidden, cell):
            onehot_embed = self.embedding(idx)
            lstm_input = torch.cat((x, onehot_embed), dim=2)
            output, (hidden, cell) = self.lstm(lstm_input, (hidden, cell))
            hidden_permute = hidden.permute(1, 2, 0).contiguous().view(hidden.shape[1], -1)
            pre_sigma = self.distribution_presigma(hidden_permute)
            mu = self.distribution_mu(hidden_permute)
            sigma = self.distribution_sigma(pre_sigma)
            self.last_hidden = hidden_permute
            return torch.squeeze(mu), torch.squeeze(sigma), hidden, cell

        def init_hidden(self, input_size):
            return torch.zeros(lstm_layers, input_size, lstm_hidden_dim,
                               dtype=self.distribution_mu.weight.dtype)

        def init_cell(self, input_size):
            return torch.zeros(lstm_layers, input_size, lstm_hidden_dim,
                               dtype=self.distribution_mu.weight.dtype)

        def test(self, x, v_batch, id_batch, hidden, cell, predict_start, predict_steps,
                 sample_times):
            batch_size = x.shape[1]
            samples = torch.zeros(sample_times, batch_size, predict_steps, dtype=x.dtype)
            for j in range(sample_times):
                decoder_hidden, decoder_cell = hidden, cell
                for t in range(predict_steps):
                    mu_de, sigma_de, decoder_hidden, decoder_cell = self(
                        x[predict_start + t].unsqueeze(0), id_batch, decoder_hidden,
                        decoder_cell)
                    gaussian = torch.distributions.normal.Normal(mu_de, sigma_de)
                    pred = gaussian.sample()
                    samples[j, :, t] = pred * v_batch[:, 0] + v_batch[:, 1]
                    if t < (predict_steps - 1):
                        x[predict_start + t + 1, :, 0] = pred
            sample_mu = torch.median(samples, dim=0)[0]
            sample_sigma = samples.std(dim=0)
            return samples, sample_mu, sample_sigma

    return Net()


def deepar_loss_fn(torch, mu, sigma, labels):
    """The Gaussian likelihood over the nonzero targets, as the port writes it."""
    zero_index = (labels != 0)
    distribution = torch.distributions.normal.Normal(mu[zero_index], sigma[zero_index])
    likelihood = distribution.log_prob(labels[zero_index])
    return -torch.mean(likelihood)


def train_deepar(torch, model, train_batch, idx, labels_batch, counts, v_batch, epochs=2,
                 predict_start=4, sample_times=3):
    """The port's ``train``: the loss summed over the time steps into ``torch.zeros(1)``, a zero
    input replaced by the previous ``mu`` (``train_batch[t, zero_index, 0] = mu[zero_index]``),
    ``train_batch[t].unsqueeze_(0).clone()``, Adam; a negative-binomial count likelihood by
    ``NegativeBinomial(total_count=sigma, logits=...)`` added; then ancestral sampling and
    quantiles by ``torch.quantile``."""
    D = torch.distributions
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    train_window, batch_size = train_batch.shape[0], train_batch.shape[1]
    losses = []
    for _ in range(epochs):
        batch = train_batch.clone()
        optimizer.zero_grad()
        loss = torch.zeros(1, dtype=batch.dtype)
        hidden = model.init_hidden(batch_size)
        cell = model.init_cell(batch_size)
        mu = None
        for t in range(train_window):
            zero_index = (batch[t, :, 0] == 0)
            if t > 0 and torch.sum(zero_index) > 0:
                batch[t, zero_index, 0] = mu[zero_index]
            mu, sigma, hidden, cell = model(batch[t].unsqueeze_(0).clone(), idx, hidden, cell)
            loss += deepar_loss_fn(torch, mu, sigma, labels_batch[t])
            count_logits = model.count_logits(model.last_hidden).squeeze(-1)
            nb = D.NegativeBinomial(total_count=sigma, logits=count_logits)
            loss = loss - nb.log_prob(counts[t]).mean() * 0.1
        loss.backward()
        optimizer.step()
        losses.append(loss.item() / train_window)
    model.eval()
    with torch.no_grad():
        x = train_batch.clone()
        hidden = model.init_hidden(batch_size)
        cell = model.init_cell(batch_size)
        for t in range(predict_start):
            _, _, hidden, cell = model(x[t].unsqueeze(0), idx, hidden, cell)
        samples, sample_mu, sample_sigma = model.test(
            x, v_batch, idx, hidden, cell, predict_start, train_window - predict_start,
            sample_times)
        q = torch.quantile(samples, torch.tensor([0.1, 0.5, 0.9], dtype=samples.dtype), dim=0)
    return losses, samples.numpy(), sample_mu.numpy(), sample_sigma.numpy(), q.numpy()


def glow(torch, in_channel=2, n_flow=2, n_block=2, filter_size=8):
    """Glow as glow-pytorch builds it: ``ActNorm`` with data-dependent initialisation guarded by
    a ``uint8`` ``initialized`` buffer, an invertible 1x1 convolution by ``torch.slogdet`` (the
    first flow) or in LU form (``torch.linalg.qr`` then ``torch.linalg.lu``, the permutation and
    masks as buffers, ``w_s`` in log-space), affine couplings ending in a ``ZeroConv2d``, squeeze
    by ``view``/``permute``, and blocks that split half the channels off to a learned prior."""
    from math import log, pi

    nn = torch.nn
    F = nn.functional

    def logabs(x):
        return torch.log(torch.abs(x))

    class ActNorm(nn.Module):
        def __init__(self, in_channel):
            super().__init__()
            self.loc = nn.Parameter(torch.zeros(1, in_channel, 1, 1))
            self.scale = nn.Parameter(torch.ones(1, in_channel, 1, 1))
            self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

        def initialize(self, input):  # noqa: A002 - glow-pytorch's name
            with torch.no_grad():
                flatten = input.permute(1, 0, 2, 3).contiguous().view(input.shape[1], -1)
                mean = flatten.mean(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3)
                std = flatten.std(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3)
                self.loc.data.copy_(-mean)
                self.scale.data.copy_(1 / (std + 1e-6))

        def forward(self, input):  # noqa: A002
            _, _, height, width = input.shape
            if self.initialized.item() == 0:
                self.initialize(input)
                self.initialized.fill_(1)
            log_abs = logabs(self.scale)
            logdet = height * width * torch.sum(log_abs)
            return self.scale * (input + self.loc), logdet

        def reverse(self, output):
            return output / self.scale - self.loc

    class InvConv2d(nn.Module):
        def __init__(self, in_channel):
            super().__init__()
            weight = torch.randn(in_channel, in_channel)
            q, _ = torch.linalg.qr(weight)
            weight = q.unsqueeze(2).unsqueeze(3)
            self.weight = nn.Parameter(weight)

        def forward(self, input):  # noqa: A002
            _, _, height, width = input.shape
            out = F.conv2d(input, self.weight)
            logdet = height * width * torch.slogdet(self.weight.squeeze().double())[1].float()
            return out, logdet

        def reverse(self, output):
            return F.conv2d(output, self.weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))

    class InvConv2dLU(nn.Module):
        def __init__(self, in_channel):
            super().__init__()
            weight = torch.randn(in_channel, in_channel)
            q, _ = torch.linalg.qr(weight)
            w_p, w_l, w_u = torch.linalg.lu(q)
            w_s = torch.diag(w_u)
            w_u = torch.triu(w_u, 1)
            u_mask = torch.triu(torch.ones_like(w_u), 1)
            l_mask = u_mask.T
            self.register_buffer("w_p", w_p)
            self.register_buffer("u_mask", u_mask)
            self.register_buffer("l_mask", l_mask)
            self.register_buffer("s_sign", torch.sign(w_s))
            self.register_buffer("l_eye", torch.eye(l_mask.shape[0]))
            self.w_l = nn.Parameter(w_l)
            self.w_s = nn.Parameter(logabs(w_s))
            self.w_u = nn.Parameter(w_u)

        def forward(self, input):  # noqa: A002
            _, _, height, width = input.shape
            weight = self.calc_weight()
            out = F.conv2d(input, weight)
            logdet = height * width * torch.sum(self.w_s)
            return out, logdet

        def calc_weight(self):
            weight = (self.w_p @ (self.w_l * self.l_mask + self.l_eye)
                      @ ((self.w_u * self.u_mask) + torch.diag(self.s_sign * torch.exp(self.w_s))))
            return weight.unsqueeze(2).unsqueeze(3)

        def reverse(self, output):
            weight = self.calc_weight()
            LU, pivots = torch.linalg.lu_factor(weight.squeeze())
            flat = output.permute(1, 0, 2, 3).reshape(output.shape[1], -1)
            solved = torch.linalg.lu_solve(LU, pivots, flat)
            return solved.reshape(output.shape[1], output.shape[0], *output.shape[2:]).permute(
                1, 0, 2, 3)

    class ZeroConv2d(nn.Module):
        def __init__(self, in_channel, out_channel):
            super().__init__()
            self.conv = nn.Conv2d(in_channel, out_channel, 3, padding=0)
            self.conv.weight.data.zero_()
            self.conv.bias.data.zero_()
            self.scale = nn.Parameter(torch.zeros(1, out_channel, 1, 1))

        def forward(self, input):  # noqa: A002
            out = F.pad(input, [1, 1, 1, 1], value=1)
            out = self.conv(out)
            return out * torch.exp(self.scale * 3)

    class AffineCoupling(nn.Module):
        def __init__(self, in_channel):
            super().__init__()
            self.net = nn.Sequential(
                nn.Conv2d(in_channel // 2, filter_size, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(filter_size, filter_size, 1), nn.ReLU(inplace=True),
                ZeroConv2d(filter_size, in_channel))
            self.net[0].weight.data.normal_(0, 0.05)
            self.net[0].bias.data.zero_()
            self.net[2].weight.data.normal_(0, 0.05)
            self.net[2].bias.data.zero_()

        def forward(self, input):  # noqa: A002
            in_a, in_b = input.chunk(2, 1)
            log_s, t = self.net(in_a).chunk(2, 1)
            s = F.sigmoid(log_s + 2)
            out_b = (in_b + t) * s
            logdet = torch.sum(torch.log(s).view(input.shape[0], -1), 1)
            return torch.cat([in_a, out_b], 1), logdet

        def reverse(self, output):
            out_a, out_b = output.chunk(2, 1)
            log_s, t = self.net(out_a).chunk(2, 1)
            s = F.sigmoid(log_s + 2)
            return torch.cat([out_a, out_b / s - t], 1)

    class Flow(nn.Module):
        def __init__(self, in_channel, conv_lu=True):
            super().__init__()
            self.actnorm = ActNorm(in_channel)
            self.invconv = InvConv2dLU(in_channel) if conv_lu else InvConv2d(in_channel)
            self.coupling = AffineCoupling(in_channel)

        def forward(self, input):  # noqa: A002
            out, logdet = self.actnorm(input)
            out, det1 = self.invconv(out)
            out, det2 = self.coupling(out)
            logdet = logdet + det1
            if det2 is not None:
                logdet = logdet + det2
            return out, logdet

        def reverse(self, output):
            input = self.coupling.reverse(output)  # noqa: A001
            input = self.invconv.reverse(input)  # noqa: A001
            return self.actnorm.reverse(input)

    def gaussian_log_p(x, mean, log_sd):
        return -0.5 * log(2 * pi) - log_sd - 0.5 * (x - mean) ** 2 / torch.exp(2 * log_sd)

    class Block(nn.Module):
        def __init__(self, in_channel, first, split=True):
            super().__init__()
            squeeze_dim = in_channel * 4
            self.flows = nn.ModuleList([Flow(squeeze_dim, conv_lu=not (first and i == 0))
                                        for i in range(n_flow)])
            self.split = split
            if split:
                self.prior = ZeroConv2d(in_channel * 2, in_channel * 4)
            else:
                self.prior = ZeroConv2d(in_channel * 4, in_channel * 8)

        def forward(self, input):  # noqa: A002
            b_size, n_channel, height, width = input.shape
            squeezed = input.view(b_size, n_channel, height // 2, 2, width // 2, 2)
            squeezed = squeezed.permute(0, 1, 3, 5, 2, 4)
            out = squeezed.contiguous().view(b_size, n_channel * 4, height // 2, width // 2)
            logdet = 0
            for flow in self.flows:
                out, det = flow(out)
                logdet = logdet + det
            if self.split:
                out, z_new = out.chunk(2, 1)
                mean, log_sd = self.prior(out).chunk(2, 1)
                log_p = gaussian_log_p(z_new, mean, log_sd)
                log_p = log_p.view(b_size, -1).sum(1)
            else:
                zero = torch.zeros_like(out)
                mean, log_sd = self.prior(zero).chunk(2, 1)
                log_p = gaussian_log_p(out, mean, log_sd)
                log_p = log_p.view(b_size, -1).sum(1)
                z_new = out
            return out, logdet, log_p, z_new

    class Glow(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList()
            n_channel = in_channel
            for i in range(n_block - 1):
                self.blocks.append(Block(n_channel, first=i == 0))
                n_channel *= 2
            self.blocks.append(Block(n_channel, first=False, split=False))

        def forward(self, input):  # noqa: A002
            log_p_sum = 0
            logdet = 0
            out = input
            z_outs = []
            for block in self.blocks:
                out, det, log_p, z_new = block(out)
                z_outs.append(z_new)
                logdet = logdet + det
                if log_p is not None:
                    log_p_sum = log_p_sum + log_p
            return log_p_sum, logdet, z_outs

    return Glow()


def train_glow(torch, model, images, noises, n_bits=5, lr=1e-3):
    """glow-pytorch's ``train``: images quantised to ``n_bits`` by ``torch.floor``, the first batch
    run under ``no_grad`` to initialise ActNorm, dequantisation noise added (passed in for
    ``torch.rand_like``), ``calc_loss`` in bits per dimension, Adam with a warm-up written into
    ``param_groups[0]["lr"]``; then each flow inverted on a batch."""
    from math import log

    n_bins = 2.0 ** n_bits
    image_size, n_channel = images[0].shape[-1], images[0].shape[1]

    def calc_loss(log_p, logdet, image_size, n_bins):
        n_pixel = image_size * image_size * n_channel
        loss = -log(n_bins) * n_pixel
        loss = loss + logdet + log_p
        return ((-loss / (log(2) * n_pixel)).mean(), (log_p / (log(2) * n_pixel)).mean(),
                (logdet / (log(2) * n_pixel)).mean())

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for i, (image, noise) in enumerate(zip(images, noises)):
        image = image * 255
        if n_bits < 8:
            image = torch.floor(image / 2 ** (8 - n_bits))
        image = image / n_bins - 0.5
        if i == 0:
            with torch.no_grad():
                log_p, logdet, _ = model(image + noise / n_bins)
                continue
        log_p, logdet, _ = model(image + noise / n_bins)
        logdet = logdet.mean()
        loss, log_p, log_det = calc_loss(log_p, logdet, image_size, n_bins)
        model.zero_grad()
        loss.backward()
        warmup_lr = lr * min(1, i * image.shape[0] / 4)
        optimizer.param_groups[0]["lr"] = warmup_lr
        optimizer.step()
        history.append([loss.item(), log_p.item(), log_det.item(), warmup_lr])
    with torch.no_grad():
        x = images[0] - 0.5
        gaps, zs = [], []
        for block in model.blocks:
            b, c, h, w = x.shape
            x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(
                b, c * 4, h // 2, w // 2)
            for flow in block.flows:
                y, _ = flow(x)
                gaps.append((flow.reverse(y) - x).abs().max().item())
                x = y
            zs.append(x.numpy())
            if block.split:
                x = x.chunk(2, 1)[0]
    flags = [int(m.initialized) for m in model.modules() if hasattr(m, "initialized")]
    return history, zs, max(gaps), flags


def awd_lstm(torch, ntoken=12, ninp=6, nhid=8, nlayers=2, dropout=0.3, dropouth=0.2,
             dropouti=0.3, dropoute=0.1, wdrop=0.4):
    """salesforce/awd-lstm-lm's ``RNNModel``: ``LockedDropout`` masks from
    ``x.data.new(1, n, d).bernoulli_(1 - p)``, ``embedded_dropout`` of whole embedding rows,
    ``WeightDrop`` moving ``weight_hh_l0`` to ``weight_hh_l0_raw`` and setting the dropped weight
    back as a plain attribute before each call, the decoder tied to the encoder."""
    nn = torch.nn
    F = nn.functional
    Variable = torch.autograd.Variable

    class LockedDropout(nn.Module):
        def forward(self, x, dropout=0.5):
            if not self.training or not dropout:
                return x
            m = x.data.new(1, x.size(1), x.size(2)).bernoulli_(1 - dropout)
            mask = Variable(m, requires_grad=False) / (1 - dropout)
            mask = mask.expand_as(x)
            return mask * x

    def embedded_dropout(embed, words, dropout=0.1, scale=None):
        if dropout:
            mask = embed.weight.data.new().resize_((embed.weight.size(0), 1)).bernoulli_(
                1 - dropout).expand_as(embed.weight) / (1 - dropout)
            masked_embed_weight = mask * embed.weight
        else:
            masked_embed_weight = embed.weight
        if scale:
            masked_embed_weight = scale.expand_as(masked_embed_weight) * masked_embed_weight
        padding_idx = embed.padding_idx
        if padding_idx is None:
            padding_idx = -1
        return F.embedding(words, masked_embed_weight, padding_idx, embed.max_norm,
                           embed.norm_type, embed.scale_grad_by_freq, embed.sparse)

    class WeightDrop(nn.Module):
        def __init__(self, module, weights, dropout=0):
            super().__init__()
            self.module = module
            self.weights = weights
            self.dropout = dropout
            self._setup()

        def _setup(self):
            for name_w in self.weights:
                w = getattr(self.module, name_w)
                del self.module._parameters[name_w]
                self.module.register_parameter(name_w + "_raw", nn.Parameter(w.data))

        def _setweights(self):
            for name_w in self.weights:
                raw_w = getattr(self.module, name_w + "_raw")
                if self.training:  # fastai's form: in eval, F.dropout would give the Parameter
                    w = F.dropout(raw_w, p=self.dropout)  # itself, registered by setattr
                else:
                    w = raw_w.clone()
                setattr(self.module, name_w, w)

        def forward(self, *args):
            self._setweights()
            return self.module.forward(*args)

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.lockdrop = LockedDropout()
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnns = [nn.LSTM(ninp if layer == 0 else nhid,
                                 nhid if layer != nlayers - 1 else ninp, 1, dropout=0)
                         for layer in range(nlayers)]
            self.rnns = [WeightDrop(rnn, ["weight_hh_l0"], dropout=wdrop) for rnn in self.rnns]
            self.rnns = torch.nn.ModuleList(self.rnns)
            self.decoder = nn.Linear(nhid if False else ninp, ntoken)
            self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.ninp, self.nhid, self.nlayers = ninp, nhid, nlayers
            self.dropout, self.dropouti, self.dropouth, self.dropoute = (
                dropout, dropouti, dropouth, dropoute)

        def init_weights(self):
            initrange = 0.1
            self.encoder.weight.data.uniform_(-initrange, initrange)
            self.decoder.bias.data.fill_(0)
            self.decoder.weight.data.uniform_(-initrange, initrange)

        def forward(self, input, hidden, return_h=False):  # noqa: A002 - the repository's name
            emb = embedded_dropout(self.encoder, input,
                                   dropout=self.dropoute if self.training else 0)
            emb = self.lockdrop(emb, self.dropouti)
            raw_output = emb
            new_hidden, raw_outputs, outputs = [], [], []
            for layer, rnn in enumerate(self.rnns):
                raw_output, new_h = rnn(raw_output, hidden[layer])
                new_hidden.append(new_h)
                raw_outputs.append(raw_output)
                if layer != self.nlayers - 1:
                    raw_output = self.lockdrop(raw_output, self.dropouth)
                    outputs.append(raw_output)
            hidden = new_hidden
            output = self.lockdrop(raw_output, self.dropout)
            outputs.append(output)
            result = output.view(output.size(0) * output.size(1), output.size(2))
            if return_h:
                return self.decoder(result), hidden, raw_outputs, outputs
            return self.decoder(result), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters()).data
            return [(weight.new(1, bsz, self.nhid if layer != self.nlayers - 1 else self.ninp)
                     .zero_(),
                     weight.new(1, bsz, self.nhid if layer != self.nlayers - 1 else self.ninp)
                     .zero_()) for layer in range(self.nlayers)]

    return RNNModel()


def train_awd_lstm(torch, model, data, bptt=4, batch_size=2, epochs=4, lr=30.0, alpha=2.0,
                   beta=1.0, wdecay=1.2e-6, nonmono=1):
    """awd-lstm-lm's ``main.py``: ``batchify``, ``get_batch``, ``repackage_hidden``, the learning
    rate rescaled by ``seq_len / bptt`` through ``param_groups``, AR and TAR penalties,
    ``clip_grad_norm_``, and NT-ASGD: SGD until the validation loss stops improving, then
    ``torch.optim.ASGD(t0=0, lambd=0.)``, evaluated with the averages ``optimizer.state[prm]['ax']``
    swapped into ``prm.data`` and back."""
    criterion = torch.nn.CrossEntropyLoss()

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def get_batch(source, i, seq_len=None):
        seq_len = min(seq_len if seq_len else bptt, len(source) - 1 - i)
        return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)

    def repackage_hidden(h):
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    train_data = batchify(data[:-10], batch_size)
    val_data = batchify(data[-10:], 1)

    def evaluate(data_source):
        model.eval()
        total_loss = 0
        hidden = model.init_hidden(1)
        for i in range(0, data_source.size(0) - 1, bptt):
            inputs, targets = get_batch(data_source, i)
            output, hidden = model(inputs, hidden)
            total_loss += len(inputs) * criterion(output, targets).data
            hidden = [repackage_hidden(h) for h in hidden]
        return total_loss.item() / len(data_source)

    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=wdecay)
    history, best_val_loss, switched = [], [], None
    for epoch in range(epochs):
        model.train()
        hidden = model.init_hidden(batch_size)
        i = 0
        while i < train_data.size(0) - 1 - 1:
            seq_len = bptt - 1 if (i // bptt) % 2 else bptt  # the repository draws it
            lr2 = optimizer.param_groups[0]["lr"]
            optimizer.param_groups[0]["lr"] = lr2 * seq_len / bptt
            inputs, targets = get_batch(train_data, i, seq_len=seq_len)
            hidden = [repackage_hidden(h) for h in hidden]
            optimizer.zero_grad()
            output, hidden, rnn_hs, dropped_rnn_hs = model(inputs, hidden, return_h=True)
            raw_loss = criterion(output, targets)
            loss = raw_loss
            loss = loss + sum(alpha * dropped_rnn_h.pow(2).mean()
                              for dropped_rnn_h in dropped_rnn_hs[-1:])
            loss = loss + sum(beta * (rnn_h[1:] - rnn_h[:-1]).pow(2).mean()
                              for rnn_h in rnn_hs[-1:])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            optimizer.step()
            optimizer.param_groups[0]["lr"] = lr2
            history.append(raw_loss.item())
            i += seq_len
        if "t0" in optimizer.param_groups[0]:
            tmp = {}
            for prm in model.parameters():
                tmp[prm] = prm.data.clone()
                prm.data = optimizer.state[prm]["ax"].clone()
            val_loss2 = evaluate(val_data)
            for prm in model.parameters():
                prm.data = tmp[prm].clone()
            history.append(val_loss2)
        else:
            val_loss = evaluate(val_data)
            history.append(val_loss)
            if len(best_val_loss) > nonmono and val_loss > min(best_val_loss[:-nonmono]):
                switched = epoch
                optimizer = torch.optim.ASGD(model.parameters(), lr=lr, t0=0, lambd=0.,
                                             weight_decay=wdecay)
            best_val_loss.append(val_loss)
    names = sorted(model.state_dict())
    return history, switched, names, model.decoder.weight.detach().numpy()


def tab_transformer(torch, categories=(3, 4, 2), num_continuous=3, dim=8, depth=2, heads=2,
                    dim_head=4, dim_out=1, mlp_hidden_mults=(4, 2), num_special_tokens=2):
    """TabTransformer as tab-transformer-pytorch writes it (einops spelled out): one shared
    embedding table indexed through a ``categories_offset`` buffer from ``F.pad`` and ``cumsum``,
    added to the categorical input in place, pre-norm residual attention by ``einsum`` with
    spaced subscripts, GEGLU feed-forward, the continuous features normalised by a mean/std
    buffer and ``LayerNorm``, an MLP head over the concatenation."""
    nn = torch.nn
    F = nn.functional

    class Residual(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x, **kwargs):
            return self.fn(x, **kwargs) + x

    class PreNorm(nn.Module):
        def __init__(self, dim, fn):
            super().__init__()
            self.norm = nn.LayerNorm(dim)
            self.fn = fn

        def forward(self, x, **kwargs):
            return self.fn(self.norm(x), **kwargs)

    class GEGLU(nn.Module):
        def forward(self, x):
            x, gates = x.chunk(2, dim=-1)
            return x * F.gelu(gates)

    class FeedForward(nn.Module):
        def __init__(self, dim, mult=4, dropout=0.):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(dim, dim * mult * 2), GEGLU(), nn.Dropout(dropout),
                                     nn.Linear(dim * mult, dim))

        def forward(self, x, **kwargs):
            return self.net(x)

    class Attention(nn.Module):
        def __init__(self, dim, heads=8, dim_head=16, dropout=0.):
            super().__init__()
            inner_dim = dim_head * heads
            self.heads = heads
            self.scale = dim_head ** -0.5
            self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
            self.to_out = nn.Linear(inner_dim, dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            h = self.heads
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            b, n, _ = q.shape
            q, k, v = (t.view(b, n, h, -1).transpose(1, 2) for t in (q, k, v))
            sim = torch.einsum("b h i d, b h j d -> b h i j", q, k) * self.scale
            attn = sim.softmax(dim=-1)
            dropped_attn = self.dropout(attn)
            out = torch.einsum("b h i j, b h j d -> b h i d", dropped_attn, v)
            out = out.transpose(1, 2).reshape(b, n, -1)
            return self.to_out(out), attn

    class Transformer(nn.Module):
        def __init__(self, num_tokens, dim, depth, heads, dim_head):
            super().__init__()
            self.embeds = nn.Embedding(num_tokens, dim)
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                self.layers.append(nn.ModuleList([
                    PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head)),
                    PreNorm(dim, FeedForward(dim)),
                ]))

        def forward(self, x, return_attn=False):
            x = self.embeds(x)
            post_softmax_attns = []
            for attn, ff in self.layers:
                attn_out, post_softmax_attn = attn(x)
                post_softmax_attns.append(post_softmax_attn)
                x = x + attn_out
                x = ff(x) + x
            if not return_attn:
                return x
            return x, torch.stack(post_softmax_attns)

    class MLP(nn.Module):
        def __init__(self, dims, act=None):
            super().__init__()
            dims_pairs = list(zip(dims[:-1], dims[1:]))
            layers = []
            for ind, (dim_in, dim_out) in enumerate(dims_pairs):
                is_last = ind >= (len(dims_pairs) - 1)
                layers.append(nn.Linear(dim_in, dim_out))
                if is_last:
                    continue
                layers.append(act if act is not None else nn.ReLU())
            self.mlp = nn.Sequential(*layers)

        def forward(self, x):
            return self.mlp(x)

    class TabTransformer(nn.Module):
        def __init__(self, continuous_mean_std):
            super().__init__()
            assert all(map(lambda n: n > 0, categories)), "number of each category must be positive"
            self.num_categories = len(categories)
            self.num_unique_categories = sum(categories)
            total_tokens = self.num_unique_categories + num_special_tokens
            categories_offset = F.pad(torch.tensor(list(categories)), (1, 0),
                                      value=num_special_tokens)
            categories_offset = categories_offset.cumsum(dim=-1)[:-1]
            self.register_buffer("categories_offset", categories_offset)
            self.num_continuous = num_continuous
            self.register_buffer("continuous_mean_std", continuous_mean_std)
            self.norm = nn.LayerNorm(num_continuous)
            self.transformer = Transformer(total_tokens, dim, depth, heads, dim_head)
            input_size = (dim * self.num_categories) + num_continuous
            hidden_dimensions = list(map(lambda t: (input_size // 8) * t, mlp_hidden_mults))
            self.mlp = MLP([input_size, *hidden_dimensions, dim_out], act=nn.SiLU())

        def forward(self, x_categ, x_cont, return_attn=False):
            assert x_categ.shape[-1] == self.num_categories, (
                f"you must pass in {self.num_categories} values for your categories input")
            x_categ += self.categories_offset
            x, attns = self.transformer(x_categ, return_attn=True)
            flat_categ = x.flatten(1)
            assert x_cont.shape[1] == self.num_continuous
            mean, std = self.continuous_mean_std.unbind(dim=-1)
            x_cont = (x_cont - mean) / std
            normed_cont = self.norm(x_cont)
            x = torch.cat((flat_categ, normed_cont), dim=-1)
            logits = self.mlp(x)
            if not return_attn:
                return logits
            return logits, attns

    return TabTransformer(torch.tensor([[0.5, 2.0], [-1.0, 0.5], [0.0, 1.5]]))


def train_tab_transformer(torch, model, x_categ, x_cont, y, epochs=4):
    """AdamW on BCE-with-logits with a positive-class weight, the categorical batch cloned per
    step (the model adds the offsets in place), attention maps and AUC-style ranking reported."""
    criterion = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.5], dtype=x_cont.dtype))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        logits = model(x_categ.clone(), x_cont)
        loss = criterion(logits.squeeze(-1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        categ = x_categ.clone()
        logits, attns = model(categ, x_cont, return_attn=True)
        order = torch.argsort(logits.squeeze(-1), descending=True)
    return losses, logits.numpy(), attns.numpy(), categ.tolist(), order.tolist()


def pixelcnn(torch, fm=8, levels=8, layers=3):
    """The well-known minimal PixelCNN: ``MaskedConv2d(nn.Conv2d)`` with a ``mask`` buffer cloned
    from ``self.weight.data`` and cut by ``mask[:, :, kH // 2, kW // 2 + (mask_type == 'B'):] = 0``,
    the weight masked in place by ``self.weight.data *= self.mask`` before each call through
    ``super(MaskedConv2d, self).forward``, BatchNorm and ReLU(True) between, a 1x1 head over the
    intensity levels."""
    nn = torch.nn

    class MaskedConv2d(nn.Conv2d):
        def __init__(self, mask_type, *args, **kwargs):
            super(MaskedConv2d, self).__init__(*args, **kwargs)  # noqa: UP008 - as written
            assert mask_type in {"A", "B"}
            self.register_buffer("mask", self.weight.data.clone())
            _, _, kH, kW = self.weight.size()
            self.mask.fill_(1)
            self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B"):] = 0
            self.mask[:, :, kH // 2 + 1:] = 0

        def forward(self, x):
            self.weight.data *= self.mask
            return super(MaskedConv2d, self).forward(x)  # noqa: UP008

    body = [MaskedConv2d("A", 1, fm, 5, 1, 2, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True)]
    for _ in range(layers - 1):
        body += [MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm),
                 nn.ReLU(True)]
    return nn.Sequential(*body, nn.Conv2d(fm, levels, 1))


def train_pixelcnn(torch, net, images, levels=8, n_samples=2):
    """Cross-entropy over the quantised pixels with Adam, then sampling pixel by pixel in raster
    order from ``torch.Tensor(n, 1, H, W)`` filled with zeros, ``Variable(sample, volatile=True)``,
    ``F.softmax`` without ``dim`` and ``torch.multinomial(probs, 1).float() / (levels - 1)``."""
    F = torch.nn.functional
    Variable = torch.autograd.Variable
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for input in images:  # noqa: A001 - the script's name
        target = Variable((input.data[:, 0] * (levels - 1)).long())
        loss = F.cross_entropy(net(input), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    height, width = images[0].shape[2:]
    sample = torch.Tensor(n_samples, 1, height, width)
    sample.fill_(0)
    net.train(False)
    for i in range(height):
        for j in range(width):
            out = net(Variable(sample, volatile=True))
            probs = F.softmax(out[:, :, i, j]).data
            sample[:, :, i, j] = torch.multinomial(probs, 1).float() / (levels - 1)
    masked = [m.weight.data.clone().numpy() for m in net if hasattr(m, "mask")]
    return losses, masked, sample.numpy()
