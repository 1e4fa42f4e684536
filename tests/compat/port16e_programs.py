"""Wave-16 ports, part five, run with ``torch`` = PyTorch or chainrule (test_port16e_programs.py):
evidential deep learning as dougbrion/pytorch-classification-uncertainty trains it (Dirichlet
evidence, ``torch.lgamma``/``torch.digamma`` KL term annealed by ``torch.min`` of two float32
scalars, ``one_hot_embedding`` as ``torch.eye(n)[labels]``, ``torch.set_grad_enabled(phase ==
"train")``, ``StepLR``, the best weights kept by ``copy.deepcopy(model.state_dict())``), an
importance-weighted autoencoder (xqding's: noise from ``sigma.data.new(sigma.size()).normal_()``,
weights detached as ``Variable(weight.data, requires_grad=False)``, inputs ``expand``-ed to k
samples), a planar normalizing flow fitted to a two-moon energy (its log-det modules sharing the
flow's parameters, ``torch.Tensor(1, dim)`` made then ``uniform_``, ``RMSprop`` with an
``ExponentialLR`` stepped before the optimizer as the old code did), and 1Konny's beta-VAE
(``kaiming_init`` over ``self._modules``, a ``View`` module, ``binary_cross_entropy_with_logits(...,
size_average=False).div(batch_size)``, the capacity objective ``torch.clamp(C_max / stop * it, 0,
C_max.data[0])``).
"""

from __future__ import annotations

import copy

import numpy as np

# ---- evidential deep learning (dougbrion/pytorch-classification-uncertainty) ----


def edl_losses(torch):
    F = torch.nn.functional

    def relu_evidence(y):
        return F.relu(y)

    def kl_divergence(alpha, num_classes, device=None):
        ones = torch.ones([1, num_classes], dtype=torch.float32, device=device)
        sum_alpha = torch.sum(alpha, dim=1, keepdim=True)
        first_term = (
            torch.lgamma(sum_alpha)
            - torch.lgamma(alpha).sum(dim=1, keepdim=True)
            + torch.lgamma(ones).sum(dim=1, keepdim=True)
            - torch.lgamma(ones.sum(dim=1, keepdim=True))
        )
        second_term = (
            (alpha - ones)
            .mul(torch.digamma(alpha) - torch.digamma(sum_alpha))
            .sum(dim=1, keepdim=True)
        )
        kl = first_term + second_term
        return kl

    def loglikelihood_loss(y, alpha, device=None):
        y = y.to(device)
        alpha = alpha.to(device)
        S = torch.sum(alpha, dim=1, keepdim=True)
        loglikelihood_err = torch.sum((y - (alpha / S)) ** 2, dim=1, keepdim=True)
        loglikelihood_var = torch.sum(alpha * (S - alpha) / (S * S * (S + 1)), dim=1,
                                      keepdim=True)
        loglikelihood = loglikelihood_err + loglikelihood_var
        return loglikelihood

    def annealing(epoch_num, annealing_step):
        return torch.min(torch.tensor(1.0, dtype=torch.float32),
                         torch.tensor(epoch_num / annealing_step, dtype=torch.float32))

    def mse_loss(y, alpha, epoch_num, num_classes, annealing_step, device=None):
        loglikelihood = loglikelihood_loss(y, alpha, device=device)
        kl_alpha = (alpha - 1) * (1 - y) + 1
        kl_div = annealing(epoch_num, annealing_step) * kl_divergence(kl_alpha, num_classes,
                                                                      device=device)
        return loglikelihood + kl_div

    def edl_loss(func, y, alpha, epoch_num, num_classes, annealing_step, device=None):
        S = torch.sum(alpha, dim=1, keepdim=True)
        A = torch.sum(y * (func(S) - func(alpha)), dim=1, keepdim=True)
        kl_alpha = (alpha - 1) * (1 - y) + 1
        kl_div = annealing(epoch_num, annealing_step) * kl_divergence(kl_alpha, num_classes,
                                                                      device=device)
        return A + kl_div

    def edl_mse_loss(output, target, epoch_num, num_classes, annealing_step, device=None):
        alpha = relu_evidence(output) + 1
        return torch.mean(mse_loss(target, alpha, epoch_num, num_classes, annealing_step,
                                   device=device))

    def edl_log_loss(output, target, epoch_num, num_classes, annealing_step, device=None):
        alpha = relu_evidence(output) + 1
        return torch.mean(edl_loss(torch.log, target, alpha, epoch_num, num_classes,
                                   annealing_step, device))

    def edl_digamma_loss(output, target, epoch_num, num_classes, annealing_step, device=None):
        alpha = relu_evidence(output) + 1
        return torch.mean(edl_loss(torch.digamma, target, alpha, epoch_num, num_classes,
                                   annealing_step, device))

    return relu_evidence, {"mse": edl_mse_loss, "log": edl_log_loss,
                           "digamma": edl_digamma_loss}


