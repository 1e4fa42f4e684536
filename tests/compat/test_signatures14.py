"""PyTorch call signatures that ported programs use: the ``input=`` keyword of the functional API
(``F.conv2d(input=x, weight=w)``, ``F.relu(input=x)``...), in PyTorch's positional order; and
``DataLoader``'s positional options and ``len(iter(loader))``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

from .._case_loop import each_case, grid, with_rng
from .torch_signature import _doc_params

torch = pytest.importorskip("torch")
TF = torch.nn.functional
pytestmark = pytest.mark.torch


def _positional(params):
    """The names before the keyword-only marker (``self`` and ``*args`` never a keyword)."""
    out = []
    for name in params:
        if name == "*" or name.startswith("*"):
            break
        out.append(name)
    return out


def _shared_functional():
    names = []
    for name in sorted(set(dir(TF)) & set(dir(F))):
        theirs, ours = getattr(TF, name), getattr(F, name)
        if name.startswith("_") or isinstance(theirs, type) or not callable(theirs) \
                or inspect.ismodule(theirs) or not callable(ours):
            continue
        try:
            params = _doc_params(theirs)
        except (ValueError, AttributeError):  # a docstring without the signature (conv_tbc)
            continue
        names.append((name, params))
    return names


def _functional_takes_pytorchs_positional_names_in_order_case(name, params):
    """Each F function shared with PyTorch binds PyTorch's positional parameters by the same
    names in the same order (``input`` first, not ``x``), so keyword calls port unchanged."""
    ours = inspect.signature(getattr(F, name))
    kinds = {p.kind for p in ours.parameters.values()}
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return  # takes any positional arguments: checked by calls elsewhere
    theirs = [n for n in _positional(params) if not n.startswith("_")]
    if theirs == ["args", "kwargs"]:  # PyTorch's boolean_dispatch (return_indices): see below
        return
    mine = [p.name for p in ours.parameters.values() if not p.name.startswith("_")
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)]
    assert mine[:len(theirs)] == theirs, f"F.{name}: ours {mine}, PyTorch's {theirs}"


def test_functional_takes_pytorchs_positional_names_in_order():
    each_case(_functional_takes_pytorchs_positional_names_in_order_case, grid(
        ("name, params", _shared_functional(), lambda v: str(v)[:30]),
    ))


@pytest.mark.parametrize("name", ["max_pool1d", "max_pool2d", "max_pool3d",
                                  "adaptive_max_pool1d", "adaptive_max_pool2d",
                                  "adaptive_max_pool3d"])
def test_max_pools_take_input_keyword(rng, name):
    """PyTorch's max pools (``boolean_dispatch`` on ``return_indices``) take ``input=``."""
    nd = int(name[-2])
    data = rng.standard_normal((1, 2) + (4,) * nd)
    size = {"kernel_size": 2} if name.startswith("max") else {"output_size": 2}
    ours, idx = getattr(F, name)(input=cr.tensor(data), return_indices=True, **size)
    theirs, tidx = getattr(TF, name)(input=torch.tensor(data), return_indices=True, **size)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


_ACTIVATIONS = [("relu", {}), ("relu6", {}), ("elu", {"alpha": 0.7}), ("selu", {}),
                ("silu", {}), ("gelu", {"approximate": "tanh"}), ("softsign", {}),
                ("logsigmoid", {}), ("softplus", {"beta": 2.0, "threshold": 3.0}),
                ("leaky_relu", {"negative_slope": 0.2}),
                ("hardtanh", {"min_val": -0.5, "max_val": 0.5}), ("sigmoid", {}), ("tanh", {})]


def _activation_input_keyword_matches_pytorch_case(rng, name, kwargs):
    data = rng.standard_normal((3, 4))
    x, tx = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = getattr(F, name)(input=x, **kwargs), getattr(TF, name)(input=tx, **kwargs)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_activation_input_keyword_matches_pytorch():
    each_case(with_rng(_activation_input_keyword_matches_pytorch_case), grid(
        ("name, kwargs", _ACTIVATIONS, [a for a, _ in _ACTIVATIONS]),
    ))


_CONVS = [("conv1d", (2, 3, 7), (4, 3, 3)), ("conv2d", (2, 3, 5, 6), (4, 3, 3, 2)),
          ("conv3d", (1, 2, 4, 4, 3), (3, 2, 2, 2, 2)),
          ("conv_transpose1d", (2, 3, 5), (3, 4, 3)),
          ("conv_transpose2d", (2, 3, 4, 3), (3, 4, 2, 3)),
          ("conv_transpose3d", (1, 2, 3, 3, 2), (2, 3, 2, 2, 2))]


