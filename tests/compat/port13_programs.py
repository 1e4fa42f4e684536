"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port13_programs.py): the SAM optimizer (davda54/sam: a ``torch.optim.Optimizer`` subclass
wrapping a base optimizer built on its own ``param_groups``, ``first_step``/``second_step`` under
``@torch.no_grad()``, ``scale.to(p)``, ``p.data = old_p``, ``torch.enable_grad()(closure)``,
BatchNorm momentum switched off through ``_BatchNorm`` and ``model.apply``, a label-smoothed
``kl_div`` loss by ``scatter_(value=...)``); the center loss (KaiyangZhou/pytorch-center-loss:
``distmat.addmm_`` with beta/alpha, ``labels.eq(classes.expand(...))``, two optimizers and the
center gradient rescaled by ``param.grad.data *= ...``); pytorch-fm's DeepFM (offsets by
``x.new_tensor(np.array(...))``, the factorization machine's square-of-sum trick, ``BCELoss``
with Adam's weight decay); sparsemax (KrisKorrel/sparsemax-pytorch: sort, cumsum, ``is_gt.type(
input.type())``) in an attention classifier; and a Bernoulli RBM trained by contrastive divergence
(``F.relu(torch.sign(p - Variable(torch.rand(p.size()))))``, free energies by ``v.mv``).
"""

from __future__ import annotations

import numpy as np

# --- SAM (davda54/sam) ----------------------------------------------------------------------------

def sam_optimizer(torch):
    class SAM(torch.optim.Optimizer):
        def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
            assert rho >= 0.0, f"Invalid rho, should be non-negative: {rho}"

            defaults = dict(rho=rho, adaptive=adaptive, **kwargs)
            super(SAM, self).__init__(params, defaults)  # noqa: UP008

            self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
            self.param_groups = self.base_optimizer.param_groups
            self.defaults.update(self.base_optimizer.defaults)

        @torch.no_grad()
        def first_step(self, zero_grad=False):
            grad_norm = self._grad_norm()
            for group in self.param_groups:
                scale = group["rho"] / (grad_norm + 1e-12)

                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self.state[p]["old_p"] = p.data.clone()
                    e_w = (torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                    p.add_(e_w)  # climb to the local maximum "w + e(w)"

            if zero_grad:
                self.zero_grad()

        @torch.no_grad()
        def second_step(self, zero_grad=False):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.data = self.state[p]["old_p"]  # get back to "w" from "w + e(w)"

            self.base_optimizer.step()  # do the actual "sharpness-aware" update

            if zero_grad:
                self.zero_grad()

        @torch.no_grad()
        def step(self, closure=None):
            assert closure is not None, \
                "Sharpness Aware Minimization requires closure, but it was not provided"
            closure = torch.enable_grad()(closure)  # the closure should do a full forward-backward

            self.first_step(zero_grad=True)
            closure()
            self.second_step()

        def _grad_norm(self):
            shared_device = self.param_groups[0]["params"][0].device
            norm = torch.norm(
                torch.stack([
                    ((torch.abs(p) if group["adaptive"] else 1.0) * p.grad).norm(p=2)
                    .to(shared_device)
                    for group in self.param_groups for p in group["params"]
                    if p.grad is not None
                ]),
                p=2
            )
            return norm

        def load_state_dict(self, state_dict):
            super().load_state_dict(state_dict)
            self.base_optimizer.param_groups = self.param_groups

    return SAM


def sam_net(torch, width=8, classes=3):
    nn = torch.nn
    return nn.Sequential(nn.Linear(4, width), nn.BatchNorm1d(width), nn.ReLU(),
                         nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(),
                         nn.Linear(width, classes))


def smooth_crossentropy(torch, pred, gold, smoothing=0.1):
    F = torch.nn.functional
    n_class = pred.size(1)

    one_hot = torch.full_like(pred, fill_value=smoothing / (n_class - 1))
    one_hot.scatter_(dim=1, index=gold.unsqueeze(1), value=1.0 - smoothing)
    log_prob = F.log_softmax(pred, dim=1)

    return F.kl_div(input=log_prob, target=one_hot, reduction="none").sum(-1)


def disable_running_stats(torch, model):
    def _disable(module):
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.backup_momentum = module.momentum
            module.momentum = 0

    model.apply(_disable)


def enable_running_stats(torch, model):
    def _enable(module):
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and \
                hasattr(module, "backup_momentum"):
            module.momentum = module.backup_momentum

    model.apply(_enable)


class StepLR:
    def __init__(self, optimizer, learning_rate, total_epochs):
        self.optimizer = optimizer
        self.total_epochs = total_epochs
        self.base = learning_rate

    def __call__(self, epoch):
        if epoch < self.total_epochs * 3 / 10:
            lr = self.base
        elif epoch < self.total_epochs * 6 / 10:
            lr = self.base * 0.2
        elif epoch < self.total_epochs * 8 / 10:
            lr = self.base * 0.2 ** 2
        else:
            lr = self.base * 0.2 ** 3

        for param_group in self.optimizer.param_groups:
            param_group["lr"] = lr

    def lr(self):
        return self.optimizer.param_groups[0]["lr"]


def train_sam(torch, model, batches, epochs=4, adaptive=True, rho=2.0, use_closure=False):
    """The repository's train.py loop (two steps by hand), or ``optimizer.step(closure)``."""
    SAM = sam_optimizer(torch)
    optimizer = SAM(model.parameters(), torch.optim.SGD, rho=rho, adaptive=adaptive, lr=0.1,
                    momentum=0.9, weight_decay=5e-4)
    scheduler = StepLR(optimizer, 0.1, epochs)
    losses, lrs = [], []
    for epoch in range(epochs):
        model.train()
        for inputs, targets in batches:
            if use_closure:
                def closure(inputs=inputs, targets=targets):
                    loss = smooth_crossentropy(torch, model(inputs), targets).mean()
                    loss.backward()
                    return loss

                loss = smooth_crossentropy(torch, model(inputs), targets).mean()
                loss.backward()
                optimizer.step(closure)
                optimizer.zero_grad()
            else:
                # first forward-backward step
                enable_running_stats(torch, model)
                predictions = model(inputs)
                loss = smooth_crossentropy(torch, predictions, targets, smoothing=0.1)
                loss.mean().backward()
                optimizer.first_step(zero_grad=True)

                # second forward-backward step
                disable_running_stats(torch, model)
                smooth_crossentropy(torch, model(inputs), targets, smoothing=0.1).mean().backward()
                optimizer.second_step(zero_grad=True)
            with torch.no_grad():
                losses.append(loss.mean().item())
        lrs.append(scheduler.lr())
        scheduler(epoch)
    model.eval()
    with torch.no_grad():
        out = model(batches[0][0])
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()
             if v.is_floating_point()}
    restored = SAM(model.parameters(), torch.optim.SGD, rho=rho, adaptive=adaptive, lr=0.1,
                   momentum=0.9)
    restored.load_state_dict(optimizer.state_dict())
    same_groups = restored.base_optimizer.param_groups is restored.param_groups
    return losses, lrs, out.numpy().copy(), state, same_groups


