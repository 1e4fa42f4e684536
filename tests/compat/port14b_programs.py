"""The d2l.ai book's modern-CNN chapters (its 1.0 PyTorch code) written from memory, run with
``torch`` = PyTorch or chainrule (test_port14_programs.py) through the book's library of
port14_programs.py: NiN (``nin_block`` of ``nn.LazyConv2d`` with positional kernel, stride and
padding, ``nn.AdaptiveAvgPool2d((1, 1))`` as the classifier), GoogLeNet's ``Inception`` block
(``super().__init__(**kwargs)``, four branches joined by ``torch.cat((b1, b2, b3, b4), dim=1)``),
the ``Residual`` block (``nn.LazyBatchNorm2d``, ``if self.conv3:`` on a module or ``None``,
``Y += X`` in place on a batch norm's output) in a ResNet built by ``add_module(f'b{i+2}', ...)``
(``super(ResNet, self).__init__()``), ResNeXt's grouped bottleneck (``groups=bot_channels //
groups`` on a lazy convolution, ``int(round(...))``), and DenseNet (``conv_block`` of
``LazyBatchNorm2d``/``ReLU``/``LazyConv2d``, a ``DenseBlock`` concatenating each block's output
to its input, ``transition_block`` by ``AvgPool2d``), each initialised by ``apply_init`` with the
book's ``init_cnn`` (Xavier on ``type(module) == nn.Conv2d``, which the lazy layers become).
"""

from __future__ import annotations

from .port14_programs import d2l


def nin(torch, lr=0.1, num_classes=3):
    nn = torch.nn
    book = d2l(torch)

    def nin_block(out_channels, kernel_size, strides, padding):
        return nn.Sequential(
            nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU())

    class NiN(book.Classifier):
        def __init__(self, lr=0.1, num_classes=10):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(
                nin_block(6, kernel_size=5, strides=1, padding=2),
                nn.MaxPool2d(3, stride=2),
                nin_block(8, kernel_size=3, strides=1, padding=1),
                nn.MaxPool2d(3, stride=2),
                nn.Dropout(0.0),
                nin_block(num_classes, kernel_size=3, strides=1, padding=1),
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten())
            self.net.apply(book.init_cnn)

    return NiN(lr=lr, num_classes=num_classes)


