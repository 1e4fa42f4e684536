"""Adversarial training: the GANTrainer (one D step, then one G step per batch) and WGAN-GP.

The discriminator D learns to tell real images from generated ones; the generator G learns to fool
it. Each ``train_step`` first updates D on a real and a generated batch (G's output is computed
without a graph, so G is untouched), then updates G through a frozen D (D's parameters do not even
receive gradients). Losses, with logits d = D(x):

* "non_saturating" (default): D minimizes BCE(d_real, 1 - smoothing) + BCE(d_fake, 0); G minimizes
  BCE(D(G(z)), 1) = -log sigmoid(D(G(z))), which has strong gradients while D wins (Goodfellow
  et al. 2014, section 3).
* "minimax": G minimizes log(1 - sigmoid(D(G(z)))), the original saddle-point objective, whose
  gradient vanishes early in training: kept to show why the non-saturating loss is used.
* "wgan-gp": the critic D maximizes mean D(real) - mean D(fake) - lambda * GP, where
  GP = mean (||grad_x D(x_hat)|| - 1)^2 at random points x_hat between real and fake samples
  (Gulrajani et al. 2017); G minimizes -mean D(G(z)). The critic takes ``n_critic`` steps per G
  step.
"""

from __future__ import annotations

import contextlib

from ..autograd import Tensor, enable_grad, grad, no_grad
from ..backend import get_array_module
from ..data import as_generator
from ..data.arguments import check_bounds, check_int, check_number, check_within
from ..ops.loss import binary_cross_entropy_with_logits
from ..ops.reduce import mean
from ..ops.reduce import sum as _sum
from ..train import Trainer
from ..train._checks import training_mode

__all__ = ["GAN_LOSSES", "GANOptimizers", "GANTrainer", "frozen", "gradient_penalty"]

GAN_LOSSES = ("non_saturating", "minimax", "wgan-gp")


class GANOptimizers:
    """The two players' optimizers, saved and restored together, and the count of D steps taken.

    ``GANTrainer`` keeps this as its ``optimizer``, so the Trainer's checkpoints hold both states
    and a resumed run continues with the same alternation of critic and generator steps.
    """

    def __init__(self, generator, discriminator):
        for name, opt in (("generator", generator), ("discriminator", discriminator)):
            if not (hasattr(opt, "step") and hasattr(opt, "state_dict")):
                raise TypeError(f"GANOptimizers: {name} must be an optimizer, got "
                                f"{type(opt).__name__}")
        self.generator, self.discriminator = generator, discriminator
        self.d_steps = 0

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(),
                "discriminator": self.discriminator.state_dict(), "d_steps": self.d_steps}

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.d_steps = int(state["d_steps"])