@pytest.mark.parametrize("name, x_shape, w_shape", _CONVS, ids=[c[0] for c in _CONVS])
def test_conv_keywords_match_pytorch(rng, name, x_shape, w_shape):
    """``F.conv2d(input=x, weight=w, bias=b, stride=..., padding=...)`` as PyTorch's; the
    transposed ones with PyTorch's positional order (output_padding before groups)."""
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out_c = w_shape[1] if "transpose" in name else w_shape[0]
    b = rng.standard_normal(out_c)
    extra = {"output_padding": 1, "stride": 2} if "transpose" in name else {"padding": 1}
    ours = getattr(F, name)(input=cr.tensor(x), weight=cr.tensor(w), bias=cr.tensor(b), **extra)
    theirs = getattr(TF, name)(input=torch.tensor(x), weight=torch.tensor(w),
                               bias=torch.tensor(b), **extra)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-10)
    unbatched = getattr(F, name)(input=cr.tensor(x[0]), weight=cr.tensor(w), **extra)
    assert unbatched.shape == tuple(ours.shape[1:])


def test_linear_dropout_norms_input_keyword_match_pytorch(rng):
    x = rng.standard_normal((4, 3, 5))
    w, b = rng.standard_normal((2, 5)), rng.standard_normal(2)
    np.testing.assert_allclose(
        F.linear(input=cr.tensor(x), weight=cr.tensor(w), bias=cr.tensor(b)).numpy(),
        TF.linear(input=torch.tensor(x), weight=torch.tensor(w), bias=torch.tensor(b)).numpy(),
        rtol=1e-12)
    g, s = rng.standard_normal(5), rng.standard_normal(5)
    np.testing.assert_allclose(
        F.layer_norm(input=cr.tensor(x), normalized_shape=(5,), weight=cr.tensor(g),
                     bias=cr.tensor(s)).numpy(),
        TF.layer_norm(input=torch.tensor(x), normalized_shape=(5,), weight=torch.tensor(g),
                      bias=torch.tensor(s)).numpy(), rtol=1e-10, atol=1e-12)
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    np.testing.assert_allclose(
        F.batch_norm(input=cr.tensor(x), running_mean=cr.tensor(mean),
                     running_var=cr.tensor(var)).numpy(),
        TF.batch_norm(input=torch.tensor(x), running_mean=torch.tensor(mean),
                      running_var=torch.tensor(var)).numpy(), rtol=1e-10, atol=1e-12)
    for name, t in (("dropout", cr.tensor(x)), ("dropout1d", cr.tensor(x)),
                    ("dropout2d", cr.tensor(x[None]))):
        assert getattr(F, name)(input=t, p=0.5, training=False) is t  # identity in eval
    assert F.dropout3d(input=cr.tensor(x[None]), p=0.0).shape == (1, 4, 3, 5)


def test_layer_norm_float16_by_keyword_computes_in_float32():
    """A float16 ``input=`` takes the float32 path as a positional one does (it overflowed)."""
    x = cr.tensor(np.array([[300.0, -300.0, 200.0, 0.0]]), dtype=cr.float16)
    by_keyword = F.layer_norm(input=x, normalized_shape=(4,))
    positional = F.layer_norm(x, (4,))
    assert by_keyword.dtype == cr.float16
    np.testing.assert_array_equal(by_keyword.numpy(), positional.numpy())
    assert np.isfinite(by_keyword.numpy()).all()