def googlenet(torch, lr=0.1, num_classes=3):
    nn = torch.nn
    F = torch.nn.functional
    book = d2l(torch)

    class Inception(nn.Module):
        # c1--c4 are the number of output channels for each branch
        def __init__(self, c1, c2, c3, c4, **kwargs):
            super(Inception, self).__init__(**kwargs)  # noqa: UP008
            # Branch 1
            self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
            # Branch 2
            self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
            self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
            # Branch 3
            self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
            self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
            # Branch 4
            self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
            self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

        def forward(self, x):
            b1 = F.relu(self.b1_1(x))
            b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
            b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
            b4 = F.relu(self.b4_2(self.b4_1(x)))
            return torch.cat((b1, b2, b3, b4), dim=1)

    class GoogleNet(book.Classifier):
        def b1(self):
            return nn.Sequential(
                nn.LazyConv2d(8, kernel_size=7, stride=2, padding=3),
                nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

        def b2(self):
            return nn.Sequential(
                nn.LazyConv2d(8, kernel_size=1), nn.ReLU(),
                nn.LazyConv2d(12, kernel_size=3, padding=1), nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

        def b3(self):
            return nn.Sequential(Inception(4, (4, 6), (2, 3), 3),
                                 Inception(6, (4, 8), (2, 4), 4),
                                 nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

        def b5(self):
            return nn.Sequential(Inception(6, (4, 6), (2, 3), 3),
                                 nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())

        def __init__(self, lr=0.1, num_classes=10):
            super(GoogleNet, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            self.net = nn.Sequential(self.b1(), self.b2(), self.b3(), self.b5(),
                                     nn.LazyLinear(num_classes))
            self.net.apply(book.init_cnn)

    return GoogleNet(lr=lr, num_classes=num_classes)


def resnet(torch, lr=0.1, num_classes=3, arch=((1, 8), (1, 12)), resnext=False):
    nn = torch.nn
    F = torch.nn.functional
    book = d2l(torch)

    class Residual(nn.Module):
        """The Residual block of ResNet models."""

        def __init__(self, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1,
                                       stride=strides)
            self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
            if use_1x1conv:
                self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1,
                                           stride=strides)
            else:
                self.conv3 = None
            self.bn1 = nn.LazyBatchNorm2d()
            self.bn2 = nn.LazyBatchNorm2d()

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            Y += X
            return F.relu(Y)

    class ResNeXtBlock(nn.Module):
        """The ResNeXt block."""

        def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False,
                     strides=1):
            super().__init__()
            bot_channels = int(round(num_channels * bot_mul))
            self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1, stride=1)
            self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3,
                                       stride=strides, padding=1,
                                       groups=bot_channels // groups)
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=1)
            self.bn1 = nn.LazyBatchNorm2d()
            self.bn2 = nn.LazyBatchNorm2d()
            self.bn3 = nn.LazyBatchNorm2d()
            if use_1x1conv:
                self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1,
                                           stride=strides)
                self.bn4 = nn.LazyBatchNorm2d()
            else:
                self.conv4 = None

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = F.relu(self.bn2(self.conv2(Y)))
            Y = self.bn3(self.conv3(Y))
            if self.conv4:
                X = self.bn4(self.conv4(X))
            return F.relu(Y + X)

    class ResNet(book.Classifier):
        def b1(self):
            return nn.Sequential(
                nn.LazyConv2d(8, kernel_size=7, stride=2, padding=3),
                nn.LazyBatchNorm2d(), nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

        def block(self, num_residuals, num_channels, first_block=False):
            blk = []
            for i in range(num_residuals):
                if i == 0 and not first_block:
                    blk.append(self.unit(num_channels, use_1x1conv=True, strides=2))
                else:
                    blk.append(self.unit(num_channels))
            return nn.Sequential(*blk)

        def unit(self, num_channels, use_1x1conv=False, strides=1):
            if resnext:
                return ResNeXtBlock(num_channels, 2, 1, use_1x1conv, strides)
            return Residual(num_channels, use_1x1conv, strides)

        def __init__(self, arch, lr=0.1, num_classes=10):
            super(ResNet, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            self.net = nn.Sequential(self.b1())
            for i, b in enumerate(arch):
                self.net.add_module(f'b{i+2}', self.block(*b, first_block=(i == 0)))
            self.net.add_module('last', nn.Sequential(
                nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                nn.LazyLinear(num_classes)))
            self.net.apply(book.init_cnn)

    return ResNet(arch, lr=lr, num_classes=num_classes)


def densenet(torch, lr=0.1, num_classes=3, num_channels=8, growth_rate=4, arch=(2, 2)):
    nn = torch.nn
    book = d2l(torch)

    def conv_block(num_channels):
        return nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=3, padding=1))

    class DenseBlock(nn.Module):
        def __init__(self, num_convs, num_channels):
            super(DenseBlock, self).__init__()  # noqa: UP008
            layer = []
            for i in range(num_convs):  # noqa: B007
                layer.append(conv_block(num_channels))
            self.net = nn.Sequential(*layer)

        def forward(self, X):
            for blk in self.net:
                Y = blk(X)
                # Concatenate input and output of each block along the channels
                X = torch.cat((X, Y), dim=1)
            return X

    def transition_block(num_channels):
        return nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=1),
            nn.AvgPool2d(kernel_size=2, stride=2))

    class DenseNet(book.Classifier):
        def b1(self):
            return nn.Sequential(
                nn.LazyConv2d(8, kernel_size=7, stride=2, padding=3),
                nn.LazyBatchNorm2d(), nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

        def __init__(self, num_channels=64, growth_rate=32, arch=(4, 4, 4, 4),
                     lr=0.1, num_classes=10):
            super(DenseNet, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            self.net = nn.Sequential(self.b1())
            for i, num_convs in enumerate(arch):
                self.net.add_module(f'dense_blk{i+1}', DenseBlock(num_convs,
                                                                  growth_rate))
                # The number of output channels in the previous dense block
                num_channels += num_convs * growth_rate
                # A transition layer that halves the number of channels is added
                # between the dense blocks
                if i != len(arch) - 1:
                    num_channels //= 2
                    self.net.add_module(f'tran_blk{i+1}', transition_block(
                        num_channels))
            self.net.add_module('last', nn.Sequential(
                nn.LazyBatchNorm2d(), nn.ReLU(),
                nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                nn.LazyLinear(num_classes)))
            self.net.apply(book.init_cnn)

    return DenseNet(num_channels, growth_rate, arch, lr=lr, num_classes=num_classes)


def materialize(torch, model, shape=(2, 1, 16, 16)):
    """The book's ``apply_init`` on a dummy batch: the lazy layers get their shapes, then
    ``init_cnn`` (Xavier) reaches the convolutions and linear layers they became."""
    model.apply_init([torch.zeros(*shape)], d2l(torch).init_cnn)
    return model