# --- center loss (KaiyangZhou/pytorch-center-loss) ------------------------------------------------

def center_loss(torch, num_classes=3, feat_dim=2):
    nn = torch.nn

    class CenterLoss(nn.Module):
        """Center loss.

        Reference:
        Wen et al. A Discriminative Feature Learning Approach for Deep Face Recognition. ECCV 2016.

        Args:
            num_classes (int): number of classes.
            feat_dim (int): feature dimension.
        """

        def __init__(self, num_classes=10, feat_dim=2, use_gpu=False):
            super(CenterLoss, self).__init__()  # noqa: UP008
            self.num_classes = num_classes
            self.feat_dim = feat_dim
            self.use_gpu = use_gpu

            if self.use_gpu:
                self.centers = nn.Parameter(torch.randn(self.num_classes, self.feat_dim).cuda())
            else:
                self.centers = nn.Parameter(torch.randn(self.num_classes, self.feat_dim))

        def forward(self, x, labels):
            """
            Args:
                x: feature matrix with shape (batch_size, feat_dim).
                labels: ground truth labels with shape (batch_size).
            """
            batch_size = x.size(0)
            distmat = torch.pow(x, 2).sum(dim=1, keepdim=True).expand(
                batch_size, self.num_classes) + \
                torch.pow(self.centers, 2).sum(dim=1, keepdim=True).expand(
                    self.num_classes, batch_size).t()
            distmat.addmm_(x, self.centers.t(), beta=1, alpha=-2)

            classes = torch.arange(self.num_classes).long()
            if self.use_gpu:
                classes = classes.cuda()
            labels = labels.unsqueeze(1).expand(batch_size, self.num_classes)
            mask = labels.eq(classes.expand(batch_size, self.num_classes))

            dist = distmat * mask.float()
            loss = dist.clamp(min=1e-12, max=1e+12).sum() / batch_size

            return loss

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(4, 8), nn.PReLU(), nn.Linear(8, feat_dim))
            self.fc = nn.Linear(feat_dim, num_classes)

        def forward(self, x):
            feats = self.features(x)
            return feats, self.fc(feats)

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = Net()
            self.criterion_cent = CenterLoss(num_classes=num_classes, feat_dim=feat_dim)

    return Both()


