"""Autoencoders: a dense undercomplete one (optionally with tied weights) and a convolutional one.

An autoencoder ``x -> z = encode(x) -> decode(z) ~ x`` learns a code z smaller than x (the
bottleneck) by reconstructing its input. Denoising, colorization and watermark removal are the same
networks trained on corrupted inputs (see ``chainrule.data.corruptions``), not new architectures.
"""

from __future__ import annotations

from .. import nn
from ..backend import get_array_module
from ..nn._checks import _is_int as is_int
from ..ops.linalg import matmul
from .mlp import _ACTIVATIONS
from .registry import register

__all__ = ["Autoencoder", "ConvAutoencoder", "TiedLinear"]

_OUTPUTS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "none": None}


def _output_layer(who: str, name: str):
    if name not in _OUTPUTS:
        raise ValueError(
            f"{who}: output_activation must be one of {sorted(_OUTPUTS)}, got {name!r}")
    return _OUTPUTS[name]


def _activation(who: str, name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"{who}: unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


class TiedLinear(nn.Module):
    """The transpose of a Linear layer: ``y = x @ source.weight + bias``, sharing its weight.

    The weight is ``source.weight`` itself (one Parameter for both layers), so a tied autoencoder
    trains and saves it once: it is not registered here, only the bias is. The module that owns
    ``source`` saves, moves and optimizes the weight.

    Args:
        source: the encoder's ``nn.Linear`` (in_features -> out_features).
        bias: learn an additive bias of size ``source.in_features`` (initialized to zero).

    Shape:
        ``(..., source.out_features) -> (..., source.in_features)``.
    """

    def __init__(self, source: nn.Linear, bias: bool = True):
        super().__init__()
        if not isinstance(source, nn.Linear):
            raise TypeError(f"TiedLinear: source must be an nn.Linear, got {type(source).__name__}")
        object.__setattr__(self, "_source", source)  # a plain reference: no second registration
        self.in_features, self.out_features = source.out_features, source.in_features
        if bias:
            w = source.weight._data
            self.bias = nn.Parameter(get_array_module(w).zeros(self.out_features, dtype=w.dtype))
        else:
            self.register_parameter("bias", None)

    @property
    def weight(self) -> nn.Parameter:
        """The shared Parameter, ``source.weight`` (shape (out_features, in_features) of ours)."""
        return self._source.weight

    def forward(self, x):
        shape = getattr(x, "shape", None)
        if shape is None or not shape or shape[-1] != self.in_features:
            raise ValueError(f"TiedLinear: expected input with last dimension {self.in_features}, "
                             f"got {None if shape is None else tuple(shape)}")
        y = matmul(x, self.weight)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, tied")


@register("autoencoder", summary="dense undercomplete autoencoder, e.g. 784-256-32-256-784",
          source="Hinton & Salakhutdinov, Reducing the dimensionality of data, Science 2006")
class Autoencoder(nn.Module):
    """A fully connected autoencoder ``sizes[0] -> ... -> sizes[-1] -> ... -> sizes[0]``.

    The decoder mirrors the encoder. The input is flattened and the reconstruction is reshaped to
    the input's shape, so images (N, 1, 28, 28) go straight in and come straight out.

    Args:
        sizes: encoder widths from the input to the bottleneck, e.g. ``(784, 256, 32)``; a
            bottleneck of 2 gives a code that can be plotted.
        activation: hidden activation (relu, tanh, sigmoid, elu, softplus, leaky_relu, gelu, selu).
        output_activation: "sigmoid" for data in [0, 1], "tanh" for [-1, 1], or "none".
        tied: the decoder's weights are the encoder's transposed (``TiedLinear``): one Parameter
            per pair of layers, half the weights.
        rng: numpy Generator for initialization.

    Shape:
        input (N, *shape) with prod(shape) = sizes[0] -> reconstruction (N, *shape); code
        ``encode(x)``: (N, sizes[-1]).
    """

    def __init__(self, sizes=(784, 256, 32), activation: str = "relu",
                 output_activation: str = "sigmoid", tied: bool = False, *, rng=None):
        super().__init__()
        sizes = tuple(sizes)
        if len(sizes) < 2 or not all(is_int(s) and s >= 1 for s in sizes):
            raise ValueError(f"Autoencoder: sizes must list at least two positive ints (input "
                             f"width, ..., bottleneck), got {sizes}")
        sizes = tuple(int(s) for s in sizes)  # NumPy ints as Python ones (the saved config)
        act = _activation("Autoencoder", activation)
        out = _output_layer("Autoencoder", output_activation)
        self.sizes, self.tied = sizes, bool(tied)
        enc = [nn.Linear(a, b, rng=rng) for a, b in zip(sizes[:-1], sizes[1:])]
        encoder = [nn.Flatten()]
        for i, layer in enumerate(enc):
            encoder.append(layer)
            if i < len(enc) - 1:
                encoder.append(act())
        decoder = []
        for i, layer in enumerate(reversed(enc)):
            decoder.append(TiedLinear(layer) if tied else
                           nn.Linear(layer.out_features, layer.in_features, rng=rng))
            if i < len(enc) - 1:
                decoder.append(act())
        if out is not None:
            decoder.append(out())
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    @property
    def latent_dim(self) -> int:
        return self.sizes[-1]

    def encode(self, x):
        """The code (N, sizes[-1]) of a batch of inputs."""
        return self.encoder(x)

    def decode(self, z):
        """Flat reconstructions (N, sizes[0]) of a batch of codes."""
        return self.decoder(z)

    def forward(self, x):
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) < 2:
            raise ValueError(f"Autoencoder: expected a batch (N, ...), got shape {shape}")
        return self.decode(self.encode(x)).reshape(shape)


