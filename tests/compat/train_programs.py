"""A PyTorch training script of the training utilities (LBFGS, gradient checkpointing,
GradScaler, autocast switched off, SWA with update_bn), written once and run with ``torch`` =
PyTorch or chainrule."""

from __future__ import annotations


def regressor(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 16),
                         nn.Tanh(), nn.Linear(16, 1)).double()


def fit(torch, model, x, y, use_amp=False, epochs=3, batch=8):
    """LBFGS on the full batch through a checkpointed model, then SGD with (optional) loss
    scaling and a checkpoint_sequential forward, averaged by SWA; BN statistics by update_bn."""
    from_numpy, F = torch.from_numpy, torch.nn.functional
    checkpoint = torch.utils.checkpoint.checkpoint
    checkpoint_sequential = torch.utils.checkpoint.checkpoint_sequential
    swa_utils = torch.optim.swa_utils
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True)
    x, y = from_numpy(x), from_numpy(y)
    model.train()

    lbfgs = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=5, history_size=4,
                              line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        loss = F.mse_loss(checkpoint(model, x, use_reentrant=False), y)
        loss.backward()
        return loss

    lbfgs_losses = [lbfgs.step(closure).item() for _ in range(2)]

    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3, enabled=use_amp)
    swa_model = swa_utils.AveragedModel(model)
    swa_scheduler = swa_utils.SWALR(optimizer, swa_lr=0.01, anneal_epochs=2)
    epoch_losses, rates = [], []
    for _ in range(epochs):
        total = 0.0
        for i in range(0, len(x), batch):
            optimizer.zero_grad()
            with torch.autocast("cpu", enabled=False):
                out = checkpoint_sequential(model, 2, x[i:i + batch], use_reentrant=False)
                loss = F.mse_loss(out, y[i:i + batch])
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            scaler.step(optimizer)
            scaler.update()
            total += loss.item()
        swa_model.update_parameters(model)
        swa_scheduler.step()
        epoch_losses.append(total)
        rates.append(optimizer.param_groups[0]["lr"])
    swa_utils.update_bn([(x[i:i + batch], 0) for i in range(0, len(x), batch)], swa_model)
    swa_model.eval()
    with torch.no_grad():
        predictions = swa_model(x).squeeze(1).tolist()
    return lbfgs_losses, epoch_losses, rates, predictions, scaler.get_scale()
