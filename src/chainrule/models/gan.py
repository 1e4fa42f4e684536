"""Generative adversarial networks: MLP and DCGAN generators and discriminators, conditional GANs.

A ``GAN`` holds a generator G (noise z, and a class label for a conditional GAN, -> image in
[-1, 1] through tanh) and a discriminator D (image -> one logit: "real"). ``GAN.sample`` draws
images mapped to [0, 1]. Training (alternating D and G steps, WGAN-GP) lives in
``chainrule.generative``. A conditional G and D get the label as a one-hot vector: concatenated to
z and to the flattened image for the MLPs, and as constant one-hot feature maps stacked onto the
image for the DCGAN discriminator (Mirza & Osindero 2014).
"""

from __future__ import annotations

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import device_of, get_array_module, to_device
from ..nn._checks import _is_int as is_int
from ..nn.modes import eval_mode
from ..ops.join import concat
from .registry import register

__all__ = ["DCGAN", "GAN", "ConditionalGAN", "DCGANDiscriminator", "DCGANGenerator", "MLPGAN",
           "MLPDiscriminator", "MLPGenerator"]

PRIORS = ("normal", "uniform")


def _ints(who: str, name: str, values, *, allow_empty=False) -> tuple[int, ...]:
    # a NumPy array of widths (a config's) too, as MLP takes: it was one value, an array, refused
    many = isinstance(values, (tuple, list)) or getattr(values, "ndim", 0) == 1
    values = tuple(values) if many else (values,)
    if (not values and not allow_empty) or not all(
            is_int(v) and v >= 1 for v in values):
        raise ValueError(f"{who}: {name} must be positive ints, got {values}")
    return tuple(int(v) for v in values)


def _num_classes(who: str, n) -> int:
    if not is_int(n) or n < 0 or n == 1:
        raise ValueError(f"{who}: num_classes must be 0 (unconditional) or >= 2, got {n!r}")
    return int(n)


def _one_hot(who: str, labels, num_classes: int, like) -> Tensor:
    """Constant one-hot codes (N, num_classes) of ``labels``, in ``like``'s dtype and device."""
    if labels is None:
        raise ValueError(f"{who}: this model is conditional (num_classes={num_classes}); pass the "
                         "class labels")
    data = labels._data if isinstance(labels, Tensor) else labels
    xp = get_array_module(like._data)
    idx = xp.asarray(data)
    if idx.dtype.kind not in "iu" or idx.ndim != 1 or len(idx) != like.shape[0]:
        raise ValueError(f"{who}: labels must be {like.shape[0]} ints (one per sample), got "
                         f"shape {tuple(idx.shape)} dtype {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise ValueError(f"{who}: labels must be in [0, {num_classes}), got values in "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    eye = Tensor(xp.eye(num_classes, dtype=like.dtype))
    # Rows picked by an op that reads the labels Tensor, so that a trace (cr.trace, ONNX export)
    # follows other labels rather than keeping the first call's codes.
    return eye[labels] if isinstance(labels, Tensor) else Tensor(eye._data[idx])


def _check_unconditional(who: str, labels) -> None:
    if labels is not None:
        raise ValueError(f"{who}: got labels, but the model is unconditional (num_classes=0)")


class MLPGenerator(nn.Module):
    """Fully connected generator: z (and a one-hot label) -> hidden layers -> tanh image.

    Args:
        latent_dim: size of z.
        hidden: widths of the hidden layers (LeakyReLU 0.2 after each).
        image_shape: (C, H, W) of the generated images.
        num_classes: 0, or the number of classes of a conditional generator.
        rng: numpy Generator for initialization.
    """

    def __init__(self, latent_dim: int = 64, hidden=(256, 512), image_shape=(1, 28, 28),
                 num_classes: int = 0, *, rng=None):
        super().__init__()
        who = "MLPGenerator"
        (self.latent_dim,) = _ints(who, "latent_dim", latent_dim)
        self.image_shape = _ints(who, "image_shape", image_shape)
        self.num_classes = _num_classes(who, num_classes)
        layers, prev = [], self.latent_dim + self.num_classes
        for h in _ints(who, "hidden", hidden, allow_empty=True):
            layers += [nn.Linear(prev, h, rng=rng), nn.LeakyReLU(0.2)]
            prev = h
        size = 1
        for s in self.image_shape:
            size *= s
        layers += [nn.Linear(prev, size, rng=rng), nn.Tanh(), nn.Unflatten(1, self.image_shape)]
        self.net = nn.Sequential(*layers)

    def forward(self, z, labels=None):
        if self.num_classes:
            z = concat([z, _one_hot("MLPGenerator", labels, self.num_classes, z)], axis=1)
        else:
            _check_unconditional("MLPGenerator", labels)
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Fully connected discriminator: flattened image (and a one-hot label) -> one logit per image.

    Args:
        image_shape: (C, H, W) of the images.
        hidden: widths of the hidden layers (LeakyReLU 0.2 after each).
        num_classes: 0, or the number of classes of a conditional discriminator.
        rng: numpy Generator for initialization.

    Shape:
        (N, C, H, W) -> (N,) logits.
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=(512, 256), num_classes: int = 0, *,
                 rng=None):
        super().__init__()
        who = "MLPDiscriminator"
        self.image_shape = _ints(who, "image_shape", image_shape)
        self.num_classes = _num_classes(who, num_classes)
        size = 1
        for s in self.image_shape:
            size *= s
        layers, prev = [], size + self.num_classes
        for h in _ints(who, "hidden", hidden, allow_empty=True):
            layers += [nn.Linear(prev, h, rng=rng), nn.LeakyReLU(0.2)]
            prev = h
        layers.append(nn.Linear(prev, 1, rng=rng))
        self.flatten = nn.Flatten()
        self.net = nn.Sequential(*layers)

    def forward(self, x, labels=None):
        h = self.flatten(x)
        if self.num_classes:
            h = concat([h, _one_hot("MLPDiscriminator", labels, self.num_classes, h)], axis=1)
        else:
            _check_unconditional("MLPDiscriminator", labels)
        return self.net(h).reshape(-1)


