"""chainrule.trace: a recorded model replays the same arrays as the model itself, or refuses."""

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, Function, nn
from chainrule.autograd import TraceError


def _rng(seed=0):
    return np.random.default_rng(seed)


def _images(n, size=28, channels=1, seed=1):
    return cr.tensor(_rng(seed).random((n, channels, size, size), dtype=np.float32))


def _eager(fn, *inputs):
    with cr.no_grad():
        return fn(*inputs)


def _same(a, b):
    """Bit for bit: a trace runs the very kernels the model runs."""
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def _leaves(out):
    if isinstance(out, cr.Tensor):
        return [out]
    return [t for item in out for t in _leaves(item)]


def _models():
    rng = _rng()
    return {
        "lenet5_modern": (cr.models.LeNet5("modern", rng=rng), (1, 1, 28, 28)),
        "lenet5_classic": (cr.models.LeNet5("classic", rng=rng), (3, 1, 28, 28)),
        "small_cnn": (cr.models.SmallCNN(input_size=8, rng=rng), (5, 1, 8, 8)),
        "mlp": (cr.models.MLP((64, 32, 10), rng=rng), (7, 64)),
        "batchnorm_dropout": (nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng),
                                            nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                                            nn.AvgPool2d(2), nn.Flatten(),
                                            nn.Linear(4 * 3 * 3, 3, rng=rng), nn.Softmax(dim=1)),
                              (4, 2, 6, 6)),
        "conv_transpose": (nn.Sequential(nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                            output_padding=1, rng=rng),
                                         nn.Sigmoid()), (2, 3, 5, 5)),
        "lstm": (nn.LSTM(5, 6, rng=rng), (4, 3, 5)),  # returns (output, (h, c))
        "conv1d_tanh": (nn.Sequential(nn.Conv1d(3, 4, 3, rng=rng), nn.Tanh(), nn.MaxPool1d(2)),
                        (2, 3, 11)),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_trace_replays_the_models_own_results(name):
    model, shape = _models()[name]
    model.eval()
    x = cr.tensor(_rng(3).standard_normal(shape).astype(np.float32))
    traced = cr.trace(model, x)
    for seed in (3, 4):  # the example and a new input of the same signature
        x = cr.tensor(_rng(seed).standard_normal(shape).astype(np.float32))
        got, want = _leaves(traced(x)), _leaves(_eager(model, x))
        assert len(got) == len(want)
        for a, b in zip(got, want):
            _same(a, b)
            assert not a.requires_grad
    assert len(traced.signatures) == 1


def test_the_same_tensor_twice_is_traced_as_two_inputs():
    def f(a, b):
        return a * 2 - b

    x = cr.tensor([1.0, 2.0])
    traced = cr.trace(f, x, x)
    assert traced(cr.tensor([3.0, 4.0]), cr.tensor([1.0, 1.0])).tolist() == [5.0, 7.0]


def test_float64_traces_stay_float64():
    model = cr.models.MLP((6, 5, 2), rng=_rng()).to(dtype="float64").eval()
    x = cr.tensor(_rng(2).standard_normal((3, 6)))
    out = cr.trace(model, x)(x)
    assert out.dtype == np.float64
    _same(out, _eager(model, x))


def test_a_new_signature_is_traced_on_first_use():
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    traced = cr.trace(model, _images(1))
    for n in (4, 1, 4):
        x = _images(n, seed=n)
        _same(traced(x), _eager(model, x))
    assert [s[0][0] for s in traced.signatures] == [(1, 1, 28, 28), (4, 1, 28, 28)]
    assert traced.signatures[0][0][1:] == (np.dtype(np.float32), "cpu")
    traced(_images(2).numpy())  # a plain array is an input too
    assert len(traced.signatures) == 3