def train_edl(torch, model, dataloaders, loss="digamma", num_classes=3, num_epochs=3):
    relu_evidence, losses = edl_losses(torch)
    criterion = losses[loss]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=0.005)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    device = torch.device("cpu")

    def one_hot_embedding(labels, num_classes=10):
        # Convert to One Hot Encoding
        y = torch.eye(num_classes)
        return y[labels]

    best_model_wts = copy.deepcopy(model.state_dict())
    best_acc = 0.0
    history, evidence_log = [], []
    for epoch in range(num_epochs):
        for phase in ["train", "val"]:
            model.train() if phase == "train" else model.eval()
            running_loss = 0.0
            running_corrects = 0
            evidences = []
            for inputs, labels in dataloaders[phase]:
                inputs, labels = inputs.to(device), labels.to(device)
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    y = one_hot_embedding(labels, num_classes)
                    y = y.to(device)
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, y.float(), epoch, num_classes, 10, device)
                    match = torch.reshape(torch.eq(preds, labels).float(), (-1, 1))
                    evidence = relu_evidence(outputs)
                    alpha = evidence + 1
                    u = num_classes / torch.sum(alpha, dim=1, keepdim=True)
                    total_evidence = torch.sum(evidence, 1, keepdim=True)
                    mean_evidence_succ = torch.sum(total_evidence * match) / torch.sum(
                        match + 1e-20)
                    evidences.append((u.mean().item(), mean_evidence_succ.item()))
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data)
            if phase == "train":
                scheduler.step()
            epoch_loss = running_loss / len(dataloaders[phase].dataset)
            epoch_acc = running_corrects.double() / len(dataloaders[phase].dataset)
            history.append((epoch_loss, epoch_acc.item()))
            evidence_log.append(evidences)
            if phase == "val" and epoch_acc > best_acc:
                best_acc = epoch_acc
                best_model_wts = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_model_wts)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    return history, evidence_log, float(best_acc), state


# ---- importance weighted autoencoder (xqding/Importance_Weighted_Autoencoders) ----

def iwae(torch, dim_h1=3, dim_image_vars=12, hidden=16):
    nn = torch.nn
    Variable = torch.autograd.Variable

    class BasicBlock(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim):
            super().__init__()
            self.transform = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Tanh(),
                                           nn.Linear(hidden_dim, hidden_dim), nn.Tanh())
            self.fc_mu = nn.Linear(hidden_dim, output_dim)
            self.fc_logsigma = nn.Linear(hidden_dim, output_dim)

        def forward(self, x):
            out = self.transform(x)
            mu = self.fc_mu(out)
            logsigma = self.fc_logsigma(out)
            sigma = torch.exp(logsigma)
            return mu, sigma

    class IWAE_1(nn.Module):  # noqa: N801 - the repository's name
        def __init__(self, dim_h1, dim_image_vars):
            super().__init__()
            self.encoder_h1 = BasicBlock(dim_image_vars, hidden, dim_h1)
            self.decoder_x = nn.Sequential(nn.Linear(dim_h1, hidden), nn.Tanh(),
                                           nn.Linear(hidden, hidden), nn.Tanh(),
                                           nn.Linear(hidden, dim_image_vars), nn.Sigmoid())

        def encoder(self, x):
            mu_h1, sigma_h1 = self.encoder_h1(x)
            eps = Variable(sigma_h1.data.new(sigma_h1.size()).normal_())
            h1 = mu_h1 + sigma_h1 * eps
            return h1, mu_h1, sigma_h1, eps

        def log_weights(self, inputs):
            h1, mu_h1, sigma_h1, eps = self.encoder(inputs)
            log_Qh1Gx = torch.sum(-0.5 * (eps) ** 2 - torch.log(sigma_h1), -1)
            p = self.decoder_x(h1)
            log_Ph1 = torch.sum(-0.5 * h1 ** 2, -1)
            log_PxGh1 = torch.sum(inputs * torch.log(p) + (1 - inputs) * torch.log(1 - p), -1)
            return log_Ph1 + log_PxGh1 - log_Qh1Gx

        def train_loss(self, inputs):
            log_weight = self.log_weights(inputs)
            log_weight_ = log_weight - torch.max(log_weight, 0)[0]
            weight = torch.exp(log_weight_)
            weight = weight / torch.sum(weight, 0)
            weight = Variable(weight.data, requires_grad=False)
            loss = -torch.mean(torch.sum(weight * log_weight, 0))
            return loss

        def test_loss(self, inputs):
            log_weight = self.log_weights(inputs)
            return -torch.mean(torch.logsumexp(log_weight, 0) - np.log(inputs.size(0)))

    return IWAE_1(dim_h1, dim_image_vars)