def _side(who: str, image_size: int, levels: int) -> int:
    if not is_int(image_size) or image_size % (2 ** levels) or image_size < 2 ** levels:
        raise ValueError(f"{who}: image_size must be a multiple of 2 ** {levels} (one halving per "
                         f"entry of channels), got {image_size}")
    return int(image_size) // 2 ** levels


class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016): project z, then transposed convs that double the size.

    ``Linear -> BatchNorm -> ReLU -> reshape (channels[0], s, s)``, then per entry of ``channels``
    a 4x4 stride-2 transposed convolution (BatchNorm and ReLU between, tanh at the end).

    Args:
        latent_dim: size of z.
        channels: feature maps at each resolution, coarsest first, e.g. ``(64, 32)``:
            7x7x64 -> 14x14x32 -> 28x28.
        out_channels: image channels.
        image_size: image height = width, divisible by ``2 ** len(channels)``.
        num_classes: 0, or the number of classes of a conditional generator.
        rng: numpy Generator for initialization.
    """

    def __init__(self, latent_dim: int = 64, channels=(64, 32), out_channels: int = 1,
                 image_size: int = 28, num_classes: int = 0, *, rng=None):
        super().__init__()
        who = "DCGANGenerator"
        (self.latent_dim,) = _ints(who, "latent_dim", latent_dim)
        channels = _ints(who, "channels", channels)
        (self.out_channels,) = _ints(who, "out_channels", out_channels)
        self.num_classes = _num_classes(who, num_classes)
        s = _side(who, image_size, len(channels))
        c0 = channels[0]
        layers = [nn.Linear(self.latent_dim + self.num_classes, c0 * s * s, bias=False, rng=rng),
                  nn.BatchNorm1d(c0 * s * s), nn.ReLU(), nn.Unflatten(1, (c0, s, s))]
        for a, b in zip(channels, channels[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1, bias=False, rng=rng),
                       nn.BatchNorm2d(b), nn.ReLU()]
        layers += [nn.ConvTranspose2d(channels[-1], self.out_channels, 4, stride=2, padding=1,
                                      rng=rng), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, labels=None):
        if self.num_classes:
            z = concat([z, _one_hot("DCGANGenerator", labels, self.num_classes, z)], axis=1)
        else:
            _check_unconditional("DCGANGenerator", labels)
        return self.net(z)


_NORMS = ("batch", "layer", "none")


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: 4x4 stride-2 convolutions with LeakyReLU(0.2), then one logit.

    The first convolution has no normalization (as in the paper); the others have ``norm``:
    "batch" (DCGAN), "layer" or "none" (for WGAN-GP, whose per-sample gradient penalty must not mix
    the samples of a batch, which batch norm does).

    Args:
        in_channels: image channels.
        channels: feature maps after each halving, finest first, e.g. ``(32, 64)``.
        image_size: image height = width, divisible by ``2 ** len(channels)``.
        num_classes: 0, or the number of classes (one-hot maps stacked onto the image).
        norm: "batch", "layer" or "none".
        rng: numpy Generator for initialization.

    Shape:
        (N, in_channels, S, S) -> (N,) logits.
    """

    def __init__(self, in_channels: int = 1, channels=(32, 64), image_size: int = 28,
                 num_classes: int = 0, norm: str = "batch", *, rng=None):
        super().__init__()
        who = "DCGANDiscriminator"
        (self.in_channels,) = _ints(who, "in_channels", in_channels)
        channels = _ints(who, "channels", channels)
        self.num_classes = _num_classes(who, num_classes)
        if norm not in _NORMS:
            raise ValueError(f"{who}: norm must be one of {_NORMS}, got {norm!r}")
        s = _side(who, image_size, len(channels))
        self.image_size = int(image_size)
        layers, prev, side = [], self.in_channels + self.num_classes, image_size
        for i, c in enumerate(channels):
            layers.append(nn.Conv2d(prev, c, 4, stride=2, padding=1, rng=rng))
            side //= 2
            if i and norm == "batch":
                layers.append(nn.BatchNorm2d(c))
            elif i and norm == "layer":
                layers.append(nn.LayerNorm((c, side, side)))
            layers.append(nn.LeakyReLU(0.2))
            prev = c
        layers += [nn.Flatten(), nn.Linear(channels[-1] * s * s, 1, rng=rng)]
        self.net = nn.Sequential(*layers)

    def forward(self, x, labels=None):
        if self.num_classes:
            code = _one_hot("DCGANDiscriminator", labels, self.num_classes, x)
            # Recorded ops (a trace follows the labels): each code spread over the image.
            maps = code.reshape(code.shape + (1, 1)).expand(code.shape + tuple(x.shape[2:]))
            x = concat([x, maps], axis=1)
        else:
            _check_unconditional("DCGANDiscriminator", labels)
        return self.net(x).reshape(-1)


