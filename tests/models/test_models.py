import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn
from chainrule.models import MLP, LeNet5, Perceptron, SmallCNN

AND = (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32), np.array([0, 0, 0, 1]))
OR = (AND[0], np.array([0, 1, 1, 1]))
XOR = (AND[0], np.array([0, 1, 1, 0]))


@pytest.mark.parametrize("problem", [AND, OR], ids=["AND", "OR"])
def test_perceptron_learns_linearly_separable_functions(problem):
    x, t = problem
    p = Perceptron(2, rng=np.random.default_rng(0))
    mistakes = p.fit(x, t, epochs=50)
    assert mistakes[-1] == 0
    np.testing.assert_array_equal(p.predict(x)[:, 0], t)


def test_perceptron_fails_on_xor_where_an_mlp_succeeds():
    x, t = XOR
    p = Perceptron(2, rng=np.random.default_rng(0))
    mistakes = p.fit(x, t, epochs=100)
    assert len(mistakes) == 100 and min(mistakes) > 0  # never converges: not linearly separable
    assert (p.predict(x)[:, 0] == t).mean() < 1.0

    rng = np.random.default_rng(1)
    mlp = MLP((2, 8, 2), activation="tanh", rng=rng)
    opt = cr.optim.Adam(mlp.parameters(), lr=0.05)
    for _ in range(300):
        loss = cr.F.cross_entropy(mlp(cr.tensor(x)), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (mlp(cr.tensor(x)).numpy().argmax(1) == t).all()


def test_lenet5_shapes_and_parameter_count():
    for variant in ("classic", "modern"):
        net = LeNet5(variant, rng=np.random.default_rng(0))
        out = net(cr.tensor(np.zeros((2, 1, 28, 28), np.float32)))
        assert out.shape == (2, 10)
    # C1 156 + C3 2416 + C5 48120 + F6 10164 + output 850 (full C3 connectivity)
    assert LeNet5(rng=np.random.default_rng(0)).num_parameters() == 61706
    assert LeNet5(input_size=32, rng=np.random.default_rng(0))(
        cr.tensor(np.zeros((1, 1, 32, 32), np.float32))).shape == (1, 10)


def test_small_cnn_overfits_a_small_batch():
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 8, 8)).astype(np.float32)
    y = np.arange(16) % 10
    net = SmallCNN(rng=rng)
    opt = cr.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(150):
        loss = cr.F.cross_entropy(net(cr.tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


@pytest.mark.kernel_free
def test_registry_builds_and_rejects_unknown_names():
    net = models.build("mlp", sizes=[64, 16, 10], rng=np.random.default_rng(0))
    assert isinstance(net, MLP) and net.config == {"name": "mlp", "kwargs": {"sizes": [64, 16, 10]}}
    again = models.build_from_config(net.config)
    assert [p.shape for p in again.parameters()] == [p.shape for p in net.parameters()]
    with pytest.raises(ValueError, match="unknown model 'resnet'; known models: .*lenet5"):
        models.build("resnet")
    names = [m.name for m in models.available()]
    assert {"perceptron", "mlp", "lenet5", "small_cnn"} <= set(names)


@pytest.mark.kernel_free
def test_model_validation_messages():
    with pytest.raises(ValueError, match="variant must be 'classic' or 'modern'"):
        LeNet5("tiny")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP((4, 2), activation="swish")
    with pytest.raises(ValueError, match="at least two positive widths"):
        MLP((4,))
    assert isinstance(MLP((4, 3, 2), dropout=0.5, rng=np.random.default_rng(0)).layers[3],
                      nn.Dropout)