def test_the_trace_reads_parameters_at_every_call():
    model = nn.Sequential(nn.Linear(4, 3, rng=_rng()), nn.ReLU(), nn.Linear(3, 2, rng=_rng(1)))
    model.eval()
    x = cr.tensor(_rng(2).standard_normal((5, 4)).astype(np.float32))
    traced = cr.trace(model, x)
    with cr.no_grad():
        model[0].weight.mul_(-2)  # in place, as an optimizer step does
    _same(traced(x), _eager(model, x))
    state = {k: v * 3 for k, v in model.state_dict().items()}
    model.load_state_dict(state)  # new arrays
    _same(traced(x), _eager(model, x))
    model[2].bias.data = model[2].bias._data + 1  # a replaced array
    _same(traced(x), _eager(model, x))


def test_training_then_tracing_follows_the_optimizer():
    model = cr.models.MLP((8, 6, 3), rng=_rng())
    x = cr.tensor(_rng(1).standard_normal((10, 8)).astype(np.float32))
    t = cr.tensor(_rng(2).integers(0, 3, 10))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    model.eval()
    traced = cr.trace(model, x)
    for _ in range(3):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x), t).backward()
        opt.step()
        model.eval()
        _same(traced(x), _eager(model, x))


def test_python_numbers_become_constants_and_functions_trace_too():
    w = cr.tensor(_rng().standard_normal((3, 3)))

    def f(x, y):
        return (x @ w * 2 + 1).exp() - y.sigmoid(), (x + y).sum(axis=0)

    x, y = (cr.tensor(_rng(s).standard_normal((4, 3))) for s in (1, 2))
    traced = cr.trace(f, x, y)
    got, want = traced(x, y), _eager(f, x, y)
    assert isinstance(got, tuple) and len(got) == 2
    for a, b in zip(got, want):
        _same(a, b)
    x2 = cr.tensor(_rng(5).standard_normal((4, 3)))
    for a, b in zip(traced(x2, y), _eager(f, x2, y)):
        _same(a, b)


def test_a_namedtuple_output_stays_one():
    from collections import namedtuple

    Pair = namedtuple("Pair", "double half")
    got = cr.trace(lambda x: Pair(x * 2, x / 2), cr.tensor([1.0]))(cr.tensor([4.0]))
    assert isinstance(got, Pair) and got.double.tolist() == [8.0] and got.half.tolist() == [2.0]


def test_outputs_keep_their_container_and_may_be_inputs_or_parameters():
    p = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(x):
        return [x, x * p, p]

    x = cr.tensor([3.0, 4.0])
    got = cr.trace(f, x)(x)
    assert isinstance(got, list) and len(got) == 3
    assert got[1].tolist() == [3.0, 8.0] and got[2].tolist() == [1.0, 2.0]
    np.testing.assert_array_equal(got[0].numpy(), x.numpy())


class _Split(Function):
    """Two outputs from one node."""

    def forward(self, x):
        return x[: self.k], x[self.k:] * self.scale

    def backward(self, g1, g2):  # pragma: no cover - not used here
        raise NotImplementedError


class _Shift(Function):
    """A Function with its own __init__ (apply then calls it with the settings)."""

    def __init__(self, by):
        self.by = by

    def forward(self, x):
        return x + self.by

    def backward(self, g):  # pragma: no cover - not used here
        return g


def test_multi_output_nodes_and_functions_with_an_init():
    def f(x):
        a, b = _Split.apply(x, k=2, scale=3.0)
        return _Shift.apply(b, by=10.0), a

    x = cr.tensor([1.0, 2.0, 3.0, 4.0])
    traced = cr.trace(f, x)
    y = cr.tensor([5.0, 6.0, 7.0, 8.0])
    first, second = traced(y)
    assert first.tolist() == [31.0, 34.0] and second.tolist() == [5.0, 6.0]


def test_the_generated_code_names_the_parameters():
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    traced = cr.trace(model, _images(1))
    assert "features.0.weight" in traced.code and "classifier.3.bias" in traced.code
    assert traced.code.startswith("def replay(x0):")
    assert "LeNet5" in repr(traced)


