"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port14_programs.py): pytorch/examples mnist_hogwild (``main.py``'s device choice through
``torch.cuda.is_available()`` and ``torch.backends.mps.is_available()``, ``model.share_memory()``,
workers started by ``torch.multiprocessing.Process`` and joined, or run one after the other in
this process; ``train.py``'s ``torch.manual_seed(args.seed + rank)``, a ``DataLoader`` per worker
from ``**dataloader_kwargs``, momentum SGD, the log line with ``os.getpid()`` and ``100. *
batch_idx / len(data_loader)``, the test loop summing ``nll_loss(reduction='sum').item()`` and
``output.max(1)[1]``), and the d2l.ai book's attention-pooling chapters (Nadaraya-Watson
regression with Gaussian, boxcar, constant and Epanechikov kernels, ``kernel(dists).type(
torch.float32)``, ``y_train@attention_w``; the parametric ``NWKernelRegression`` with
``queries.repeat_interleave(keys.shape[1])``, the attention weights kept as a module attribute,
``torch.bmm`` of ``unsqueeze`` d weights and values, keys by ``X_tile[(1 - torch.eye(n)).type(
torch.bool)]``, ``MSELoss(reduction='none')`` summed).
"""

from __future__ import annotations

import os


def hogwild_net(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()  # noqa: UP008
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def hogwild_main(torch, model, args, dataset1, dataset2, in_process=True):
    """main.py after its argument parsing: ``in_process`` runs the workers one after the other
    here instead of in ``torch.multiprocessing`` processes."""
    F = torch.nn.functional
    optim = torch.optim
    mp = torch.multiprocessing
    log = []

    def train(rank, args, model, device, dataset, dataloader_kwargs):
        torch.manual_seed(args.seed + rank)
        train_loader = torch.utils.data.DataLoader(dataset, **dataloader_kwargs)
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
        for epoch in range(1, args.epochs + 1):
            train_epoch(epoch, args, model, device, train_loader, optimizer)

    def test(args, model, device, dataset, dataloader_kwargs):
        torch.manual_seed(args.seed)
        test_loader = torch.utils.data.DataLoader(dataset, **dataloader_kwargs)
        return test_epoch(model, device, test_loader)

    def train_epoch(epoch, args, model, device, data_loader, optimizer):
        model.train()
        pid = os.getpid()
        for batch_idx, (data, target) in enumerate(data_loader):
            optimizer.zero_grad()
            output = model(data.to(device))
            loss = F.nll_loss(output, target.to(device))
            loss.backward()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                log.append('{}\tTrain Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(  # noqa: UP032
                    pid, epoch, batch_idx * len(data), len(data_loader.dataset),
                    100. * batch_idx / len(data_loader), loss.item()))
                if args.dry_run:
                    break

    def test_epoch(model, device, data_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in data_loader:
                output = model(data.to(device))
                test_loss += F.nll_loss(output, target.to(device), reduction='sum').item()
                pred = output.max(1)[1]  # get the index of the max log-probability
                correct += pred.eq(target.to(device)).sum().item()
        test_loss /= len(data_loader.dataset)
        return 'Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)'.format(  # noqa: UP032
            test_loss, correct, len(data_loader.dataset),
            100. * correct / len(data_loader.dataset)), test_loss

    use_cuda = args.cuda and torch.cuda.is_available()
    use_mps = args.mps and torch.backends.mps.is_available()
    if use_cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    kwargs = {'batch_size': args.batch_size, 'shuffle': args.shuffle}
    if use_cuda:
        kwargs.update({'num_workers': 1, 'pin_memory': True})

    torch.manual_seed(args.seed)
    before = test(args, model, device, dataset2, kwargs)
    model = model.to(device)
    model.share_memory()  # gradients are allocated lazily, so they are not shared here

    processes = []
    for rank in range(args.num_processes):
        if in_process:
            train(rank, args, model, device, dataset1, kwargs)
            continue
        p = mp.get_context("fork").Process(target=train, args=(rank, args, model, device,
                                                                dataset1, kwargs))
        # We first train the model across `num_processes` processes
        p.start()
        processes.append(p)
    for p in processes:
        p.join()
    # Once training is complete, we can test the model
    after = test(args, model, device, dataset2, kwargs)
    return ([line.split('\t', 1)[1] for line in log], before, after,
            {k: v.detach().numpy().copy() for k, v in model.state_dict().items()},
            [p.exitcode for p in processes])


def f(torch, x):
    return 2 * torch.sin(x) + x**0.8


def nadaraya_watson_kernels(torch, x_train, y_train, x_val):
    def gaussian(x):
        return torch.exp(-x**2 / 2)

    def boxcar(x):
        return torch.abs(x) < 1.0

    def constant(x):
        return 1.0 + 0 * x

    def epanechikov(x):
        return torch.max(1 - torch.abs(x), torch.zeros_like(x))

    def nadaraya_watson(x_train, y_train, x_val, kernel):
        dists = x_train.reshape((-1, 1)) - x_val.reshape((1, -1))
        # Each column/row corresponds to each query/key
        k = kernel(dists).type(torch.float32)
        # Normalization over keys for each query
        attention_w = k / k.sum(0)
        y_hat = y_train@attention_w
        return y_hat, attention_w

    out = []
    for kernel in (gaussian, boxcar, constant, epanechikov):
        y_hat, attention_w = nadaraya_watson(x_train, y_train, x_val, kernel)
        out.append((y_hat.numpy().copy(), attention_w.numpy().copy()))
    return out


def nw_regression(torch):
    nn = torch.nn

    class NWKernelRegression(nn.Module):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.w = nn.Parameter(torch.rand((1,), requires_grad=True))

        def forward(self, queries, keys, values):
            # Shape of the output `queries` and `attention_weights`:
            # (no. of queries, no. of key-value pairs)
            queries = queries.repeat_interleave(keys.shape[1]).reshape((-1, keys.shape[1]))
            self.attention_weights = nn.functional.softmax(
                -((queries - keys) * self.w)**2 / 2, dim=1)
            # Shape of `values`: (no. of queries, no. of key-value pairs)
            return torch.bmm(self.attention_weights.unsqueeze(1),
                             values.unsqueeze(-1)).reshape(-1)

    return NWKernelRegression()


def train_nw(torch, net, x_train, y_train, x_test, epochs=5):
    nn = torch.nn
    n_train, n_test = len(x_train), len(x_test)
    # Shape of `X_tile`: (`n_train`, `n_train`), where each column contains the
    # same training inputs
    X_tile = x_train.repeat((n_train, 1))
    # Shape of `Y_tile`: (`n_train`, `n_train`), where each column contains the
    # same training outputs
    Y_tile = y_train.repeat((n_train, 1))
    # Shape of `keys`: ('n_train', 'n_train' - 1)
    keys = X_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
    # Shape of `values`: ('n_train', 'n_train' - 1)
    values = Y_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
    loss = nn.MSELoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    losses = []
    for epoch in range(epochs):  # noqa: B007
        trainer.zero_grad()
        l = loss(net(x_train, keys, values), y_train)  # noqa: E741
        l.sum().backward()
        trainer.step()
        losses.append(l.sum().item())
    # Shape of `keys`: (`n_test`, `n_train`), where each column contains the same
    # training inputs (i.e., same keys)
    keys = x_train.repeat((n_test, 1))
    # Shape of `value`: (`n_test`, `n_train`)
    values = y_train.repeat((n_test, 1))
    y_hat = net(x_test, keys, values).unsqueeze(1).detach()
    return losses, y_hat.numpy().copy(), net.attention_weights.detach().numpy().copy(), \
        net.w.item()