class GAN(nn.Module):
    """A generator and a discriminator, and how to draw the generator's noise.

    Args:
        generator: a Module ``G(z, labels=None)`` -> images in [-1, 1].
        discriminator: a Module ``D(x, labels=None)`` -> (N,) logits (scores for a WGAN critic).
        latent_dim: size of z.
        num_classes: 0, or the number of classes of a conditional GAN.
        prior: "normal" (z ~ N(0, I)) or "uniform" (z ~ U(-1, 1)).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, *, latent_dim: int,
                 num_classes: int = 0, prior: str = "normal"):
        super().__init__()
        if prior not in PRIORS:
            raise ValueError(f"GAN: prior must be one of {PRIORS}, got {prior!r}")
        self.generator, self.discriminator = generator, discriminator
        (self.latent_dim,) = _ints("GAN", "latent_dim", latent_dim)
        self.num_classes = _num_classes("GAN", num_classes)
        self.prior = prior

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def sample_latent(self, n: int, *, rng) -> Tensor:
        """``n`` noise vectors (n, latent_dim) from the prior, on the model's device and dtype."""
        if not is_int(n) or n < 1:
            raise ValueError(f"GAN.sample_latent: n must be a positive int, got {n!r}")
        shape = (int(n), self.latent_dim)
        z = rng.standard_normal(shape) if self.prior == "normal" else rng.uniform(-1, 1, shape)
        ref = next(self.generator.parameters())._data
        return Tensor(to_device(z.astype(ref.dtype), device_of(ref)))

    def sample(self, n: int, *, rng, labels=None, z=None):
        """``n`` generated images (n, C, H, W) in [0, 1], drawn in evaluation mode without a graph.

        Args:
            n: how many.
            rng: numpy Generator for the noise.
            labels: a conditional GAN's classes: one int for all, or n ints.
            z: noise to use instead of drawing it (e.g. a fixed batch to follow training).

        Returns:
            A Tensor (n, C, H, W) with values in [0, 1].
        """
        if z is None and rng is None:
            raise ValueError("GAN.sample: pass rng (a numpy Generator) or the noise z")
        if z is None:
            z = self.sample_latent(n, rng=rng)
        elif not isinstance(z, Tensor):  # an array: a conditional GAN failed on z._data
            z = Tensor(get_array_module(z).asarray(z))
        if len(z) != n:  # it returned len(z) images, not the n asked for
            raise ValueError(f"GAN.sample: z must hold n={n} noise vectors, got shape "
                             f"{tuple(z.shape)}")
        if self.conditional:
            if labels is None:
                raise ValueError(f"GAN.sample: the GAN is conditional; pass labels (ints in "
                                 f"[0, {self.num_classes}))")
            xp = get_array_module(z._data)
            labels = labels._data if isinstance(labels, Tensor) else labels
            given = xp.asarray(labels)
            # dtype="int64" truncated 1.5 to class 1; a wrong count failed in broadcast_to
            if given.dtype.kind not in "iu" or given.ndim > 1 or given.size not in (1, len(z)):
                raise ValueError(f"GAN.sample: labels must be one int or {len(z)} ints, got "
                                 f"shape {tuple(given.shape)} dtype {given.dtype}")
            labels = xp.broadcast_to(given.astype("int64").reshape(-1), (len(z),))
        with eval_mode(self), no_grad():  # each module's own mode back after (a frozen BatchNorm)
            images = self.generator(z, labels)
        return (images + 1) * 0.5

    def forward(self, z, labels=None):
        return self.generator(z, labels)


