"""The d2l.ai book's 1.0 PyTorch code written from memory, run with ``torch`` = PyTorch or
chainrule (test_port14_programs.py): the book's own small library (``HyperParameters
.save_hyperparameters`` by ``inspect.getargvalues`` of the caller's frame, which registers a
module passed as an argument, ``Module``/``Classifier`` with ``training_step`` and ``accuracy`` by
``argmax(axis=1).type(Y.dtype)``, a ``Trainer`` that runs ``loss.backward()`` and the optimizer
step inside ``torch.no_grad()`` and clips gradients by ``param.grad[:] *= clip / norm``,
``DataModule.get_tensorloader``), then the chapters: dropout from scratch (``(torch.rand(X.shape)
> dropout).float()`` masks only while ``self.training``), weight decay from scratch
(``torch.normal(0, sigma, (n, 1), requires_grad=True)`` fitted by the book's own ``SGD``
optimizer class, an ``l2_penalty``) and concise (``nn.LazyLinear`` whose uninitialised
``weight.data.normal_`` is a no-op, per-group ``weight_decay``), and batch normalization from
scratch (``batch_norm`` choosing its mode by ``torch.is_grad_enabled()``, moving statistics kept
as plain tensor attributes replaced by ``.data`` each call) in a LeNet of ``nn.LazyConv2d``.
The loaders do not shuffle: the two libraries' draws differ.
"""

from __future__ import annotations

import inspect


def d2l(torch):
    """The parts of the book's ``d2l`` package the chapters below use."""
    nn = torch.nn
    F = torch.nn.functional

    class HyperParameters:
        def save_hyperparameters(self, ignore=[]):  # noqa: B006 - the book's signature
            """Save function arguments into class attributes."""
            frame = inspect.currentframe().f_back
            _, _, _, local_vars = inspect.getargvalues(frame)
            self.hparams = {k: v for k, v in local_vars.items()
                            if k not in set(ignore + ['self']) and not k.startswith('_')}
            for k, v in self.hparams.items():
                setattr(self, k, v)

    class Module(nn.Module, HyperParameters):
        """The base class of models."""

        def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
            super().__init__()
            self.save_hyperparameters()
            self.board = []

        def loss(self, y_hat, y):
            raise NotImplementedError

        def forward(self, X):
            assert hasattr(self, 'net'), 'Neural network is defined'
            return self.net(X)

        def plot(self, key, value, train):
            """Plot a point in animation (here: keep it)."""
            self.board.append((key, train, value.to(torch.device('cpu')).detach().numpy()))

        def training_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
            self.plot('loss', l, train=True)
            return l

        def validation_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
            self.plot('loss', l, train=False)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.lr)

        def apply_init(self, inputs, init=None):
            self.forward(*inputs)
            if init is not None:
                self.net.apply(init)

    class Classifier(Module):
        """The base class of classification models."""

        def validation_step(self, batch):
            Y_hat = self(*batch[:-1])
            self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
            self.plot('acc', self.accuracy(Y_hat, batch[-1]), train=False)

        def accuracy(self, Y_hat, Y, averaged=True):
            """Compute the number of correct predictions."""
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            preds = Y_hat.argmax(axis=1).type(Y.dtype)
            compare = (preds == Y.reshape(-1)).type(torch.float32)
            return compare.mean() if averaged else compare

        def loss(self, Y_hat, Y, averaged=True):
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            Y = Y.reshape((-1,))
            return F.cross_entropy(Y_hat, Y, reduction='mean' if averaged else 'none')

    class DataModule(HyperParameters):
        """The base class of data."""

        def __init__(self, root='../data', num_workers=4):
            self.save_hyperparameters()

        def get_dataloader(self, train):
            raise NotImplementedError

        def train_dataloader(self):
            return self.get_dataloader(train=True)

        def val_dataloader(self):
            return self.get_dataloader(train=False)

        def get_tensorloader(self, tensors, train, indices=slice(0, None)):
            tensors = tuple(a[indices] for a in tensors)
            dataset = torch.utils.data.TensorDataset(*tensors)
            return torch.utils.data.DataLoader(dataset, self.batch_size, shuffle=False)

    class Trainer(HyperParameters):
        """The base class for training models with data."""

        def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
            self.save_hyperparameters()
            assert num_gpus == 0, 'No GPU support yet'

        def prepare_data(self, data):
            self.train_dataloader = data.train_dataloader()
            self.val_dataloader = data.val_dataloader()
            self.num_train_batches = len(self.train_dataloader)
            self.num_val_batches = (len(self.val_dataloader)
                                    if self.val_dataloader is not None else 0)

        def prepare_model(self, model):
            model.trainer = self
            self.model = model

        def fit(self, model, data):
            self.prepare_data(data)
            self.prepare_model(model)
            self.optim = model.configure_optimizers()
            self.epoch = 0
            self.train_batch_idx = 0
            self.val_batch_idx = 0
            for self.epoch in range(self.max_epochs):  # noqa: B020 - the book's loop
                self.fit_epoch()

        def prepare_batch(self, batch):
            return batch

        def fit_epoch(self):
            self.model.train()
            for batch in self.train_dataloader:
                loss = self.model.training_step(self.prepare_batch(batch))
                self.optim.zero_grad()
                with torch.no_grad():
                    loss.backward()
                    if self.gradient_clip_val > 0:
                        self.clip_gradients(self.gradient_clip_val, self.model)
                    self.optim.step()
                self.train_batch_idx += 1
            if self.val_dataloader is None:
                return
            self.model.eval()
            for batch in self.val_dataloader:
                with torch.no_grad():
                    self.model.validation_step(self.prepare_batch(batch))
                self.val_batch_idx += 1

        def clip_gradients(self, grad_clip_val, model):
            params = [p for p in model.parameters() if p.requires_grad]
            norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
            if norm > grad_clip_val:
                for param in params:
                    param.grad[:] *= grad_clip_val / norm

    class SGD(HyperParameters):
        """Minibatch stochastic gradient descent."""

        def __init__(self, params, lr):
            self.save_hyperparameters()

        def step(self):
            for param in self.params:
                param -= self.lr * param.grad

        def zero_grad(self):
            for param in self.params:
                if param.grad is not None:
                    param.grad.zero_()

    def init_cnn(module):
        """Initialize weights for CNNs."""
        if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
            nn.init.xavier_uniform_(module.weight)

    class Lib:
        pass

    lib = Lib()
    for name, value in list(locals().items()):
        if name not in ('lib', 'Lib', 'torch', 'nn', 'F'):
            setattr(lib, name, value)
    return lib