@contextlib.contextmanager
def frozen(module):
    """Switch off ``requires_grad`` of ``module``'s parameters inside the block, then restore it."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p in params:
            p.requires_grad_(True)


def _call(critic, x, labels):
    return critic(x) if labels is None else critic(x, labels)


def gradient_penalty(critic, real, fake, *, labels=None, rng=None, alpha=None) -> Tensor:
    """WGAN-GP's penalty ``mean_i (||grad_x critic(x_hat_i)||_2 - 1)^2``.

    ``x_hat = alpha * real + (1 - alpha) * fake`` with one alpha ~ U(0, 1) per sample. The input
    gradient is taken with ``create_graph=True``, so the penalty can be backpropagated into the
    critic's parameters (a second derivative through the whole critic).

    Args:
        critic: ``critic(x)`` (or ``critic(x, labels)``) -> one score per sample.
        real, fake: Tensors or arrays (N, ...) of the same shape; no gradient flows into them.
        labels: class labels passed to a conditional critic.
        rng: numpy Generator drawing alpha (unless ``alpha`` is given).
        alpha: interpolation weights, N values in [0, 1] (for tests and reproducible checks).

    Returns:
        A 0-d Tensor.
    """
    r = real._data if isinstance(real, Tensor) else real
    f = fake._data if isinstance(fake, Tensor) else fake
    if tuple(r.shape) != tuple(f.shape) or r.ndim < 2:
        raise ValueError(f"gradient_penalty: real and fake must be batches of one shape, got "
                         f"{tuple(r.shape)} and {tuple(f.shape)}")
    xp = get_array_module(r)
    if r.dtype.kind != "f":  # int images made alpha int: 0 or 1, the penalty at the wrong points
        r = r.astype(f.dtype if f.dtype.kind == "f" else "float64")
    n = r.shape[0]
    if alpha is None:
        if rng is None:
            raise ValueError("gradient_penalty: pass rng (a numpy Generator) or alpha")
        alpha = rng.random(n)
    alpha = xp.asarray(alpha, dtype=r.dtype)
    if alpha.shape != (n,):
        raise ValueError(f"gradient_penalty: alpha must hold {n} values, got shape {alpha.shape}")
    if not bool(((alpha >= 0) & (alpha <= 1)).all()):  # nan too: it gave a nan penalty
        raise ValueError(f"gradient_penalty: alpha must hold values in [0, 1], got "
                         f"{alpha.tolist()}")
    alpha = alpha.reshape((n,) + (1,) * (r.ndim - 1))
    x_hat = Tensor(alpha * r + (1 - alpha) * f, requires_grad=True)
    with enable_grad():  # the input gradient needs a graph even when called under no_grad
        scores = _call(critic, x_hat, labels)
        (g,) = grad(_sum(scores), x_hat, create_graph=True)
    # a tiny floor keeps the norm's derivative finite where a gradient is exactly zero
    norms = (_sum((g * g).reshape(n, -1), axis=1) + 1e-12) ** 0.5
    return mean((norms - 1) ** 2)


class GANTrainer(Trainer):
    """Train a ``models.GAN``: per batch one discriminator (critic) step, then one generator step.

    Batches are ``(images,)`` (values in ``data_range``, [-1, 1] for the range of the generator's
    tanh) or ``(images, labels)`` for a conditional GAN, whose generator is then asked for the
    same labels. The logs of a step are ``d_loss`` and ``g_loss`` (and ``d_real``/``d_fake``, the
    mean probabilities D gives real and fake images, or ``wasserstein`` and ``gp`` for WGAN-GP);
    the History averages them per epoch.

    Args:
        gan: a ``models.GAN`` (``generator``, ``discriminator``, ``sample_latent``).
        g_optimizer, d_optimizer: optimizers over the generator's and the discriminator's
            parameters (DCGAN: Adam, lr 2e-4, betas (0.5, 0.999)).
        loss: "non_saturating", "minimax" or "wgan-gp".
        label_smoothing: one-sided label smoothing: D's target for real images is
            ``1 - label_smoothing`` (Salimans et al. 2016); 0 for none.
        gp_weight: lambda of the gradient penalty (WGAN-GP only).
        n_critic: discriminator steps per generator step (5 is usual for WGAN-GP).
        rng: Generator or seed for the noise z and the penalty's interpolation weights (saved in
            checkpoints, so a resumed run draws the same noise).
        data_range: (low, high) that every real batch must lie in, checked at each step: the
            range of the generator's output ((-1, 1) for the tanh of ``models``' GANs). None for
            a generator of your own with an unbounded output (a linear layer fitting a 1-D
            Gaussian, say).
        callbacks, device: as for ``Trainer``.
    """

    def __init__(self, gan, g_optimizer, d_optimizer, *, loss: str = "non_saturating",
                 label_smoothing: float = 0.0, gp_weight: float = 10.0, n_critic: int = 1,
                 rng=None, data_range=(-1.0, 1.0), callbacks=(), device: str = "cpu"):
        for name in ("generator", "discriminator", "sample_latent"):
            if not hasattr(gan, name):
                raise TypeError(f"GANTrainer: gan must be a models.GAN (with generator, "
                                f"discriminator and sample_latent), got {type(gan).__name__}")
        if loss not in GAN_LOSSES:
            raise ValueError(f"GANTrainer: loss must be one of {GAN_LOSSES}, got {loss!r}")
        check_number("GANTrainer", "label_smoothing", label_smoothing, low=0, below=0.5)
        check_int("GANTrainer", "n_critic", n_critic)  # np.int64(5), from a config array, too
        check_number("GANTrainer", "gp_weight", gp_weight, low=0)  # nan made every loss nan
        self.data_range = check_bounds("GANTrainer", "data_range", data_range, allow_none=True)
        super().__init__(gan, None, GANOptimizers(g_optimizer, d_optimizer), callbacks=callbacks,
                         device=device)
        self.gan = gan
        self.loss_name, self.label_smoothing = loss, float(label_smoothing)
        self.gp_weight, self.n_critic = float(gp_weight), int(n_critic)
        self.rng = as_generator(rng)

    def train_step(self, batch) -> dict:
        if self.gan.num_classes and len(batch) < 2:
            raise ValueError("GANTrainer: a conditional GAN needs (images, labels) batches")
        real = batch[0]
        self._check_real(real)
        labels = batch[1] if self.gan.num_classes else None
        with training_mode(self.gan):  # a GAN left in eval (after sampling) trains in train mode
            logs = self.discriminator_step(real, labels)
            self.optimizer.d_steps += 1
            if self.optimizer.d_steps % self.n_critic == 0:
                logs.update(self.generator_step(len(real), labels))
        return logs

    def _check_real(self, real) -> None:
        """Real images must lie in ``data_range`` (at every train and eval step): 0..255 pixels
        trained a discriminator that told real from fake by their scale alone (and gave a
        ``d_real`` of no meaning); nan spoiled both players. [0, 1] images pass [-1, 1]."""
        if self.data_range is not None:
            low, high = self.data_range
            check_within("GANTrainer", "real images", real._data if isinstance(real, Tensor)
                         else real, low, high, slack=1e-6 * max(1.0, high - low),
                         why="data_range, the range of the generator's output; scale [0, 1] "
                         "pixels by x * 2 - 1 for a tanh; data_range=None for a generator with "
                         "an unbounded output")

    def discriminator_step(self, real, labels=None) -> dict:
        """One update of D on ``real`` and as many generated images; G is not touched."""
        gen, disc = self.gan.generator, self.gan.discriminator
        z = self.gan.sample_latent(len(real), rng=self.rng)
        with no_grad():
            fake = gen(z, labels) if labels is not None else gen(z)
        d_real = _call(disc, real, labels)
        d_fake = _call(disc, fake, labels)
        if self.loss_name == "wgan-gp":
            gp = gradient_penalty(disc, real, fake, labels=labels, rng=self.rng)
            distance = mean(d_real) - mean(d_fake)
            loss = -distance + self.gp_weight * gp
            logs = {"wasserstein": distance.item(), "gp": gp.item()}
        else:
            xp = get_array_module(d_real._data)
            ones = xp.full(d_real.shape, 1.0 - self.label_smoothing, dtype=d_real.dtype)
            loss = (binary_cross_entropy_with_logits(d_real, Tensor(ones))
                    + binary_cross_entropy_with_logits(d_fake, Tensor(xp.zeros_like(ones))))
            logs = {"d_real": float(_sigmoid_mean(d_real)), "d_fake": float(_sigmoid_mean(d_fake))}
        opt = self.optimizer.discriminator
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"d_loss": loss.item(), **logs}

    def generator_step(self, n: int, labels=None) -> dict:
        """One update of G through a frozen D (D's parameters get no gradient and do not change)."""
        gen, disc = self.gan.generator, self.gan.discriminator
        z = self.gan.sample_latent(n, rng=self.rng)
        with frozen(disc):
            fake = gen(z, labels) if labels is not None else gen(z)
            d_fake = _call(disc, fake, labels)
            if self.loss_name == "wgan-gp":
                loss = -mean(d_fake)
            else:
                xp = get_array_module(d_fake._data)
                target = xp.ones_like(d_fake._data) if self.loss_name == "non_saturating" else \
                    xp.zeros_like(d_fake._data)
                loss = binary_cross_entropy_with_logits(d_fake, Tensor(target))
                if self.loss_name == "minimax":
                    loss = -loss  # minimize log(1 - D(G(z))) = -BCE(d, 0)
            opt = self.optimizer.generator
            opt.zero_grad()
            loss.backward()
            opt.step()
        return {"g_loss": loss.item()}

    def fit(self, train_data, y=None, validation_data=None, **options):
        """``Trainer.fit``; the validation data may be ``(images,)``, as the training data (a
        GAN's batches hold no target, which the Trainer asks of a 1-tuple)."""
        if isinstance(y, tuple) and len(y) == 1 and validation_data is None:
            y, validation_data = None, y  # fit(x, (x_val,)): a tuple there is validation data
        if isinstance(validation_data, tuple) and len(validation_data) == 1:
            validation_data = validation_data[0]
        return super().fit(train_data, y, validation_data, **options)

    def eval_step(self, batch) -> dict:
        """D's view of a batch of real images: the mean probability it gives them of being real."""
        real = batch[0]
        self._check_real(real)
        labels = batch[1] if self.gan.num_classes else None
        d_real = _call(self.gan.discriminator, real, labels)
        return {"d_real": float(_sigmoid_mean(d_real))}

    def _generators(self) -> dict:
        return {**super()._generators(), "gan_noise": self.rng}


def _sigmoid_mean(logits):
    xp = get_array_module(logits._data)
    # tanh form: 1 / (1 + exp(-x)) overflowed (a RuntimeWarning, an error under -W error) for
    # logits below -709, which a WGAN critic's scores (eval_step) or a winning D can reach
    return (0.5 + 0.5 * xp.tanh(0.5 * logits._data.astype("float64"))).mean()
