"""More public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port11_programs.py): Deep Embedded Clustering as pt-dec writes it (Student-t soft
assignments against a ``Parameter`` of centres, centres written through
``model.state_dict()[...].copy_``, a hand-written k-means by ``cdist``/``argmin``/``index_add_``,
``KLDivLoss(size_average=False)``, a target distribution by ``.t()`` broadcasting, the share of
changed labels as a stopping rule), and a Keras-style training loop with torchmetrics-like metric
modules (counters in ``register_buffer`` updated in place, a confusion matrix by ``bincount``,
macro F1, ``ReduceLROnPlateau(mode='max')``, early stopping on a ``copy.deepcopy`` of the best
``state_dict``, ``clip_grad_value_``, ``RMSprop(centered=True)``), and PyTorch-GAN's
conditional GAN (label ``nn.Embedding`` concatenated to the noise, ``*block(...)`` layer lists
with the ``BatchNorm1d(out_feat, 0.8)`` eps, legacy ``Variable``, ``torch.FloatTensor``/
``LongTensor`` built from NumPy arrays and shapes, ``imgs.type(FloatTensor)``, ``fill_``, an
LSGAN ``MSELoss``, in float32 as the script runs).
"""

from __future__ import annotations

import copy

import numpy as np


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# --- Deep Embedded Clustering (pt-dec) ---------------------------------------------------------

def dec(torch, n_in=6, hidden=5, embed=2, clusters=3, alpha=1.0):
    nn = torch.nn

    class ClusterAssignment(nn.Module):
        def __init__(self, cluster_number, embedding_dimension, alpha=1.0, cluster_centers=None):
            super().__init__()
            self.embedding_dimension = embedding_dimension
            self.cluster_number = cluster_number
            self.alpha = alpha
            if cluster_centers is None:
                initial_cluster_centers = torch.zeros(
                    self.cluster_number, self.embedding_dimension, dtype=torch.float)
                nn.init.xavier_uniform_(initial_cluster_centers)
            else:
                initial_cluster_centers = cluster_centers
            self.cluster_centers = nn.Parameter(initial_cluster_centers)

        def forward(self, batch):
            norm_squared = torch.sum((batch.unsqueeze(1) - self.cluster_centers) ** 2, 2)
            numerator = 1.0 / (1.0 + (norm_squared / self.alpha))
            power = float(self.alpha + 1) / 2
            numerator = numerator ** power
            return numerator / torch.sum(numerator, dim=1, keepdim=True)

    class DEC(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(),
                                         nn.Linear(hidden, embed))
            self.decoder = nn.Sequential(nn.Linear(embed, hidden), nn.ReLU(),
                                         nn.Linear(hidden, n_in))
            self.cluster_number = clusters
            self.assignment = ClusterAssignment(clusters, embed, alpha)

        def forward(self, batch):
            return self.assignment(self.encoder(batch))

    return DEC()


def target_distribution(torch, batch):
    weight = (batch ** 2) / torch.sum(batch, 0)
    return (weight.t() / torch.sum(weight, 1)).t()


def kmeans(torch, features, k, init_idx, iters=5):
    """Lloyd's algorithm from fixed starting rows (sklearn's KMeans in the original)."""
    centers = features[init_idx].clone()
    for _ in range(iters):
        labels = torch.cdist(features, centers).argmin(dim=1)
        sums = torch.zeros_like(centers).index_add_(0, labels, features)
        counts = torch.bincount(labels, minlength=k).clamp(min=1).unsqueeze(1)
        centers = sums / counts.to(features.dtype)
    return torch.cdist(features, centers).argmin(dim=1), centers


