"""PyTorch's "Deep Learning with PyTorch: A 60 Minute Blitz" and "Learn the Basics" pages
written from memory, run with ``torch`` = PyTorch or chainrule (test_port14_programs.py): the
tensors page (``torch.from_numpy`` and ``.numpy()`` sharing memory both ways, ``rand_like(...,
dtype=torch.float)``, ``tensor[:, 1] = 0``, ``torch.matmul(..., out=y3)`` and ``torch.mul(...,
out=z3)`` into ``rand_like`` tensors, ``agg.item()``, ``add_``), the autograd pages
(``Q.backward(gradient=external_grad)`` checked by ``9*a**2 == a.grad``, which inputs make a
result require grad, ``binary_cross_entropy_with_logits`` with its ``grad_fn``, ``torch.eye(4, 5,
requires_grad=True)`` and a gradient accumulated over three ``backward(torch.ones_like(out),
retain_graph=True)`` calls with ``inp.grad.zero_()`` between, then freezing a network with
``param.requires_grad = False`` and a new ``model.fc`` trained by momentum SGD over all
parameters), and "Training a classifier" (the CIFAR ``Net`` with ``torch.flatten(x, 1)``, a
``running_loss`` printed every few minibatches, ``torch.save(net.state_dict(), PATH)`` and
``load_state_dict(torch.load(PATH, weights_only=True))``, ``torch.max(outputs, 1)``, per-class
accuracy by ``classes[label]`` with a 0-d tensor as a tuple index). The images come as tensors:
torchvision's CIFAR10 and transforms are not part of the comparison.
"""

from __future__ import annotations

import numpy as np


def tensors_page(torch):
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    out = {"x_np": x_np.tolist(), "x_ones": (x_ones.tolist(), str(x_ones.dtype)),
           "x_rand": (tuple(x_rand.shape), str(x_rand.dtype), bool((x_rand < 1).all())),
           "made": [tuple(t.shape) for t in (rand_tensor, ones_tensor, zeros_tensor)]}

    tensor = torch.rand(3, 4)
    out["attributes"] = (tuple(tensor.shape), str(tensor.dtype), str(tensor.device))
    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())

    tensor = torch.ones(4, 4)
    out["rows"] = (tensor[0].tolist(), tensor[:, 0].tolist(), tensor[..., -1].tolist())
    tensor[:, 1] = 0
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    out["cat"] = t1.tolist()

    # This computes the matrix multiplication between two tensors. y1, y2, y3 will have the
    # same value
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    # This computes the element-wise product. z1, z2, z3 will have the same value
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    out["products"] = [t.tolist() for t in (y1, y2, y3, z1, z2, z3)]

    agg = tensor.sum()
    agg_item = agg.item()
    out["agg"] = (agg_item, type(agg_item).__name__)
    tensor.add_(5)
    out["add_"] = tensor.tolist()

    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)  # a change in the tensor reflects in the NumPy array
    out["t_to_n"] = (t.tolist(), n.tolist())
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)  # changes in the NumPy array reflect on the tensor
    out["n_to_t"] = (t.tolist(), n.tolist(), str(t.dtype))
    return out


def autograd_pages(torch):
    out = {}
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3*a**3 - b**2
    external_grad = torch.tensor([1., 1.])
    Q.backward(gradient=external_grad)
    # check if collected gradients are correct
    out["Q"] = ((9*a**2 == a.grad).tolist(), (-2*b == b.grad).tolist(), a.grad.tolist(),
                b.grad.tolist())

    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    a = x + y
    b = x + z
    out["requires"] = (a.requires_grad, b.requires_grad)

    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.tensor(np.linspace(-1, 1, 15).reshape(5, 3), dtype=torch.float32,
                     requires_grad=True)
    b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
    z = torch.matmul(x, w)+b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    out["grad_fn"] = (z.grad_fn is not None, loss.grad_fn is not None)
    loss.backward()
    out["wb"] = (loss.item(), w.grad.tolist(), b.grad.tolist())
    with torch.no_grad():
        z = torch.matmul(x, w)+b
    z_det = (torch.matmul(x, w)+b).detach()
    out["detached"] = (z.requires_grad, z_det.requires_grad)

    inp = torch.eye(4, 5, requires_grad=True)
    out_ = (inp+1).pow(2).t()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    first = inp.grad.tolist()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    second = inp.grad.tolist()
    inp.grad.zero_()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    out["accumulated"] = (first, second, inp.grad.tolist())
    return out


def frozen_net(torch):
    nn = torch.nn

    class Tiny(nn.Module):
        """Stands in for torchvision's resnet18: features, then ``fc``."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(6, 8), nn.ReLU())
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            return self.fc(self.features(x))

    return Tiny()


def finetune_frozen(torch, model, x, y, steps=4):
    nn = torch.nn
    optim = torch.optim
    # Freeze all the parameters in the network
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(8, 3).to(x.dtype)
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor(np.linspace(-0.5, 0.5, 24).reshape(3, 8)))
        model.fc.bias.fill_(0.1)
    # Optimize only the classifier
    optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    grads = [p.grad is None for p in model.features.parameters()]
    return losses, grads, {k: v.numpy().copy() for k, v in model.state_dict().items()}


def cifar_net(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return Net()


CLASSES = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')


def train_cifar(torch, net, trainloader, testloader, PATH, epochs=2, every=2):
    nn = torch.nn
    optim = torch.optim
    classes = CLASSES
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    log = []
    for epoch in range(epochs):  # loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data
            # zero the parameter gradients
            optimizer.zero_grad()
            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            # print statistics
            running_loss += loss.item()
            if i % every == every - 1:  # print every few mini-batches
                log.append(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / every:.3f}')
                running_loss = 0.0
    torch.save(net.state_dict(), PATH)

    net = type(net)()
    net.load_state_dict(torch.load(PATH, weights_only=True))
    net = net.to(next(iter(testloader))[0].dtype)
    correct = 0
    total = 0
    # since we're not training, we don't need to calculate the gradients for our outputs
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            # calculate outputs by running images through the network
            outputs = net(images)
            # the class with the highest energy is what we choose as prediction
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    accuracy = 100 * correct // total

    # prepare to count predictions for each class
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predictions = torch.max(outputs, 1)
            # collect the correct predictions for each class
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    per_class = {c: 100 * float(correct_pred[c]) / total_pred[c]
                 for c in classes if total_pred[c]}
    return log, accuracy, per_class, {k: v.numpy().copy() for k, v in net.state_dict().items()}
