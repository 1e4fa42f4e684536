"""Rosenblatt's perceptron: step-activated linear threshold units trained by the perceptron rule."""

from __future__ import annotations

from ..autograd import Tensor, no_grad
from ..backend import asnumpy, get_array_module
from ..nn import Linear, Module
from ..ops.activation import step
from .registry import register

__all__ = ["Perceptron"]


@register("perceptron", summary="single-layer perceptron with a step activation (Rosenblatt 1958)",
          source="F. Rosenblatt, The perceptron, Psychological Review 65(6), 1958")
class Perceptron(Module):
    """A layer of threshold units y = step(w . x + b), learned by the perceptron rule, not backprop.

    The rule w <- w + lr (t - y) x changes the weights only on mistakes; it converges when the
    classes are linearly separable (AND, OR) and cycles forever when they are not (XOR): the
    lecture's reason for hidden layers with nonlinear activations.

    Args:
        in_features: inputs per example.
        out_features: threshold units (independent binary outputs).
        rng: numpy Generator for the (small random) initial weights.

    Shape:
        input (N, in_features) -> output (N, out_features) of 0/1 values.
    """

    def __init__(self, in_features: int, out_features: int = 1, *, rng=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.linear = Linear(in_features, out_features, rng=rng)

    def forward(self, x):
        return step(self.linear(x))

    def fit(self, x, t, *, epochs: int = 100, lr: float = 1.0) -> list[int]:
        """Apply the perceptron rule one example at a time; return the number of mistakes per epoch.

        ``t`` holds 0/1 targets, the step units' outputs (-1/+1 labels are refused: none of the
        -1 would ever match, so every one counted as a mistake). Stops early after the first
        epoch without mistakes.
        """
        x = x._data if isinstance(x, Tensor) else x
        t = t._data if isinstance(t, Tensor) else t
        xp = get_array_module(self.linear.weight._data)
        x = xp.asarray(x, dtype=self.linear.weight.dtype)
        t = xp.asarray(t)
        if t.size != len(x) * self.out_features:
            raise ValueError(f"Perceptron.fit: t must hold {self.out_features} target(s) for each "
                             f"of the {len(x)} examples, got shape {tuple(t.shape)}")
        values = xp.unique(t)
        if not bool(((values == 0) | (values == 1)).all()):  # -1/+1 labels never matched the
            raise ValueError(                                 # 0/1 step: every one a mistake
                f"Perceptron.fit: t must hold 0/1 targets (the step units' outputs), got values "
                f"{values[:5].tolist()}; for -1/+1 labels pass (t + 1) / 2")
        t = t.astype(self.linear.weight.dtype).reshape(len(x), self.out_features)
        w, b = self.linear.weight._data, self.linear.bias._data
        mistakes = []
        with no_grad():
            for _ in range(epochs):
                errors = 0
                for xi, ti in zip(x, t):
                    yi = (w @ xi + b > 0).astype(w.dtype)
                    delta = ti - yi
                    if xp.any(delta != 0):
                        errors += 1
                        self.linear.weight.add_(xp.outer(delta, xi), alpha=lr)
                        self.linear.bias.add_(delta, alpha=lr)
                mistakes.append(errors)
                if errors == 0:
                    break
        return mistakes

    def predict(self, x):
        """0/1 predictions as a NumPy array."""
        with no_grad():
            w = self.linear.weight._data
            if not isinstance(x, Tensor):
                x = Tensor(get_array_module(w).asarray(x, dtype=w.dtype))
            return asnumpy(self.forward(x)._data)
