"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port10_programs.py): the FGSM adversarial-example tutorial (a per-example test loop over
a ``DataLoader`` of batch 1, ``data.grad.data``, ``sign``, ``clamp``, de- and re-normalization,
``.item()`` comparisons), "fast is better than free" adversarial training (a persistent ``delta``
rewritten through ``delta.data = ...`` and ``delta.data[:n] = ...``, ``uniform_`` on channel
slices, ``CyclicLR``, PGD with restarts, ``torch.where(cond)`` index tuples, boolean-mask writes),
and Hinton's forward-forward algorithm as pytorch/examples writes it (``nn.Linear`` subclasses that
own an optimizer and override ``train``, layers in a plain list, label overlay by
``x_[range(n), y] = x.max()``, ``x.norm(2, 1, keepdim=True)``, goodness summed by Python's
``sum``).
"""

from __future__ import annotations


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# --- the FGSM tutorial ------------------------------------------------------------------------

def fgsm_net(torch):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 6, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(24, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return Net()


def fgsm_attack(torch, image, epsilon, data_grad):
    sign_data_grad = data_grad.sign()
    perturbed_image = image + epsilon * sign_data_grad
    perturbed_image = torch.clamp(perturbed_image, 0, 1)
    return perturbed_image


def denorm(torch, batch, mean=(0.1307,), std=(0.3081,)):
    if isinstance(mean, list) or isinstance(mean, tuple):
        mean = torch.tensor(mean, dtype=batch.dtype)
    if isinstance(std, list) or isinstance(std, tuple):
        std = torch.tensor(std, dtype=batch.dtype)
    return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)


def normalize(torch, batch, mean=(0.1307,), std=(0.3081,)):
    """What ``transforms.Normalize`` does to a batch."""
    mean = torch.as_tensor(mean, dtype=batch.dtype)
    std = torch.as_tensor(std, dtype=batch.dtype)
    return (batch - mean[None, :, None, None]) / std[None, :, None, None]


def fgsm_test(torch, model, device, test_loader, epsilon):
    F = torch.nn.functional  # noqa: N806
    correct = 0
    adv_examples = []
    for data, target in test_loader:
        data, target = data.to(device), target.to(device)
        data.requires_grad = True
        output = model(data)
        init_pred = output.max(1, keepdim=True)[1]
        if init_pred.item() != target.item():
            continue
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        data_grad = data.grad.data
        data_denorm = denorm(torch, data)
        perturbed_data = fgsm_attack(torch, data_denorm, epsilon, data_grad)
        perturbed_data_normalized = normalize(torch, perturbed_data)
        output = model(perturbed_data_normalized)
        final_pred = output.max(1, keepdim=True)[1]
        if final_pred.item() == target.item():
            correct += 1
            if epsilon == 0 and len(adv_examples) < 3:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
        else:
            if len(adv_examples) < 3:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
    final_acc = correct / float(len(test_loader))
    return final_acc, adv_examples


def run_fgsm(torch, model, images, labels, epsilons=(0, 0.05, 0.1, 0.3)):
    utils_data = torch.utils.data
    device = torch.device("cpu")
    loader = utils_data.DataLoader(utils_data.TensorDataset(images, labels), batch_size=1,
                                   shuffle=False)
    model.eval()
    accuracies, examples = [], []
    for eps in epsilons:
        acc, ex = fgsm_test(torch, model, device, loader, eps)
        accuracies.append(acc)
        examples.append(ex)
    return accuracies, examples


# --- fast adversarial training (FGSM with a persistent delta) ---------------------------------

def preact_net(torch, classes=3, width=4):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class PreActBlock(nn.Module):
        expansion = 1

        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(in_planes)
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                                   bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride,
                              bias=False))

        def forward(self, x):
            out = F.relu(self.bn1(x))
            shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
            out = self.conv1(out)
            out = self.conv2(F.relu(self.bn2(out)))
            out += shortcut
            return out

    class PreActResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
            self.layer1 = PreActBlock(width, width)
            self.layer2 = PreActBlock(width, 2 * width, stride=2)
            self.bn = nn.BatchNorm2d(2 * width)
            self.linear = nn.Linear(2 * width, classes)

        def forward(self, x):
            out = self.conv1(x)
            out = self.layer2(self.layer1(out))
            out = F.relu(self.bn(out))
            out = F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    return PreActResNet()


def clamp(torch, X, lower_limit, upper_limit):
    return torch.max(torch.min(X, upper_limit), lower_limit)


def attack_pgd(torch, model, X, y, epsilon, alpha, attack_iters, restarts, lower_limit,
               upper_limit):
    F = torch.nn.functional  # noqa: N806
    max_loss = torch.zeros(y.shape[0], dtype=X.dtype)
    max_delta = torch.zeros_like(X)
    for _zz in range(restarts):
        delta = torch.zeros_like(X)
        for i in range(len(epsilon)):
            delta[:, i, :, :].uniform_(-epsilon[i][0][0].item(), epsilon[i][0][0].item())
        delta.data = clamp(torch, delta, lower_limit - X, upper_limit - X)
        delta.requires_grad = True
        for _ in range(attack_iters):
            output = model(X + delta)
            index = torch.where(output.max(1)[1] == y)
            if len(index[0]) == 0:
                break
            loss = F.cross_entropy(output, y)
            loss.backward()
            grad = delta.grad.detach()
            d = delta[index[0], :, :, :]
            g = grad[index[0], :, :, :]
            d = clamp(torch, d + alpha * torch.sign(g), -epsilon, epsilon)
            d = clamp(torch, d, lower_limit - X[index[0], :, :, :],
                      upper_limit - X[index[0], :, :, :])
            delta.data[index[0], :, :, :] = d
            delta.grad.zero_()
        all_loss = F.cross_entropy(model(X + delta), y, reduction="none").detach()
        max_delta[all_loss >= max_loss] = delta.detach()[all_loss >= max_loss]
        max_loss = torch.max(max_loss, all_loss)
    return max_delta


def train_fast_fgsm(torch, model, batches, mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26),
                    eps=8, alpha=10, lr_max=0.2, epochs=2, delta_init="previous"):
    nn = torch.nn
    F = nn.functional  # noqa: N806
    dtype = batches[0][0].dtype
    mu = torch.tensor(mean, dtype=dtype).view(3, 1, 1)
    std = torch.tensor(std, dtype=dtype).view(3, 1, 1)
    upper_limit = (1 - mu) / std
    lower_limit = (0 - mu) / std
    epsilon = (eps / 255.0) / std
    alpha = (alpha / 255.0) / std
    opt = torch.optim.SGD(model.parameters(), lr=lr_max, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    lr_steps = epochs * len(batches)
    scheduler = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=0, max_lr=lr_max,
                                                  step_size_up=lr_steps / 2,
                                                  step_size_down=lr_steps / 2)
    delta = torch.zeros(len(batches[0][0]), 3, 8, 8, dtype=dtype)
    delta.requires_grad = True
    losses, lrs = [], []
    for epoch in range(epochs):  # noqa: B007 - as the source writes it
        model.train()
        train_loss, train_acc, train_n = 0, 0, 0
        for i, (X, y) in enumerate(batches):  # noqa: B007 - as the source writes it
            if delta_init != "previous":
                delta.data.zero_()
            delta.requires_grad = True
            output = model(X + delta[:X.size(0)])
            loss = F.cross_entropy(output, y)
            loss.backward()
            grad = delta.grad.detach()
            delta.data = clamp(torch, delta + alpha * torch.sign(grad), -epsilon, epsilon)
            delta.data[:X.size(0)] = clamp(torch, delta[:X.size(0)], lower_limit - X,
                                           upper_limit - X)
            delta = delta.detach()
            output = model(X + delta[:X.size(0)])
            loss = criterion(output, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            train_loss += loss.item() * y.size(0)
            train_acc += (output.max(1)[1] == y).sum().item()
            train_n += y.size(0)
            lrs.append(scheduler.get_last_lr()[0])
            scheduler.step()
        losses.append((train_loss / train_n, train_acc / train_n))
    model.eval()
    X, y = batches[0]
    pgd_delta = attack_pgd(torch, model, X, y, epsilon, alpha / 4, attack_iters=3, restarts=2,
                           lower_limit=lower_limit, upper_limit=upper_limit)
    with torch.no_grad():
        output = model(X + pgd_delta)
        pgd_loss = F.cross_entropy(output, y).item()
        pgd_acc = (output.max(1)[1] == y).sum().item()
    return losses, lrs, pgd_delta.numpy(), pgd_loss, pgd_acc, _state(model)


# --- the forward-forward algorithm ------------------------------------------------------------

def overlay_y_on_x(x, y):
    """Replace the first 10 pixels of data [x] with one-hot-encoded label [y]."""
    x_ = x.clone()
    x_[:, :10] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


def ff_net(torch, dims=(16, 12, 12), num_epochs=5):
    nn = torch.nn
    Adam = torch.optim.Adam  # noqa: N806

    class Layer(nn.Linear):
        def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
            super().__init__(in_features, out_features, bias, device, dtype)
            self.relu = torch.nn.ReLU()
            self.opt = Adam(self.parameters(), lr=0.03)
            self.threshold = 2.0
            self.num_epochs = num_epochs

        def forward(self, x):
            x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
            return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

        def train(self, x_pos, x_neg):
            for i in range(self.num_epochs):  # noqa: B007 - as the source writes it
                g_pos = self.forward(x_pos).pow(2).mean(1)
                g_neg = self.forward(x_neg).pow(2).mean(1)
                loss = torch.log(1 + torch.exp(torch.cat([
                    -g_pos + self.threshold,
                    g_neg - self.threshold]))).mean()
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
            return self.forward(x_pos).detach(), self.forward(x_neg).detach()

    class Net(torch.nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.layers = []
            for d in range(len(dims) - 1):
                self.layers += [Layer(dims[d], dims[d + 1], dtype=torch.float64)]

        def predict(self, x):
            goodness_per_label = []
            for label in range(10):
                h = overlay_y_on_x(x, label)
                goodness = []
                for layer in self.layers:
                    h = layer(h)
                    goodness += [h.pow(2).mean(1)]
                goodness_per_label += [sum(goodness).unsqueeze(1)]
            goodness_per_label = torch.cat(goodness_per_label, 1)
            return goodness_per_label.argmax(1)

        def train(self, x_pos, x_neg):
            h_pos, h_neg = x_pos, x_neg
            for i, layer in enumerate(self.layers):  # noqa: B007 - as the source writes it
                h_pos, h_neg = layer.train(h_pos, h_neg)

    return Net(dims)


def train_ff(torch, net, x, y, x_te, y_te, rnd):
    x_pos = overlay_y_on_x(x, y)
    x_neg = overlay_y_on_x(x, y[rnd])
    net.train(x_pos, x_neg)
    train_error = 1.0 - net.predict(x).eq(y).float().mean().item()
    test_error = 1.0 - net.predict(x_te).eq(y_te).float().mean().item()
    weights = [(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy())
               for layer in net.layers]
    return train_error, test_error, net.predict(x_te).numpy(), weights