def test_big_intermediates_are_freed_as_soon_as_they_are_used():
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    x = _images(64)
    traced = cr.trace(model, x)
    assert "del " in traced.code
    _same(traced(x), _eager(model, x))
    small = cr.trace(model, _images(1))
    assert "del " not in small.code  # at batch 1, freeing would cost more than it saves


def test_a_model_in_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(2, 2, rng=_rng()), nn.Dropout(0.5))
    with pytest.raises(ValueError, match=r"training mode.*\.eval\(\)"):
        cr.trace(model, cr.tensor([[1.0, 2.0]]))


def test_inputs_that_require_grad_are_refused():
    model = nn.Linear(2, 2, rng=_rng()).eval()
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(ValueError, match="input 0 requires grad"):
        cr.trace(model, x)
    traced = cr.trace(model, x.detach())
    with pytest.raises(ValueError, match="input 0 requires grad"):
        traced(x)


@pytest.mark.parametrize("bad, match", [
    ((), "at least one input"),
    (("text",), "input 0 must be a Tensor or an array, got str"),
])
def test_bad_inputs_are_named(bad, match):
    with pytest.raises(TypeError, match=match):
        cr.trace(lambda x: x, *bad)


def test_fn_must_be_callable_and_return_tensors():
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        cr.trace(3, cr.tensor([1.0]))
    with pytest.raises(TypeError, match=r"or \(nested\) tuples/lists of Tensors, got float"):
        cr.trace(lambda x: x.sum().item(), cr.tensor([1.0]))


def test_a_detached_tensor_inside_the_model_is_replayed_as_its_source():
    def f(x):  # x.detach() of an input and of an op's output, and a detached output
        y = x.exp()
        return x.detach() * 2 + y.detach(), y.detach()

    traced = cr.trace(f, cr.tensor([1.0, 2.0]))
    for v in ([1.0, 2.0], [-3.0, 0.5]):
        got, want = traced(cr.tensor(v)), f(cr.tensor(v))
        for a, b in zip(got, want):
            _same(a, b)
    with pytest.raises(TraceError, match="shares memory with the traced computation"):
        cr.trace(lambda x: cr.from_numpy(x.numpy()) * 2 + x, cr.tensor([1.0, 2.0]))


def test_an_input_array_used_as_a_constant_is_refused():
    def f(x):
        return x * 2 + x._data  # x.data enters the op as a plain array

    with pytest.raises(TraceError, match="takes an array that shares memory"):
        cr.trace(f, cr.tensor([1.0, 2.0]))


def test_lstm_outputs_keep_their_nesting():
    lstm = nn.LSTM(3, 4, rng=_rng()).eval()
    x = cr.tensor(_rng(1).standard_normal((2, 5, 3)).astype(np.float32))
    out, (h, c) = cr.trace(lstm, x)(x)
    want, (wh, wc) = _eager(lstm, x)
    for a, b in ((out, want), (h, wh), (c, wc)):
        _same(a, b)


def test_an_index_taken_from_an_input_is_refused():
    table = cr.tensor(_rng().standard_normal((10, 3)))

    def lookup(ids):
        return table[ids._data]  # the array, not the Tensor: a setting of the node

    with pytest.raises(TraceError, match="setting 'index'"):
        cr.trace(lookup, cr.tensor(np.array([1, 2, 3])))


def test_embedding_ids_are_inputs_of_the_lookup_so_it_traces():
    model = nn.Sequential(nn.Embedding(10, 4, rng=_rng()), nn.Flatten(),
                          nn.Linear(12, 2, rng=_rng(1))).eval()
    traced = cr.trace(model, cr.tensor(np.array([[1, 2, 3], [4, 5, 6]])))
    for ids in ([[0, 9, 9], [3, 3, 1]], [[7, 8, 2], [5, 0, 4]]):
        ids = cr.tensor(np.array(ids))
        _same(traced(ids), _eager(model, ids))