def train_center_loss(torch, both, batches, epochs=3, weight_cent=0.5):
    model, criterion_cent = both.model, both.criterion_cent
    criterion_xent = torch.nn.CrossEntropyLoss()
    optimizer_model = torch.optim.SGD(model.parameters(), lr=0.05, weight_decay=5e-04,
                                      momentum=0.9)
    optimizer_centloss = torch.optim.SGD(criterion_cent.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer_model, step_size=2, gamma=0.5)
    losses = []
    for _ in range(epochs):
        correct, total = 0, 0
        for data, labels in batches:
            features, outputs = model(data)
            loss_xent = criterion_xent(outputs, labels)
            loss_cent = criterion_cent(features, labels)
            loss_cent *= weight_cent
            loss = loss_xent + loss_cent
            optimizer_model.zero_grad()
            optimizer_centloss.zero_grad()
            loss.backward()
            optimizer_model.step()
            # by doing so, weight_cent would not impact on the learning of centers
            for param in criterion_cent.parameters():
                param.grad.data *= (1. / weight_cent)
            optimizer_centloss.step()

            predictions = outputs.data.max(1)[1]
            total += labels.size(0)
            correct += (predictions == labels.data).sum()
            losses.append((loss.item(), loss_xent.item(), loss_cent.item()))
        scheduler.step()
    return losses, int(correct), {k: v.detach().numpy().copy()
                                  for k, v in both.state_dict().items()}


# --- pytorch-fm DeepFM ----------------------------------------------------------------------------

def deepfm(torch, field_dims=(3, 4, 2), embed_dim=4, mlp_dims=(8, 4), dropout=0.0):
    nn = torch.nn

    class FeaturesLinear(nn.Module):
        def __init__(self, field_dims, output_dim=1):
            super().__init__()
            self.fc = torch.nn.Embedding(sum(field_dims), output_dim)
            self.bias = torch.nn.Parameter(torch.zeros((output_dim,)))
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int_)

        def forward(self, x):
            """:param x: Long tensor of size ``(batch_size, num_fields)``"""
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return torch.sum(self.fc(x), dim=1) + self.bias

    class FeaturesEmbedding(nn.Module):
        def __init__(self, field_dims, embed_dim):
            super().__init__()
            self.embedding = torch.nn.Embedding(sum(field_dims), embed_dim)
            self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int_)
            torch.nn.init.xavier_uniform_(self.embedding.weight.data)

        def forward(self, x):
            x = x + x.new_tensor(self.offsets).unsqueeze(0)
            return self.embedding(x)

    class FactorizationMachine(nn.Module):
        def __init__(self, reduce_sum=True):
            super().__init__()
            self.reduce_sum = reduce_sum

        def forward(self, x):
            """:param x: Float tensor of size ``(batch_size, num_fields, embed_dim)``"""
            square_of_sum = torch.sum(x, dim=1) ** 2
            sum_of_square = torch.sum(x ** 2, dim=1)
            ix = square_of_sum - sum_of_square
            if self.reduce_sum:
                ix = torch.sum(ix, dim=1, keepdim=True)
            return 0.5 * ix

    class MultiLayerPerceptron(nn.Module):
        def __init__(self, input_dim, embed_dims, dropout, output_layer=True):
            super().__init__()
            layers = list()
            for embed_dim in embed_dims:
                layers.append(torch.nn.Linear(input_dim, embed_dim))
                layers.append(torch.nn.BatchNorm1d(embed_dim))
                layers.append(torch.nn.ReLU())
                layers.append(torch.nn.Dropout(p=dropout))
                input_dim = embed_dim
            if output_layer:
                layers.append(torch.nn.Linear(input_dim, 1))
            self.mlp = torch.nn.Sequential(*layers)

        def forward(self, x):
            return self.mlp(x)

    class DeepFactorizationMachineModel(nn.Module):
        """A pytorch implementation of DeepFM."""

        def __init__(self, field_dims, embed_dim, mlp_dims, dropout):
            super().__init__()
            self.linear = FeaturesLinear(field_dims)
            self.fm = FactorizationMachine(reduce_sum=True)
            self.embedding = FeaturesEmbedding(field_dims, embed_dim)
            self.embed_output_dim = len(field_dims) * embed_dim
            self.mlp = MultiLayerPerceptron(self.embed_output_dim, mlp_dims, dropout)

        def forward(self, x):
            embed_x = self.embedding(x)
            x = self.linear(x) + self.fm(embed_x) + self.mlp(embed_x.view(-1,
                                                                        self.embed_output_dim))
            return torch.sigmoid(x.squeeze(1))

    return DeepFactorizationMachineModel(list(field_dims), embed_dim, list(mlp_dims), dropout)


def train_deepfm(torch, model, data_loader, epochs=3):
    criterion = torch.nn.BCELoss()
    optimizer = torch.optim.Adam(params=model.parameters(), lr=0.01, weight_decay=1e-6)
    losses = []
    for _ in range(epochs):
        model.train()
        total_loss = 0
        for i, (fields, target) in enumerate(data_loader):  # noqa: B007 - i counts the batches
            y = model(fields)
            loss = criterion(y, target.float())
            model.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
        losses.append(total_loss / (i + 1))
    model.eval()
    targets, predicts = list(), list()
    with torch.no_grad():
        for fields, target in data_loader:
            y = model(fields)
            targets.extend(target.tolist())
            predicts.extend(y.tolist())
    return losses, targets, predicts
