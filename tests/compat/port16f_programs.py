"""Wave-16 ports, part six, run with ``torch`` = PyTorch or chainrule (test_port16f_programs.py):
Deep SVDD as lukasruff/Deep-SVDD-PyTorch trains it (a bias-free net with ``BatchNorm1d(affine=
False)``, the centre ``c`` accumulated in float32 and pushed off zero by ``c[(abs(c) < eps) & (c <
0)] = -eps``, the soft-boundary radius set by ``self.R.data = torch.tensor(np.quantile(...))``, a
``MultiStepLR`` stepped at the start of each epoch, a dataset yielding ``(x, label, index)``),
the Relation Network of floodsung/LearningToCompare_FSL on tiny episodes (one-hot targets by
``torch.zeros(n, c).scatter_(1, labels.view(-1, 1), 1)``, pairs built by ``unsqueeze(0).repeat``
and ``torch.transpose``, ``BatchNorm2d(momentum=1)``, ``weights_init`` by class-name matching,
``clip_grad_norm``), and an RWKV-4 language model in plain PyTorch (token shift by
``nn.ZeroPad2d((0, 0, 1, -1))``, the WKV recurrence in its stable form with
``torch.maximum``, the ``L2Wrap`` autograd Function that adds a gradient to the largest logit,
Adam groups carrying ``my_lr_scale`` that the warm-up sets through ``param_groups``).
"""

from __future__ import annotations

import math

import numpy as np

# ---- Deep SVDD (lukasruff/Deep-SVDD-PyTorch) ----


def svdd_net(torch, d=6, rep_dim=4):
    nn, F = torch.nn, torch.nn.functional

    class MLP_Net(nn.Module):  # noqa: N801 - a BaseNet of the repository, reduced
        def __init__(self):
            super().__init__()
            self.rep_dim = rep_dim
            self.fc1 = nn.Linear(d, 12, bias=False)
            self.bn1 = nn.BatchNorm1d(12, eps=1e-04, affine=False)
            self.fc2 = nn.Linear(12, self.rep_dim, bias=False)

        def forward(self, x):
            x = F.leaky_relu(self.bn1(self.fc1(x)))
            return self.fc2(x)

    return MLP_Net()


def svdd_data(torch, x, labels, batch_size=6):
    class IndexedDataset(torch.utils.data.Dataset):
        def __init__(self, x, labels):
            self.x, self.labels = torch.tensor(x), torch.tensor(labels)

        def __getitem__(self, index):
            return self.x[index], self.labels[index], index

        def __len__(self):
            return len(self.x)

    return torch.utils.data.DataLoader(IndexedDataset(x, labels), batch_size=batch_size,
                                       shuffle=False)


def train_deep_svdd(torch, net, train_loader, test_loader, objective='one-class', nu=0.1,
                    n_epochs=4, lr_milestones=(2,), warm_up_n_epochs=1):
    R = torch.tensor(0.0)  # radius R initialized with 0 by default.

    def get_radius(dist, nu):
        """Optimally solve for radius R via the (1-nu)-quantile of distances."""
        return np.quantile(np.sqrt(dist.clone().data.cpu().numpy()), 1 - nu)

    def init_center_c(train_loader, net, eps=0.1):
        """Initialize hypersphere center c as the mean from an initial forward pass."""
        n_samples = 0
        c = torch.zeros(net.rep_dim)
        net.eval()
        with torch.no_grad():
            for data in train_loader:
                inputs, _, _ = data
                outputs = net(inputs)
                n_samples += outputs.shape[0]
                c += torch.sum(outputs, dim=0)
        c /= n_samples
        # If c_i is too close to 0, set to +-eps.
        c[(abs(c) < eps) & (c < 0)] = -eps
        c[(abs(c) < eps) & (c > 0)] = eps
        return c

    optimizer = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-6, amsgrad=True)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=lr_milestones,
                                                     gamma=0.1)
    c = init_center_c(train_loader, net)
    net.train()
    history = []
    for epoch in range(n_epochs):
        scheduler.step()
        loss_epoch, n_batches = 0.0, 0
        for data in train_loader:
            inputs, _, _ = data
            optimizer.zero_grad()
            outputs = net(inputs)
            dist = torch.sum((outputs - c) ** 2, dim=1)
            if objective == 'soft-boundary':
                scores = dist - R ** 2
                loss = R ** 2 + (1 / nu) * torch.mean(torch.max(torch.zeros_like(scores), scores))
            else:
                loss = torch.mean(dist)
            loss.backward()
            optimizer.step()
            # Update hypersphere radius R on mini-batch distances
            if (objective == 'soft-boundary') and (epoch >= warm_up_n_epochs):
                R.data = torch.tensor(get_radius(dist, nu))
            loss_epoch += loss.item()
            n_batches += 1
        history.append((loss_epoch / n_batches, float(R), scheduler.get_last_lr()[0]))
    label_score = []
    net.eval()
    with torch.no_grad():
        for data in test_loader:
            inputs, labels, idx = data
            outputs = net(inputs)
            dist = torch.sum((outputs - c) ** 2, dim=1)
            scores = dist - R ** 2 if objective == 'soft-boundary' else dist
            label_score += list(zip(idx.cpu().data.numpy().tolist(),
                                    labels.cpu().data.numpy().tolist(),
                                    scores.cpu().data.numpy().tolist()))
    _, labels, scores = zip(*label_score)
    return history, c.numpy().copy(), list(scores), list(labels)