def test_a_traced_embedding_still_checks_its_ids():
    model = nn.Embedding(10, 4, rng=_rng()).eval()
    traced = cr.trace(model, cr.tensor(np.array([1, 2, 3])))
    for bad in (10, -1):
        with pytest.raises(IndexError, match=f"^Embedding: id {bad} is out of range for 10"):
            traced(cr.tensor(np.array([1, bad, 3])))


def test_a_scalar_index_made_by_an_op_is_read_at_every_call():
    def f(x):
        return x[F.argmax(x[:, 0])]  # the row with the largest first entry

    x = cr.tensor([[1.0, 5.0], [3.0, 6.0], [2.0, 7.0]])
    traced = cr.trace(f, x)
    y = cr.tensor([[9.0, 1.0], [3.0, 2.0], [2.0, 3.0]])
    assert traced(y).tolist() == [9.0, 1.0]
    _same(traced(y), _eager(f, y))


def test_comparisons_signs_and_integer_casts_are_computed_at_every_call():
    w = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)  # the integer cast's input needs a grad

    def f(x):
        mask = x > 0
        return F.where(mask, x, x * 0.1) + F.sign(x) + (x == w) + (x * w).astype("int64")

    x = cr.tensor([1.0, -2.0, 0.5])
    traced = cr.trace(f, x)
    for values in ([-3.0, 4.0, 0.0], [1.0, -2.0, 3.0]):
        y = cr.tensor(values)
        _same(traced(y), _eager(f, y))


def test_batch_norm_statistics_are_read_at_every_call():
    model = nn.Sequential(nn.Linear(3, 4, rng=_rng()), nn.BatchNorm1d(4)).eval()
    x = cr.tensor(_rng(1).standard_normal((5, 3)).astype(np.float32))
    traced = cr.trace(model, x)
    model.train()
    model(cr.tensor(_rng(2).standard_normal((8, 3)).astype(np.float32)))  # updates them in place
    model.eval()
    _same(traced(x), _eager(model, x))
    state = model.state_dict()
    state["1.running_var"] = state["1.running_var"] * 4  # new arrays
    model.load_state_dict(state)
    _same(traced(x), _eager(model, x))


def test_check_inputs_catch_python_that_depends_on_values():
    def f(x):
        return x * 2 if x.sum().item() > 0 else x * 3

    positive, negative = cr.tensor([1.0, 2.0]), cr.tensor([-1.0, -2.0])
    cr.trace(f, positive, check_inputs=[cr.tensor([3.0, 1.0])])  # the same branch: fine
    with pytest.raises(TraceError, match=r"check_inputs\[0\].*output 0 of the trace differs"):
        cr.trace(f, positive, check_inputs=[(negative,)])


def test_check_compares_on_demand():
    traced = cr.trace(lambda x: x * 2 if x.sum().item() > 0 else x * 3, cr.tensor([1.0]))
    traced.check(cr.tensor([2.0]))
    with pytest.raises(TraceError, match=r"check: output 0 of the trace differs"):
        traced.check(cr.tensor([-2.0]))


def test_nested_traces_are_refused_and_the_recorder_is_removed():
    inner = cr.trace(lambda x: x * 2, cr.tensor([1.0]))

    def outer(x):
        return inner(cr.tensor([5.0, 6.0])) + x  # a new signature: inner traces again

    with pytest.raises(TraceError, match="already being recorded"):
        cr.trace(outer, cr.tensor([1.0, 2.0]))
    from chainrule.autograd import mode

    assert mode._trace_recorder.get() is None
    assert (cr.tensor([1.0]) * 3).tolist() == [3.0]


def test_ops_of_other_threads_are_not_recorded():
    started, release = threading.Event(), threading.Event()
    seen = []

    def other():
        started.set()
        release.wait(5)
        seen.append((cr.tensor([1.0]) + 1).tolist())

    def f(x):
        release.set()
        thread.join(5)
        return x * 2

    thread = threading.Thread(target=other)
    thread.start()
    started.wait(5)
    traced = cr.trace(f, cr.tensor([1.0, 2.0]))
    assert seen == [[2.0]]
    assert traced.code.count("forward(") == 1