def train_iwae(torch, model, data, k=5, batch_size=4, epochs=2):
    optimizer = torch.optim.Adam(model.parameters(), eps=1e-4)
    history = []
    for _epoch in range(epochs):
        for start in range(0, data.size(0), batch_size):
            x = data[start:start + batch_size]
            inputs = x.expand(k, x.size(0), x.size(1))
            optimizer.zero_grad()
            loss = model.train_loss(inputs)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
    with torch.no_grad():
        test = model.test_loss(data.expand(k, data.size(0), data.size(1))).item()
    return history, test, {n: v.detach().numpy().copy() for n, v in model.state_dict().items()}


# ---- planar flow fitted to an unnormalized density (the potential U1 of Rezende & Mohamed) ----

def planar_flow(torch, dim=2, flow_length=4):
    nn, F = torch.nn, torch.nn.functional

    def safe_log(z):
        return torch.log(z + 1e-7)

    class PlanarFlow(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.Tensor(1, dim))
            self.bias = nn.Parameter(torch.Tensor(1))
            self.scale = nn.Parameter(torch.Tensor(1, dim))
            self.tanh = nn.Tanh()
            self.reset_parameters()

        def reset_parameters(self):
            self.weight.data.uniform_(-0.01, 0.01)
            self.scale.data.uniform_(-0.01, 0.01)
            self.bias.data.uniform_(-0.01, 0.01)

        def forward(self, z):
            activation = F.linear(z, self.weight, self.bias)
            return z + self.scale * self.tanh(activation)

    class PlanarFlowLogDetJacobian(nn.Module):
        """A helper class to compute the determinant of the gradient of the planar flow."""
        def __init__(self, affine):
            super().__init__()
            self.weight = affine.weight
            self.bias = affine.bias
            self.scale = affine.scale
            self.tanh = affine.tanh

        def forward(self, z):
            activation = F.linear(z, self.weight, self.bias)
            psi = (1 - self.tanh(activation) ** 2) * self.weight
            det_grad = 1 + torch.mm(psi, self.scale.t())
            return safe_log(det_grad.abs())

    class NormalizingFlow(nn.Module):
        def __init__(self, dim, flow_length):
            super().__init__()
            self.transforms = nn.Sequential(*(PlanarFlow(dim) for _ in range(flow_length)))
            self.log_jacobians = nn.Sequential(*(
                PlanarFlowLogDetJacobian(t) for t in self.transforms))

        def forward(self, z):
            log_jacobians = []
            for transform, log_jacobian in zip(self.transforms, self.log_jacobians):
                log_jacobians.append(log_jacobian(z))
                z = transform(z)
            zk = z
            return zk, log_jacobians

    return NormalizingFlow(dim, flow_length)


def train_planar_flow(torch, flow, iterations=6, batch_size=16, lr=0.05):
    Variable = torch.autograd.Variable

    def p_z(z):
        z1, z2 = torch.chunk(z, chunks=2, dim=1)
        norm = torch.sqrt(z1 ** 2 + z2 ** 2)
        exp1 = torch.exp(-0.5 * ((z1 - 2) / 0.6) ** 2)
        exp2 = torch.exp(-0.5 * ((z1 + 2) / 0.6) ** 2)
        u = 0.5 * ((norm - 2) / 0.4) ** 2 - torch.log(exp1 + exp2)
        return torch.exp(-u)

    def bound(zk, log_jacobians):
        sum_of_log_jacobians = sum(log_jacobians)
        return (-sum_of_log_jacobians - torch.log(p_z(zk) + 1e-7)).mean()

    def random_normal_samples(n, dim=2):
        return torch.zeros(n, dim).normal_(mean=0, std=1)

    optimizer = torch.optim.RMSprop(flow.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.95)
    losses = []
    for _iteration in range(iterations):
        scheduler.step()
        samples = Variable(random_normal_samples(batch_size))
        zk, log_jacobians = flow(samples)
        optimizer.zero_grad()
        loss = bound(zk, log_jacobians)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in flow.parameters()]