class _Squares(cr.data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.float64(i * i)


def test_dataloader_takes_pytorchs_positional_options():
    """PyTorch's order: dataset, batch_size, shuffle, sampler, batch_sampler, num_workers,
    collate_fn, pin_memory, drop_last, timeout, worker_init_fn, multiprocessing_context,
    generator (chainrule made sampler... keyword-only: a TypeError)."""
    from chainrule.data import DataLoader

    sampler = [9, 1, 4]
    ours = DataLoader(_Squares(), 2, False, sampler, None, 0, lambda s: [float(v) for v in s],
                      False, True, 0, None, None, None)
    assert list(ours) == [[81.0, 1.0]]  # drop_last=True (9th) left out the short batch
    assert ours.drop_last and ours.pin_memory is False and ours.timeout == 0
    data = torch.utils.data
    theirs = data.DataLoader([np.float64(i * i) for i in range(10)], 2, False, sampler, None, 0,
                             lambda s: [float(v) for v in s], False, True, 0, None, None, None)
    assert list(theirs) == [[81.0, 1.0]]
    batches = DataLoader(_Squares(), 1, False, None, [[0, 1], [2]])
    assert [b.tolist() for b in batches] == [[0.0, 1.0], [4.0]]
    gen = cr.Generator().manual_seed(3) if hasattr(cr, "Generator") else None
    if gen is not None:
        loader = DataLoader(_Squares(), 5, True, None, None, 0, None, False, False, 0, None,
                            None, gen)
        assert sorted(v for b in loader for v in b.tolist()) == [i * i for i in range(10)]


@pytest.mark.parametrize("drop_last, expected", [(False, 4), (True, 3)])
def test_len_of_a_dataloader_iterator(drop_last, expected):
    """``len(iter(loader))`` is ``len(loader)`` in PyTorch (its iterator has ``__len__``)."""
    from chainrule.data import DataLoader

    for workers in (0, 2):
        it = iter(DataLoader(_Squares(), 3, drop_last=drop_last, num_workers=workers))
        assert len(it) == expected == len(iter(torch.utils.data.DataLoader(
            list(range(10)), 3, drop_last=drop_last)))
        assert len(list(it)) == expected
        assert iter(it) is it


def _shared_modules():
    names = []
    for name in sorted(set(dir(torch.nn)) & set(dir(cr.nn))):
        theirs, ours = getattr(torch.nn, name), getattr(cr.nn, name)
        if inspect.isclass(theirs) and inspect.isclass(ours) \
                and issubclass(theirs, torch.nn.Module):
            names.append(name)
    return names


# chainrule's NumPy-style first names, with PyTorch's taken by keyword too (same positions).
_ALIASES = {"axis": "dim", "start_axis": "start_dim", "end_axis": "end_dim",
            "sizes": "unflattened_size"}


def _module_constructor_takes_pytorchs_positional_order_case(name):
    """``nn.X(a, b, c)`` binds as PyTorch's does: each of PyTorch's positional parameters (but
    ``device``/``dtype`` and Hardtanh's deprecated ``min_value``/``max_value``) is at the same
    position in chainrule's, by PyTorch's name or a NumPy-style alias taking it by keyword."""
    P = inspect.Parameter
    theirs = [p for p in list(inspect.signature(getattr(torch.nn, name).__init__)
                              .parameters.values())[1:]]
    ours = list(inspect.signature(getattr(cr.nn, name).__init__).parameters.values())[1:]
    if any(p.kind is P.VAR_POSITIONAL for p in theirs + ours):
        return
    skip = {"device", "dtype", "min_value", "max_value"}
    want = [p.name for p in theirs if p.kind is P.POSITIONAL_OR_KEYWORD and p.name not in skip]
    mine = [p.name for p in ours if p.kind in (P.POSITIONAL_OR_KEYWORD, P.POSITIONAL_ONLY)]
    keywords = {p.name for p in ours}
    got = [_ALIASES.get(n, n) if _ALIASES.get(n) in keywords else n for n in mine[:len(want)]]
    assert got == want, f"nn.{name}: ours {mine}, PyTorch's {want}"


def test_module_constructor_takes_pytorchs_positional_order():
    each_case(_module_constructor_takes_pytorchs_positional_order_case, grid(
        ("name", _shared_modules()),
    ))


def test_embedding_bag_positional_order_matches_pytorch(rng):
    """PyTorch's order (num_embeddings, embedding_dim, max_norm, norm_type, scale_grad_by_freq,
    mode, sparse, _weight, include_last_offset, padding_idx); a string third is still ``mode``
    (chainrule's earlier order), and ``from_pretrained`` takes PyTorch's order too."""
    table = rng.standard_normal((6, 3))
    ours = cr.nn.EmbeddingBag(6, 3, None, 2.0, False, "max", False, cr.tensor(table), True, 0)
    theirs = torch.nn.EmbeddingBag(6, 3, None, 2.0, False, "max", False, torch.tensor(table),
                                   True, 0)
    ids, offsets = [1, 2, 0, 4, 5, 3], [0, 2, 6]
    np.testing.assert_allclose(
        ours(cr.tensor(ids), cr.tensor(offsets)).detach().numpy(),
        theirs(torch.tensor(ids), torch.tensor(offsets)).detach().numpy(), rtol=1e-12)
    assert ours.mode == "max" and ours.include_last_offset and ours.padding_idx == 0
    assert cr.nn.EmbeddingBag(6, 3, "sum", rng=rng).mode == "sum"
    with pytest.raises(TypeError, match="mode given twice"):
        cr.nn.EmbeddingBag(6, 3, "sum", mode="max")
    pre = cr.nn.EmbeddingBag.from_pretrained(cr.tensor(table), True, None, 2.0, False, "sum")
    tpre = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(table), True, None, 2.0, False,
                                                 "sum")
    np.testing.assert_allclose(pre(cr.tensor([[1, 2]])).detach().numpy(),
                               tpre(torch.tensor([[1, 2]])).detach().numpy(), rtol=1e-12)
