"""PyTorch-style programs of the schedulers, optimizers and nn.utils added together (spectral
norm, RAdam/NAdam, ChainedScheduler, CyclicLR, parameters_to_vector, get_total_norm), written
once and run with ``torch`` = PyTorch or chainrule."""

from __future__ import annotations


def discriminator(torch):
    """A small GAN discriminator, every weight layer spectrally normalized."""
    nn = torch.nn
    sn = nn.utils.spectral_norm
    return nn.Sequential(sn(nn.Conv2d(1, 4, 3, stride=2, padding=1)), nn.LeakyReLU(0.2),
                         sn(nn.Conv2d(4, 4, 3, stride=2, padding=1)), nn.LeakyReLU(0.2),
                         nn.Flatten(), sn(nn.Linear(4 * 2 * 2, 1)))


def train_discriminator(torch, model, real, fake, steps=8):
    """RAdam with decoupled weight decay under a ChainedScheduler; the norm of the gradients by
    get_total_norm, clipped with clip_grads_with_norm_."""
    real, fake = torch.from_numpy(real), torch.from_numpy(fake)
    optimizer = torch.optim.RAdam(model.parameters(), lr=2e-3, betas=(0.5, 0.999),
                                  weight_decay=0.01, decoupled_weight_decay=True)
    sched = torch.optim.lr_scheduler
    scheduler = sched.ChainedScheduler([sched.ConstantLR(optimizer, 0.5, total_iters=3),
                                        sched.ExponentialLR(optimizer, gamma=0.9)])
    criterion = torch.nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(real.shape[0], 1), torch.zeros(fake.shape[0], 1)
    losses, rates, norms = [], [], []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(model(real), ones) + criterion(model(fake), zeros)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads, 2.0)
        torch.nn.utils.clip_grads_with_norm_(model.parameters(), 0.5, norm)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        rates.append(optimizer.param_groups[0]["lr"])
        norms.append(float(norm))
    model.eval()
    with torch.no_grad():
        scores = model(real).squeeze(1).tolist()
    vector = torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy()
    return losses, rates, norms, scores, vector


def regressor(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def train_cyclic(torch, model, x, y, steps=12):
    """NAdam with momentum_decay, its beta1 cycled by CyclicLR (triangular2), one step a batch."""
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.NAdam(model.parameters(), lr=0.01, momentum_decay=0.01)
    scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=0.005, max_lr=0.05,
                                                  step_size_up=3, mode="triangular2",
                                                  base_momentum=0.8, max_momentum=0.95)
    losses, rates, betas = [], [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        rates.append(optimizer.param_groups[0]["lr"])
        betas.append(optimizer.param_groups[0]["betas"][0])
    return losses, rates, betas