@register("gan", summary="MLP GAN: fully connected generator and discriminator",
          source="Goodfellow et al., Generative adversarial nets, NeurIPS 2014")
class MLPGAN(GAN):
    """A GAN of an ``MLPGenerator`` and an ``MLPDiscriminator`` (conditional with num_classes)."""

    def __init__(self, latent_dim: int = 64, g_hidden=(256, 512), d_hidden=(512, 256),
                 image_shape=(1, 28, 28), num_classes: int = 0, prior: str = "normal", *,
                 rng=None):
        super().__init__(
            MLPGenerator(latent_dim, g_hidden, image_shape, num_classes, rng=rng),
            MLPDiscriminator(image_shape, d_hidden, num_classes, rng=rng),
            latent_dim=latent_dim, num_classes=num_classes, prior=prior)


@register("dcgan", summary="DCGAN: transposed-conv generator, conv discriminator, batch norm",
          source="Radford, Metz & Chintala, Unsupervised representation learning with DCGANs, "
                 "ICLR 2016")
class DCGAN(GAN):
    """A GAN of a ``DCGANGenerator`` and a ``DCGANDiscriminator``.

    Args:
        latent_dim, prior, num_classes: as for ``GAN``.
        g_channels: generator feature maps, coarsest first.
        d_channels: discriminator feature maps, finest first.
        image_channels, image_size: the images' channels and side.
        d_norm: discriminator normalization: "batch", "layer" or "none" (WGAN-GP).
        rng: numpy Generator for initialization.
    """

    def __init__(self, latent_dim: int = 64, g_channels=(64, 32), d_channels=(32, 64),
                 image_channels: int = 1, image_size: int = 28, num_classes: int = 0,
                 d_norm: str = "batch", prior: str = "normal", *, rng=None):
        super().__init__(
            DCGANGenerator(latent_dim, g_channels, image_channels, image_size, num_classes,
                           rng=rng),
            DCGANDiscriminator(image_channels, d_channels, image_size, num_classes, d_norm,
                               rng=rng),
            latent_dim=latent_dim, num_classes=num_classes, prior=prior)


@register("cgan", summary="conditional GAN: ask for a digit by its class label",
          source="Mirza & Osindero, Conditional generative adversarial nets, 2014")
class ConditionalGAN(GAN):
    """A class-conditional GAN: a ``DCGAN`` (arch="dcgan") or an ``MLPGAN`` (arch="mlp").

    The convolutional one learns to respect the label much sooner: after 5 MNIST epochs on 20,000
    images a LeNet-5 agreed with the requested class for 80 % of its samples, against 15 % for the
    MLP one after 5 epochs on all 60,000 (docs/generative.md).

    Args:
        arch: "dcgan" or "mlp".
        num_classes: number of classes (>= 2).
        **kwargs: the chosen architecture's other arguments (latent_dim, g_hidden, d_norm...).
    """

    def __init__(self, arch: str = "dcgan", num_classes: int = 10, *, rng=None, **kwargs):
        builders = {"mlp": MLPGAN, "dcgan": DCGAN}
        if arch not in builders:
            raise ValueError(f"ConditionalGAN: arch must be 'mlp' or 'dcgan', got {arch!r}")
        if _num_classes("ConditionalGAN", num_classes) == 0:
            raise ValueError("ConditionalGAN: num_classes must be >= 2")
        inner = builders[arch](num_classes=num_classes, rng=rng, **kwargs)
        super().__init__(inner.generator, inner.discriminator, latent_dim=inner.latent_dim,
                         num_classes=num_classes, prior=inner.prior)
        self.arch = arch