# ---- beta-VAE (1Konny/Beta-VAE: the H and B objectives), on 8x8 images ----

def beta_vae(torch, z_dim=3, nc=1):
    nn, init = torch.nn, torch.nn.init

    def kaiming_init(m):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            init.kaiming_normal(m.weight)
            if m.bias is not None:
                m.bias.data.fill_(0)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.weight.data.fill_(1)
            if m.bias is not None:
                m.bias.data.fill_(0)

    class View(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size = size

        def forward(self, tensor):
            return tensor.view(self.size)

    class BetaVAE_H(nn.Module):  # noqa: N801 - the repository's name
        """Model proposed in original beta-VAE paper (Higgins et al, ICLR, 2017)."""
        def __init__(self, z_dim=10, nc=3):
            super().__init__()
            self.z_dim = z_dim
            self.nc = nc
            self.encoder = nn.Sequential(
                nn.Conv2d(nc, 8, 4, 2, 1), nn.ReLU(True),  # B,  8,  4,  4
                nn.Conv2d(8, 16, 4, 2, 1), nn.ReLU(True),  # B, 16,  2,  2
                nn.Conv2d(16, 32, 2, 1), nn.ReLU(True),  # B, 32,  1,  1
                View((-1, 32 * 1 * 1)),  # B, 32
                nn.Linear(32, z_dim * 2))  # B, z_dim*2
            self.decoder = nn.Sequential(
                nn.Linear(z_dim, 32),  # B, 32
                View((-1, 32, 1, 1)), nn.ReLU(True),
                nn.ConvTranspose2d(32, 16, 2), nn.ReLU(True),  # B, 16, 2, 2
                nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ReLU(True),  # B, 8, 4, 4
                nn.ConvTranspose2d(8, nc, 4, 2, 1))  # B, nc, 8, 8
            self.weight_init()

        def weight_init(self):
            for block in self._modules:
                for m in self._modules[block]:
                    kaiming_init(m)

        def forward(self, x):
            distributions = self.encoder(x)
            mu = distributions[:, :self.z_dim]
            logvar = distributions[:, self.z_dim:]
            std = logvar.div(2).exp()
            eps = torch.autograd.Variable(std.data.new(std.size()).normal_())
            z = mu + std * eps
            x_recon = self.decoder(z).view(x.size())
            return x_recon, mu, logvar

    return BetaVAE_H(z_dim, nc)


def train_beta_vae(torch, net, data, objective="H", beta=4, gamma=10.0, C_max=2.0,
                   C_stop_iter=4, max_iter=6, batch_size=4, distribution="bernoulli"):
    F, Variable = torch.nn.functional, torch.autograd.Variable

    def reconstruction_loss(x, x_recon, distribution):
        batch_size = x.size(0)
        assert batch_size != 0
        if distribution == 'bernoulli':
            recon_loss = F.binary_cross_entropy_with_logits(x_recon, x, size_average=False) \
                .div(batch_size)
        elif distribution == 'gaussian':
            x_recon = F.sigmoid(x_recon)
            recon_loss = F.mse_loss(x_recon, x, size_average=False).div(batch_size)
        else:
            recon_loss = None
        return recon_loss

    def kl_divergence(mu, logvar):
        klds = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
        total_kld = klds.sum(1).mean(0, True)
        dimension_wise_kld = klds.mean(0)
        mean_kld = klds.mean(1).mean(0, True)
        return total_kld, dimension_wise_kld, mean_kld

    C_max = Variable(torch.FloatTensor([C_max]))
    optim = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999))
    history, global_iter = [], 0
    while global_iter < max_iter:
        for start in range(0, data.size(0), batch_size):
            global_iter += 1
            x = Variable(data[start:start + batch_size])
            x_recon, mu, logvar = net(x)
            recon_loss = reconstruction_loss(x, x_recon, distribution)
            total_kld, dim_wise_kld, mean_kld = kl_divergence(mu, logvar)
            if objective == 'H':
                beta_vae_loss = recon_loss + beta * total_kld
            else:
                C = torch.clamp(C_max / C_stop_iter * global_iter, 0, C_max.data[0])
                beta_vae_loss = recon_loss + gamma * (total_kld - C).abs()
            optim.zero_grad()
            beta_vae_loss.backward()
            optim.step()
            history.append((recon_loss.item(), total_kld.item(), beta_vae_loss.item()))
            if global_iter >= max_iter:
                break
    return history, dim_wise_kld.detach().numpy().copy(), {
        k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