def tensor_data(torch, X, y, num_train, batch_size):
    """A ``DataModule`` over given tensors: the first ``num_train`` rows train, the rest
    validate."""
    book = d2l(torch)

    class TensorData(book.DataModule):
        def __init__(self, X, y, num_train, batch_size):
            super().__init__()
            self.save_hyperparameters()

        def get_dataloader(self, train):
            i = slice(0, self.num_train) if train else slice(self.num_train, None)
            return self.get_tensorloader((self.X, self.y), train, i)

    return TensorData(X, y, num_train, batch_size)


def dropout_layer(torch, X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


def dropout_mlp(torch, num_outputs=3, num_hiddens_1=8, num_hiddens_2=6, dropout_1=0.5,
                dropout_2=0.2, lr=0.1, concise=False):
    nn = torch.nn
    book = d2l(torch)

    class DropoutMLPScratch(book.Classifier):
        def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
            super().__init__()
            self.save_hyperparameters()
            self.lin1 = nn.LazyLinear(num_hiddens_1)
            self.lin2 = nn.LazyLinear(num_hiddens_2)
            self.lin3 = nn.LazyLinear(num_outputs)
            self.relu = nn.ReLU()

        def forward(self, X):
            H1 = self.relu(self.lin1(X.reshape((X.shape[0], -1))))
            if self.training:
                H1 = dropout_layer(torch, H1, self.dropout_1)
            H2 = self.relu(self.lin2(H1))
            if self.training:
                H2 = dropout_layer(torch, H2, self.dropout_2)
            return self.lin3(H2)

    class DropoutMLP(book.Classifier):
        def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(
                nn.Flatten(), nn.LazyLinear(num_hiddens_1), nn.ReLU(),
                nn.Dropout(dropout_1), nn.LazyLinear(num_hiddens_2), nn.ReLU(),
                nn.Dropout(dropout_2), nn.LazyLinear(num_outputs))

    cls = DropoutMLP if concise else DropoutMLPScratch
    return cls(num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr)


def fit(torch, model, data, max_epochs=3, gradient_clip_val=0):
    trainer = d2l(torch).Trainer(max_epochs=max_epochs, gradient_clip_val=gradient_clip_val)
    trainer.fit(model, data)
    return ([(key, train, float(value)) for key, train, value in model.board],
            {k: v.detach().numpy().copy() for k, v in model.state_dict().items()})


def l2_penalty(w):
    return (w ** 2).sum() / 2


def weight_decay_scratch(torch, data, lambd, lr=0.01, sigma=0.01, max_epochs=4):
    book = d2l(torch)

    class LinearRegressionScratch(book.Module):
        """The linear regression model implemented from scratch."""

        def __init__(self, num_inputs, lr, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
            self.b = torch.zeros(1, requires_grad=True)

        def forward(self, X):
            return torch.matmul(X, self.w) + self.b

        def loss(self, y_hat, y):
            l = (y_hat - y) ** 2 / 2  # noqa: E741
            return l.mean()

        def configure_optimizers(self):
            return book.SGD([self.w, self.b], self.lr)

    class WeightDecayScratch(LinearRegressionScratch):
        def __init__(self, num_inputs, lambd, lr, sigma=0.01):
            super().__init__(num_inputs, lr, sigma)
            self.save_hyperparameters()

        def loss(self, y_hat, y):
            return (super().loss(y_hat, y) + self.lambd * l2_penalty(self.w))

    model = WeightDecayScratch(num_inputs=data.X.shape[1], lambd=lambd, lr=lr, sigma=sigma)
    board, _ = fit(torch, model, data, max_epochs)
    return board, float(l2_penalty(model.w)), model.w.detach().numpy().copy()


def weight_decay_concise(torch, data, wd, lr=0.01, max_epochs=4):
    nn = torch.nn
    book = d2l(torch)

    class LinearRegression(book.Module):
        """The linear regression model implemented with high-level APIs."""

        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.LazyLinear(1)
            self.net.weight.data.normal_(0, 0.01)
            self.net.bias.data.fill_(0)

        def forward(self, X):
            return self.net(X)

        def loss(self, y_hat, y):
            fn = nn.MSELoss()
            return fn(y_hat, y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), self.lr)

    class WeightDecay(LinearRegression):
        def __init__(self, wd, lr):
            super().__init__(lr)
            self.save_hyperparameters()
            self.wd = wd

        def configure_optimizers(self):
            return torch.optim.SGD([
                {'params': self.net.weight, 'weight_decay': self.wd},
                {'params': self.net.bias}], lr=self.lr)

    return WeightDecay(wd=wd, lr=lr)


def batch_norm(torch, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    # Use is_grad_enabled to determine whether we are in training mode
    if not torch.is_grad_enabled():
        # In prediction mode, use mean and variance obtained by moving average
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            # When using a fully connected layer, calculate the mean and
            # variance on the feature dimension
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            # When using a two-dimensional convolutional layer, calculate the
            # mean and variance on the channel dimension (axis=1). Here we
            # need to maintain the shape of `X`, so that the broadcasting
            # operation can be carried out later
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        # In training mode, the current mean and variance are used
        X_hat = (X - mean) / torch.sqrt(var + eps)
        # Update the mean and variance using moving average
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta  # Scale and shift
    return Y, moving_mean.data, moving_var.data


def bn_lenet(torch, lr=0.1, num_classes=3, concise=False):
    nn = torch.nn
    book = d2l(torch)

    class BatchNorm(nn.Module):
        # num_features: the number of outputs for a fully connected layer or the
        # number of output channels for a convolutional layer. num_dims: 2 for a
        # fully connected layer and 4 for a convolutional layer
        def __init__(self, num_features, num_dims):
            super().__init__()
            if num_dims == 2:
                shape = (1, num_features)
            else:
                shape = (1, num_features, 1, 1)
            # The scale parameter and the shift parameter (model parameters) are
            # initialized to 1 and 0, respectively
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            # The variables that are not model parameters are initialized to 0 and 1
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, X):
            # If `X` is not on the main memory, copy `moving_mean` and
            # `moving_var` to the device where `X` is located
            if self.moving_mean.device != X.device:
                self.moving_mean = self.moving_mean.to(X.device)
                self.moving_var = self.moving_var.to(X.device)
            # Save the updated `moving_mean` and `moving_var`
            Y, self.moving_mean, self.moving_var = batch_norm(
                torch, X, self.gamma, self.beta, self.moving_mean,
                self.moving_var, eps=1e-5, momentum=0.1)
            return Y

    def bn(n, dims):
        return (nn.LazyBatchNorm2d() if dims == 4 else nn.LazyBatchNorm1d()) if concise \
            else BatchNorm(n, num_dims=dims)

    class BNLeNetScratch(book.Classifier):
        def __init__(self, lr=0.1, num_classes=10):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(
                nn.LazyConv2d(6, kernel_size=5), bn(6, 4),
                nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
                nn.LazyConv2d(16, kernel_size=5), bn(16, 4),
                nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
                nn.Flatten(), nn.LazyLinear(120),
                bn(120, 2), nn.Sigmoid(), nn.LazyLinear(84),
                bn(84, 2), nn.Sigmoid(),
                nn.LazyLinear(num_classes))

    model = BNLeNetScratch(lr=lr, num_classes=num_classes)
    with torch.no_grad():  # materialise the lazy layers without touching the moving statistics
        model.apply_init([torch.zeros(2, 1, 28, 28)], book.init_cnn)
    return model


def bn_moving_stats(model):
    """The scratch BatchNorm layers' moving statistics (plain tensor attributes)."""
    return [(m.moving_mean.detach().numpy().copy(), m.moving_var.detach().numpy().copy())
            for m in model.net if hasattr(m, 'moving_mean')]