@register("conv_autoencoder",
          summary="convolutional autoencoder: strided convs down, transposed convs up",
          source="Masci et al., Stacked convolutional auto-encoders, ICANN 2011")
class ConvAutoencoder(nn.Module):
    """Strided 3x3 convolutions halve the image per level; transposed convolutions double it back.

    Args:
        in_channels: channels of the input images.
        channels: channels after each downsampling level, e.g. ``(16, 32)`` (28 -> 14 -> 7).
        latent_dim: if given, a dense bottleneck of this size after the last level (a code vector);
            if None, the code is the last feature map.
        input_size: image height = width, divisible by ``2 ** len(channels)``.
        out_channels: channels of the output (default: ``in_channels``); 3 for grey -> colour.
        activation: hidden activation (as for ``Autoencoder``).
        output_activation: "sigmoid", "tanh" or "none".
        rng: numpy Generator for initialization.

    Shape:
        (N, in_channels, S, S) -> (N, out_channels, S, S).
    """

    def __init__(self, in_channels: int = 1, channels=(16, 32), latent_dim: int | None = None,
                 input_size: int = 28, out_channels: int | None = None, activation: str = "relu",
                 output_activation: str = "sigmoid", *, rng=None):
        super().__init__()
        who = "ConvAutoencoder"
        channels = tuple(channels)
        if not channels or not all(is_int(c) and c >= 1 for c in channels):
            raise ValueError(f"{who}: channels must be a non-empty tuple of positive ints, "
                             f"got {channels}")
        levels = 2 ** len(channels)
        if not is_int(input_size) or input_size < levels or input_size % levels:
            raise ValueError(f"{who}: input_size must be a multiple of 2 ** len(channels) = "
                             f"{levels}, got {input_size}")
        if latent_dim is not None and (not is_int(latent_dim) or latent_dim < 1):
            raise ValueError(f"{who}: latent_dim must be a positive int or None, got {latent_dim}")
        channels, input_size = tuple(int(c) for c in channels), int(input_size)
        latent_dim = None if latent_dim is None else int(latent_dim)
        act = _activation(who, activation)
        out = _output_layer(who, output_activation)
        out_channels = in_channels if out_channels is None else out_channels
        self.in_channels, self.out_channels, self.channels = in_channels, out_channels, channels
        self.latent_dim, self.input_size = latent_dim, input_size
        side = input_size // levels
        encoder, prev = [], in_channels
        for c in channels:
            encoder += [nn.Conv2d(prev, c, 3, stride=2, padding=1, rng=rng), act()]
            prev = c
        decoder = []
        if latent_dim is not None:
            flat = channels[-1] * side * side
            encoder += [nn.Flatten(), nn.Linear(flat, latent_dim, rng=rng)]
            decoder += [nn.Linear(latent_dim, flat, rng=rng), act(),
                        nn.Unflatten(1, (channels[-1], side, side))]
        ups = list(reversed(channels[:-1])) + [out_channels]
        for i, c in enumerate(ups):
            decoder.append(nn.ConvTranspose2d(prev, c, 3, stride=2, padding=1, output_padding=1,
                                              rng=rng))
            if i < len(ups) - 1:
                decoder.append(act())
            prev = c
        if out is not None:
            decoder.append(out())
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x):
        """The code: (N, latent_dim), or the last feature map (N, channels[-1], S/2^L, S/2^L)."""
        if getattr(x, "ndim", None) != 4:
            raise ValueError(f"ConvAutoencoder: expected images (N, C, H, W), got shape "
                             f"{getattr(x, 'shape', None)}")
        levels = 2 ** len(self.channels)
        if x.shape[2] % levels or x.shape[3] % levels:  # 9x9 came back 12x12, silently
            raise ValueError(f"ConvAutoencoder: image height and width must be multiples of "
                             f"2 ** len(channels) = {levels}, got shape {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, z):
        """Images (N, out_channels, S, S) from codes."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))
