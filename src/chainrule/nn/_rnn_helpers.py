"""PyTorch's checking helpers of ``RNNBase`` (``check_input``, ``get_expected_hidden_size``,
``check_hidden_size``, ``check_forward_args``, ``permute_hidden``) and the LSTM's forms of them
(``get_expected_cell_size``; hidden a pair (h, c)), for programs that subclass a recurrent
module and call them. They check and raise as PyTorch's do; chainrule's own ``forward`` makes
its checks itself (autocast is never on in chainrule, so a dtype mismatch is always an error)."""

from __future__ import annotations

import warnings

from ..ops.repeat import index_select

__all__ = ["LSTMHelpers", "RNNHelpers", "_apply_permutation", "apply_permutation"]


def _apply_permutation(tensor, permutation, dim: int = 1):
    """PyTorch's ``nn.modules.rnn._apply_permutation``: ``tensor``'s ``dim`` reordered by
    ``permutation`` (copies of PyTorch's recurrent forward sort a state by a PackedSequence's
    ``sorted_indices`` with it)."""
    return index_select(tensor, dim, permutation)


def apply_permutation(tensor, permutation, dim: int = 1):
    """``_apply_permutation`` under its deprecated public name, with PyTorch's FutureWarning."""
    warnings.warn("`apply_permutation` is deprecated, please use `tensor.index_select(dim, "
                  "permutation)` instead", FutureWarning, stacklevel=2)
    return _apply_permutation(tensor, permutation, dim)


def _mini_batch(module, input, batch_sizes) -> int:  # noqa: A002 - PyTorch's name
    if batch_sizes is not None:
        return int(batch_sizes[0])
    return input.shape[0] if module.batch_first else input.shape[1]


class RNNHelpers:
    """The helpers of ``RNNBase`` (RNN and GRU use them as they are)."""

    def check_input(self, input, batch_sizes) -> None:  # noqa: A002
        """ValueError where ``input``'s dtype is not the weights'; RuntimeError where it is not
        3-D (2-D: packed data, with ``batch_sizes``) or its last size is not ``input_size``."""
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: "
                f"model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.ndim != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.ndim}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def get_expected_hidden_size(self, input, batch_sizes) -> tuple[int, int, int]:  # noqa: A002
        """(num_layers * directions, batch, hidden features): ``proj_size`` where one is set."""
        directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * directions, _mini_batch(self, input, batch_sizes), size)

    def check_hidden_size(self, hx, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        """RuntimeError ``msg.format(expected, list(hx's shape))`` where the shapes differ."""
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.shape)))

    def check_forward_args(self, input, hidden, batch_sizes) -> None:  # noqa: A002
        """``check_input``, then the hidden state's shape."""
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        """``hx`` with its batch axis (1) reordered by ``permutation`` (None: ``hx`` itself)."""
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)


class LSTMHelpers(RNNHelpers):
    """The LSTM's: the hidden state is the pair (h, c), c of ``hidden_size`` features."""

    def get_expected_cell_size(self, input, batch_sizes) -> tuple[int, int, int]:  # noqa: A002
        directions = 2 if self.bidirectional else 1
        return (self.num_layers * directions, _mini_batch(self, input, batch_sizes),
                self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes) -> None:  # noqa: A002
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx[0], permutation), _apply_permutation(hx[1], permutation)