# ---- Relation Network (floodsung/LearningToCompare_FSL, miniImagenet training), tiny ----

def relation_nets(torch, feature_dim=8, relation_dim=8):
    nn, F = torch.nn, torch.nn.functional

    class CNNEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = nn.Sequential(nn.Conv2d(1, feature_dim, kernel_size=3, padding=0),
                                        nn.BatchNorm2d(feature_dim, momentum=1, affine=True),
                                        nn.ReLU(), nn.MaxPool2d(2))
            self.layer2 = nn.Sequential(nn.Conv2d(feature_dim, feature_dim, kernel_size=3,
                                                  padding=1),
                                        nn.BatchNorm2d(feature_dim, momentum=1, affine=True),
                                        nn.ReLU())

        def forward(self, x):
            return self.layer2(self.layer1(x))

    class RelationNetwork(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.layer1 = nn.Sequential(nn.Conv2d(feature_dim * 2, feature_dim, kernel_size=3,
                                                  padding=1),
                                        nn.BatchNorm2d(feature_dim, momentum=1, affine=True),
                                        nn.ReLU(), nn.MaxPool2d(2))
            self.fc1 = nn.Linear(input_size, hidden_size)
            self.fc2 = nn.Linear(hidden_size, 1)

        def forward(self, x):
            out = self.layer1(x)
            out = out.view(out.size(0), -1)
            out = F.relu(self.fc1(out))
            out = F.sigmoid(self.fc2(out))
            return out

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.data.normal_(0, math.sqrt(2. / n))
            if m.bias is not None:
                m.bias.data.zero_()
        elif classname.find('BatchNorm') != -1:
            m.weight.data.fill_(1)
            m.bias.data.zero_()
        elif classname.find('Linear') != -1:
            m.weight.data.normal_(0, 0.01)
            m.bias.data = torch.ones(m.bias.data.size())

    container = nn.Module()
    container.feature_encoder = CNNEncoder()
    container.relation_network = RelationNetwork(feature_dim * 2 * 2, relation_dim)
    container.feature_encoder.apply(weights_init)
    container.relation_network.apply(weights_init)
    return container


def train_relation_net(torch, nets, episodes, class_num=3, sample_num=1, batch_num=2,
                       feature_dim=8):
    nn, Variable = torch.nn, torch.autograd.Variable
    feature_encoder, relation_network = nets.feature_encoder, nets.relation_network
    feature_encoder_optim = torch.optim.Adam(feature_encoder.parameters(), lr=0.01)
    feature_encoder_scheduler = torch.optim.lr_scheduler.StepLR(feature_encoder_optim,
                                                                step_size=2, gamma=0.5)
    relation_network_optim = torch.optim.Adam(relation_network.parameters(), lr=0.01)
    relation_network_scheduler = torch.optim.lr_scheduler.StepLR(relation_network_optim,
                                                                 step_size=2, gamma=0.5)
    mse = nn.MSELoss()
    losses = []
    for samples, _sample_labels, batches, batch_labels in episodes:
        # calculate features
        sample_features = feature_encoder(Variable(samples))  # 3x8x2x2
        batch_features = feature_encoder(Variable(batches))  # 6x8x2x2
        h, w = sample_features.shape[-2:]
        # calculate relations: each batch sample link to every sample to calculate relations
        sample_features_ext = sample_features.unsqueeze(0).repeat(
            batch_num * class_num, 1, 1, 1, 1)
        batch_features_ext = batch_features.unsqueeze(0).repeat(
            sample_num * class_num, 1, 1, 1, 1)
        batch_features_ext = torch.transpose(batch_features_ext, 0, 1)
        relation_pairs = torch.cat((sample_features_ext, batch_features_ext), 2).view(
            -1, feature_dim * 2, h, w)
        relations = relation_network(relation_pairs).view(-1, class_num)
        one_hot_labels = Variable(torch.zeros(batch_num * class_num, class_num).scatter_(
            1, batch_labels.view(-1, 1), 1))
        loss = mse(relations, one_hot_labels)
        # training
        feature_encoder.zero_grad()
        relation_network.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm(feature_encoder.parameters(), 0.5)
        torch.nn.utils.clip_grad_norm(relation_network.parameters(), 0.5)
        feature_encoder_optim.step()
        relation_network_optim.step()
        feature_encoder_scheduler.step()
        relation_network_scheduler.step()
        _, predict_labels = torch.max(relations.data, 1)
        rewards = [1 if predict_labels[j] == batch_labels[j] else 0
                   for j in range(class_num * batch_num)]
        losses.append((loss.item(), sum(rewards)))
    return losses, {k: v.detach().numpy().copy() for k, v in nets.state_dict().items()}


# ---- RWKV-4 in plain PyTorch ----

def rwkv(torch, vocab_size=11, n_embd=8, n_layer=2, ctx_len=6):
    nn, F = torch.nn, torch.nn.functional

    class L2Wrap(torch.autograd.Function):
        @staticmethod
        def forward(ctx, loss, y):
            ctx.save_for_backward(y)
            return loss

        @staticmethod
        def backward(ctx, grad_output):
            y = ctx.saved_tensors[0]
            # to encourage the logits to be close to 0
            factor = 1e-4 / (y.shape[0] * y.shape[1])
            maxx, ids = torch.max(y, -1, keepdim=True)
            gy = torch.zeros_like(y)
            gy.scatter_(-1, ids, maxx * factor)
            return (grad_output, gy)

    def run_wkv(w, u, k, v):
        B, T, C = k.size()
        aa = torch.zeros(B, C, dtype=k.dtype)
        bb = torch.zeros(B, C, dtype=k.dtype)
        pp = torch.full((B, C), -1e38, dtype=k.dtype)
        out = []
        for t in range(T):
            kk, vv = k[:, t], v[:, t]
            ww = u + kk
            p = torch.maximum(pp, ww)
            e1, e2 = torch.exp(pp - p), torch.exp(ww - p)
            out.append((e1 * aa + e2 * vv) / (e1 * bb + e2))
            ww = w + pp
            p = torch.maximum(ww, kk)
            e1, e2 = torch.exp(ww - p), torch.exp(kk - p)
            aa, bb, pp = e1 * aa + e2 * vv, e1 * bb + e2, p
        return torch.stack(out, dim=1)

    class RWKV_TimeMix(nn.Module):  # noqa: N801 - the repository's name
        def __init__(self, layer_id):
            super().__init__()
            ratio_0_to_1 = layer_id / (n_layer - 1)
            ratio_1_to_almost0 = 1.0 - (layer_id / n_layer)
            decay_speed = torch.ones(n_embd)
            for h in range(n_embd):
                decay_speed[h] = -5 + 8 * (h / (n_embd - 1)) ** (0.7 + 1.3 * ratio_0_to_1)
            self.time_decay = nn.Parameter(decay_speed)
            zigzag = torch.tensor([(i + 1) % 3 - 1 for i in range(n_embd)]) * 0.5
            self.time_first = nn.Parameter(torch.ones(n_embd) * math.log(0.3) + zigzag)
            x = torch.ones(1, 1, n_embd)
            for i in range(n_embd):
                x[0, 0, i] = i / n_embd
            self.time_mix_k = nn.Parameter(torch.pow(x, ratio_1_to_almost0))
            self.time_mix_v = nn.Parameter(torch.pow(x, ratio_1_to_almost0) + 0.3 * ratio_0_to_1)
            self.time_mix_r = nn.Parameter(torch.pow(x, 0.5 * ratio_1_to_almost0))
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            self.key = nn.Linear(n_embd, n_embd, bias=False)
            self.value = nn.Linear(n_embd, n_embd, bias=False)
            self.receptance = nn.Linear(n_embd, n_embd, bias=False)
            self.output = nn.Linear(n_embd, n_embd, bias=False)

        def forward(self, x):
            xx = self.time_shift(x)  # Mix x with the previous timestep to produce xk, xv, xr
            xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
            xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
            xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
            k, v, r = self.key(xk), self.value(xv), self.receptance(xr)
            sr = torch.sigmoid(r)
            rwkv = sr * run_wkv(-torch.exp(self.time_decay), self.time_first, k, v)
            return self.output(rwkv)

    class RWKV_ChannelMix(nn.Module):  # noqa: N801 - the repository's name
        def __init__(self, layer_id):
            super().__init__()
            self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
            ratio_1_to_almost0 = 1.0 - (layer_id / n_layer)
            x = torch.ones(1, 1, n_embd)
            for i in range(n_embd):
                x[0, 0, i] = i / n_embd
            self.time_mix_k = nn.Parameter(torch.pow(x, ratio_1_to_almost0))
            self.time_mix_r = nn.Parameter(torch.pow(x, ratio_1_to_almost0))
            hidden_sz = 4 * n_embd
            self.key = nn.Linear(n_embd, hidden_sz, bias=False)
            self.receptance = nn.Linear(n_embd, n_embd, bias=False)
            self.value = nn.Linear(hidden_sz, n_embd, bias=False)

        def forward(self, x):
            xx = self.time_shift(x)
            xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
            xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
            k = torch.square(torch.relu(self.key(xk)))
            return torch.sigmoid(self.receptance(xr)) * self.value(k)

    class Block(nn.Module):
        def __init__(self, layer_id):
            super().__init__()
            self.layer_id = layer_id
            self.ln1 = nn.LayerNorm(n_embd)
            self.ln2 = nn.LayerNorm(n_embd)
            if self.layer_id == 0:
                self.ln0 = nn.LayerNorm(n_embd)
            self.att = RWKV_TimeMix(layer_id)
            self.ffn = RWKV_ChannelMix(layer_id)

        def forward(self, x):
            if self.layer_id == 0:
                x = self.ln0(x)
            x = x + self.att(self.ln1(x))
            return x + self.ffn(self.ln2(x))

    class RWKV(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab_size, n_embd)
            self.blocks = nn.Sequential(*[Block(i) for i in range(n_layer)])
            self.ln_out = nn.LayerNorm(n_embd)
            self.head = nn.Linear(n_embd, vocab_size, bias=False)

        def configure_optimizers(self, lr_init=1e-2, betas=(0.9, 0.99), adam_eps=1e-8):
            lr_1x, lr_2x, lr_3x = set(), set(), set()
            for n, _p in self.named_parameters():
                if "time_mix" in n:
                    lr_1x.add(n)
                elif "time_decay" in n:
                    lr_2x.add(n)
                elif "time_first" in n:
                    lr_3x.add(n)
                else:
                    lr_1x.add(n)
            lr_1x, lr_2x, lr_3x = sorted(lr_1x), sorted(lr_2x), sorted(lr_3x)
            param_dict = {n: p for n, p in self.named_parameters()}
            optim_groups = [
                {"params": [param_dict[n] for n in lr_1x], "weight_decay": 0.0,
                 "my_lr_scale": 1.0},
                {"params": [param_dict[n] for n in lr_2x], "weight_decay": 0.0,
                 "my_lr_scale": 2.0},
                {"params": [param_dict[n] for n in lr_3x], "weight_decay": 0.0,
                 "my_lr_scale": 3.0},
            ]
            return torch.optim.Adam(optim_groups, lr=lr_init, betas=betas, eps=adam_eps)

        def forward(self, idx, targets=None):
            B, T = idx.size()
            assert T <= ctx_len, "Cannot forward, model ctx_len is exhausted."
            x = self.blocks(self.emb(idx))
            x = self.head(self.ln_out(x))
            if targets is None:
                return x
            loss = F.cross_entropy(x.view(-1, x.size(-1)), targets.view(-1))
            return L2Wrap.apply(loss, x)

    return RWKV()


def train_rwkv(torch, model, data, steps=5, lr_init=1e-2, warmup_steps=3):
    optimizer = model.configure_optimizers(lr_init=lr_init)
    losses = []
    for real_step in range(steps):
        lr = lr_init * (0.2 + 0.8 * real_step / warmup_steps) if real_step < warmup_steps \
            else lr_init
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr * param_group["my_lr_scale"]
        x, y = data[real_step % len(data)]
        loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        logits = model(data[0][0])
    return losses, logits.numpy().copy(), {k: v.detach().numpy().copy()
                                           for k, v in model.state_dict().items()}