def train_dec(torch, model, x, init_idx, pretrain_steps=4, epochs=3, batch_size=4, tol=0.0):
    nn = torch.nn
    data = torch.utils.data
    loader = data.DataLoader(data.TensorDataset(x), batch_size=batch_size, shuffle=False)
    # autoencoder pretraining
    ae_params = list(model.encoder.parameters()) + list(model.decoder.parameters())
    ae_opt = torch.optim.SGD(ae_params, lr=0.1, momentum=0.9)
    ae_losses = []
    for _ in range(pretrain_steps):
        for (batch,) in loader:
            loss = nn.functional.mse_loss(model.decoder(model.encoder(batch)), batch)
            ae_opt.zero_grad()
            loss.backward()
            ae_opt.step(closure=None)
            ae_losses.append(float(loss.item()))
    # k-means on the embedding sets the centres
    with torch.no_grad():
        features = torch.cat([model.encoder(batch) for (batch,) in loader])
    predicted, centers = kmeans(torch, features, model.cluster_number, init_idx)
    predicted_previous = torch.tensor(predicted.numpy().copy(), dtype=torch.long)
    cluster_centers = torch.tensor(centers.numpy(), dtype=torch.double, requires_grad=True)
    with torch.no_grad():
        model.state_dict()["assignment.cluster_centers"].copy_(cluster_centers)
    loss_function = nn.KLDivLoss(size_average=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses, deltas = [], []
    for _epoch in range(epochs):
        model.train()
        for (batch,) in loader:
            output = model(batch)
            target = target_distribution(torch, output).detach()
            loss = loss_function(output.log(), target) / output.shape[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step(closure=None)
            losses.append(float(loss.item()))
        with torch.no_grad():
            predicted = torch.cat([model(batch).max(1)[1] for (batch,) in loader])
        delta_label = float((predicted != predicted_previous).float().sum().item()) / \
            predicted_previous.shape[0]
        deltas.append(delta_label)
        predicted_previous = predicted
        if delta_label < tol:
            break
    counts = torch.unique(predicted, return_counts=True)
    return (ae_losses, losses, deltas, predicted.tolist(),
            [c.tolist() for c in counts], _state(model))


# --- a Keras-style loop with torchmetrics-like metrics -----------------------------------------

def metric_modules(torch, num_classes):
    nn = torch.nn

    class MeanMetric(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("total", torch.tensor(0.0, dtype=torch.float64))
            self.register_buffer("weight", torch.tensor(0.0, dtype=torch.float64))

        def update(self, value, weight=1.0):
            self.total += value * weight
            self.weight += weight

        def compute(self):
            return self.total / self.weight

        def reset(self):
            self.total.zero_()
            self.weight.zero_()

    class ConfusionMetrics(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("confmat", torch.zeros(num_classes, num_classes,
                                                        dtype=torch.long))

        def update(self, preds, target):
            preds = preds.argmax(dim=-1) if preds.ndim == 2 else preds
            unique_mapping = target.view(-1) * num_classes + preds.view(-1)
            bins = torch.bincount(unique_mapping, minlength=num_classes ** 2)
            self.confmat += bins.reshape(num_classes, num_classes)

        def compute(self):
            tp = self.confmat.diag().double()
            acc = tp.sum() / self.confmat.sum()
            precision = tp / self.confmat.sum(0).double().clamp(min=1)
            recall = tp / self.confmat.sum(1).double().clamp(min=1)
            f1 = torch.where(precision + recall > 0,
                             2 * precision * recall / (precision + recall), torch.zeros_like(tp))
            return {"acc": acc, "f1": f1.mean()}

        def reset(self):
            self.confmat.fill_(0)

    return MeanMetric, ConfusionMetrics


def keras_net(torch, n_in=5, classes=3):
    nn = torch.nn
    return nn.Sequential(nn.Linear(n_in, 8), nn.BatchNorm1d(8), nn.GELU(), nn.Linear(8, classes))


def fit_keras_style(torch, model, train, val, epochs=5, patience=2):
    MeanMetric, ConfusionMetrics = metric_modules(torch, 3)  # noqa: N806
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, momentum=0.5, centered=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                           patience=0)
    metrics = {"train": (MeanMetric(), ConfusionMetrics()),
               "val": (MeanMetric(), ConfusionMetrics())}
    history, best_score, best_state, wait, logs = {}, -1.0, None, 0, []
    for epoch in range(epochs):
        for stage, loader in (("train", train), ("val", val)):
            model.train(stage == "train")
            mean, conf = metrics[stage]
            for x, y in loader:
                with torch.set_grad_enabled(stage == "train"):
                    preds = model(x)
                    loss = loss_fn(preds, y)
                if stage == "train":
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
                    optimizer.step()
                mean.update(loss.detach(), weight=x.shape[0])
                conf.update(preds.detach(), y)
            epoch_metrics = {k: v.item() for k, v in conf.compute().items()}
            epoch_metrics["loss"] = mean.compute().item()
            for name, value in epoch_metrics.items():
                history.setdefault(f"{stage}_{name}", []).append(value)
            mean.reset()
            conf.reset()
        score = history["val_acc"][-1] + history["val_f1"][-1]
        scheduler.step(score)
        logs.append(f"Epoch {epoch + 1}/{epochs} - loss: {history['train_loss'][-1]:.4f} - "
                    f"val_acc: {history['val_acc'][-1]:.4f} - lr: "
                    f"{optimizer.param_groups[0]['lr']:.5f}")
        if score > best_score:
            best_score, best_state, wait = score, copy.deepcopy(model.state_dict()), 0
        else:
            wait += 1
            if wait >= patience:
                break
    model.load_state_dict(best_state)
    return history, logs, best_score, _state(model)


# --- PyTorch-GAN's conditional GAN -------------------------------------------------------------

def cgan(torch, n_classes=3, latent_dim=4, img_shape=(1, 4, 4)):
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()  # noqa: UP008 - as the script writes it
            self.label_emb = nn.Embedding(n_classes, n_classes)

            def block(in_feat, out_feat, normalize=True):
                layers = [nn.Linear(in_feat, out_feat)]
                if normalize:
                    layers.append(nn.BatchNorm1d(out_feat, 0.8))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
                return layers

            self.model = nn.Sequential(
                *block(latent_dim + n_classes, 8, normalize=False),
                *block(8, 12),
                nn.Linear(12, int(np.prod(img_shape))),
                nn.Tanh(),
            )

        def forward(self, noise, labels):
            gen_input = torch.cat((self.label_emb(labels), noise), -1)
            img = self.model(gen_input)
            img = img.view(img.size(0), *img_shape)
            return img

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()  # noqa: UP008
            self.label_embedding = nn.Embedding(n_classes, n_classes)
            self.model = nn.Sequential(
                nn.Linear(n_classes + int(np.prod(img_shape)), 10),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(10, 10),
                nn.Dropout(0.4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(10, 1),
            )

        def forward(self, img, labels):
            d_in = torch.cat((img.view(img.size(0), -1), self.label_embedding(labels)), -1)
            validity = self.model(d_in)
            return validity

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.generator = Generator()
            self.discriminator = Discriminator()

    return Pair()


def train_cgan(torch, pair, dataloader, n_classes=3, latent_dim=4, n_epochs=2, seed=0):
    Variable = torch.autograd.Variable  # noqa: N806 - the script's legacy import

    np.random.seed(seed)
    generator, discriminator = pair.generator, pair.discriminator
    adversarial_loss = torch.nn.MSELoss()
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=0.002, betas=(0.5, 0.999))  # noqa: N806
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=0.002, betas=(0.5, 0.999))  # noqa: N806
    FloatTensor = torch.FloatTensor  # noqa: N806
    LongTensor = torch.LongTensor  # noqa: N806

    def sample_image(n_row):
        z = Variable(FloatTensor(np.random.normal(0, 1, (n_row ** 2, latent_dim))))
        labels = np.array([num for _ in range(n_row) for num in range(n_row)])
        labels = Variable(LongTensor(labels))
        gen_imgs = generator(z, labels)
        img = gen_imgs.data
        return ((img - img.min()) / (img.max() - img.min())).numpy().copy()  # normalize=True

    log = []
    for _epoch in range(n_epochs):
        for _i, (imgs, labels) in enumerate(dataloader):
            batch_size = imgs.shape[0]
            valid = Variable(FloatTensor(batch_size, 1).fill_(1.0), requires_grad=False)
            fake = Variable(FloatTensor(batch_size, 1).fill_(0.0), requires_grad=False)
            real_imgs = Variable(imgs.type(FloatTensor))
            labels = Variable(labels.type(LongTensor))

            optimizer_G.zero_grad()
            z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, latent_dim))))
            gen_labels = Variable(LongTensor(np.random.randint(0, n_classes, batch_size)))
            gen_imgs = generator(z, gen_labels)
            validity = discriminator(gen_imgs, gen_labels)
            g_loss = adversarial_loss(validity, valid)
            g_loss.backward()
            optimizer_G.step()

            optimizer_D.zero_grad()
            validity_real = discriminator(real_imgs, labels)
            d_real_loss = adversarial_loss(validity_real, valid)
            validity_fake = discriminator(gen_imgs.detach(), gen_labels)
            d_fake_loss = adversarial_loss(validity_fake, fake)
            d_loss = (d_real_loss + d_fake_loss) / 2
            d_loss.backward()
            optimizer_D.step()
            log.append((d_loss.item(), g_loss.item(), str(gen_imgs.dtype), str(d_loss.dtype)))
    generator.eval()
    return log, sample_image(3), _state(pair)
