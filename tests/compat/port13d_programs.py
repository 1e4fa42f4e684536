"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port13_programs.py): guoyang9/NCF's NeuMF (GMF and MLP towers, ``nn.init.normal_(std=0.01)``,
``xavier_uniform_``, ``kaiming_uniform_(a=1, nonlinearity='sigmoid')``, ``torch.cat`` of the two
towers, ``BCEWithLogitsLoss`` on ``label.float()``, and its ``metrics`` by ``torch.topk`` and
``torch.take(item, indices).cpu().numpy().tolist()``); kuangliu/pytorch-cifar's DenseNet
(``torch.cat([out, x], 1)``, transitions by ``F.avg_pool2d``, ``floor(num_planes * reduction)``)
with its ``main.py`` loop (``outputs.max(1)``, ``predicted.eq(targets).sum().item()``,
``CosineAnnealingLR``); and a Highway network over ``nn.ModuleList``s.
"""

from __future__ import annotations

import math

import numpy as np

# --- NCF (guoyang9/NCF: NeuMF-end) ----------------------------------------------------------


def ncf(torch, user_num=5, item_num=7, factor_num=4, num_layers=2, dropout=0.0, model="NeuMF-end"):
    nn = torch.nn

    class NCF(nn.Module):
        def __init__(self, user_num, item_num, factor_num, num_layers,
                     dropout, model, GMF_model=None, MLP_model=None):
            super(NCF, self).__init__()  # noqa: UP008
            """
            user_num: number of users;
            item_num: number of items;
            factor_num: number of predictive factors;
            num_layers: the number of layers in MLP model;
            dropout: dropout rate between fully connected layers;
            model: 'MLP', 'GMF', 'NeuMF-end', and 'NeuMF-pre';
            """
            self.dropout = dropout
            self.model = model
            self.GMF_model = GMF_model
            self.MLP_model = MLP_model

            self.embed_user_GMF = nn.Embedding(user_num, factor_num)
            self.embed_item_GMF = nn.Embedding(item_num, factor_num)
            self.embed_user_MLP = nn.Embedding(
                user_num, factor_num * (2 ** (num_layers - 1)))
            self.embed_item_MLP = nn.Embedding(
                item_num, factor_num * (2 ** (num_layers - 1)))

            MLP_modules = []
            for i in range(num_layers):
                input_size = factor_num * (2 ** (num_layers - i))
                MLP_modules.append(nn.Dropout(p=self.dropout))
                MLP_modules.append(nn.Linear(input_size, input_size // 2))
                MLP_modules.append(nn.ReLU())
            self.MLP_layers = nn.Sequential(*MLP_modules)

            if self.model in ['MLP', 'GMF']:
                predict_size = factor_num
            else:
                predict_size = factor_num * 2
            self.predict_layer = nn.Linear(predict_size, 1)

            self._init_weight_()

        def _init_weight_(self):
            """ We leave the weights initialization here. """
            if not self.model == 'NeuMF-pre':
                nn.init.normal_(self.embed_user_GMF.weight, std=0.01)
                nn.init.normal_(self.embed_user_MLP.weight, std=0.01)
                nn.init.normal_(self.embed_item_GMF.weight, std=0.01)
                nn.init.normal_(self.embed_item_MLP.weight, std=0.01)

                for m in self.MLP_layers:
                    if isinstance(m, nn.Linear):
                        nn.init.xavier_uniform_(m.weight)
                nn.init.kaiming_uniform_(self.predict_layer.weight,
                                         a=1, nonlinearity='sigmoid')

                for m in self.modules():
                    if isinstance(m, nn.Linear) and m.bias is not None:
                        m.bias.data.zero_()

        def forward(self, user, item):
            if not self.model == 'MLP':
                embed_user_GMF = self.embed_user_GMF(user)
                embed_item_GMF = self.embed_item_GMF(item)
                output_GMF = embed_user_GMF * embed_item_GMF
            if not self.model == 'GMF':
                embed_user_MLP = self.embed_user_MLP(user)
                embed_item_MLP = self.embed_item_MLP(item)
                interaction = torch.cat((embed_user_MLP, embed_item_MLP), -1)
                output_MLP = self.MLP_layers(interaction)

            if self.model == 'GMF':
                concat = output_GMF
            elif self.model == 'MLP':
                concat = output_MLP
            else:
                concat = torch.cat((output_GMF, output_MLP), -1)

            prediction = self.predict_layer(concat)
            return prediction.view(-1)

    return NCF(user_num, item_num, factor_num, num_layers, dropout, model)


def hit(gt_item, pred_items):
    if gt_item in pred_items:
        return 1
    return 0


def ndcg(gt_item, pred_items):
    if gt_item in pred_items:
        index = pred_items.index(gt_item)
        return np.reciprocal(np.log2(index + 2))
    return 0


def metrics(torch, model, test_loader, top_k):
    HR, NDCG = [], []

    for user, item, label in test_loader:  # noqa: B007
        user = user.cpu()
        item = item.cpu()

        predictions = model(user, item)
        _, indices = torch.topk(predictions, top_k)
        recommends = torch.take(
            item, indices).cpu().numpy().tolist()

        gt_item = item[0].item()
        HR.append(hit(gt_item, recommends))
        NDCG.append(ndcg(gt_item, recommends))

    return np.mean(HR), np.mean(NDCG)


def train_ncf(torch, model, train_loader, test_loader, epochs=3, top_k=3):
    loss_function = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    curve, scores = [], []
    for _ in range(epochs):
        model.train()  # Enable dropout (if have).
        for user, item, label in train_loader:
            user = user.cpu()
            item = item.cpu()
            label = label.float().cpu()

            model.zero_grad()
            prediction = model(user, item)
            loss = loss_function(prediction, label)
            loss.backward()
            optimizer.step()
            curve.append(loss.item())
        model.eval()
        with torch.no_grad():
            scores.append(metrics(torch, model, test_loader, top_k))
    return curve, scores


# --- DenseNet (kuangliu/pytorch-cifar) ---------------------------------------------------------

def densenet(torch, nblocks=(1, 1, 1, 1), growth_rate=4, reduction=0.5, num_classes=3):
    nn = torch.nn
    F = torch.nn.functional

    class Bottleneck(nn.Module):
        def __init__(self, in_planes, growth_rate):
            super(Bottleneck, self).__init__()  # noqa: UP008
            self.bn1 = nn.BatchNorm2d(in_planes)
            self.conv1 = nn.Conv2d(in_planes, 4 * growth_rate, kernel_size=1, bias=False)
            self.bn2 = nn.BatchNorm2d(4 * growth_rate)
            self.conv2 = nn.Conv2d(4 * growth_rate, growth_rate, kernel_size=3, padding=1,
                                   bias=False)

        def forward(self, x):
            out = self.conv1(F.relu(self.bn1(x)))
            out = self.conv2(F.relu(self.bn2(out)))
            out = torch.cat([out, x], 1)
            return out

    class Transition(nn.Module):
        def __init__(self, in_planes, out_planes):
            super(Transition, self).__init__()  # noqa: UP008
            self.bn = nn.BatchNorm2d(in_planes)
            self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=1, bias=False)

        def forward(self, x):
            out = self.conv(F.relu(self.bn(x)))
            out = F.avg_pool2d(out, 2)
            return out

    class DenseNet(nn.Module):
        def __init__(self, block, nblocks, growth_rate=12, reduction=0.5, num_classes=10):
            super(DenseNet, self).__init__()  # noqa: UP008
            self.growth_rate = growth_rate

            num_planes = 2 * growth_rate
            self.conv1 = nn.Conv2d(3, num_planes, kernel_size=3, padding=1, bias=False)

            self.dense1 = self._make_dense_layers(block, num_planes, nblocks[0])
            num_planes += nblocks[0] * growth_rate
            out_planes = int(math.floor(num_planes * reduction))
            self.trans1 = Transition(num_planes, out_planes)
            num_planes = out_planes

            self.dense2 = self._make_dense_layers(block, num_planes, nblocks[1])
            num_planes += nblocks[1] * growth_rate
            out_planes = int(math.floor(num_planes * reduction))
            self.trans2 = Transition(num_planes, out_planes)
            num_planes = out_planes

            self.dense3 = self._make_dense_layers(block, num_planes, nblocks[2])
            num_planes += nblocks[2] * growth_rate
            out_planes = int(math.floor(num_planes * reduction))
            self.trans3 = Transition(num_planes, out_planes)
            num_planes = out_planes

            self.dense4 = self._make_dense_layers(block, num_planes, nblocks[3])
            num_planes += nblocks[3] * growth_rate

            self.bn = nn.BatchNorm2d(num_planes)
            self.linear = nn.Linear(num_planes, num_classes)

        def _make_dense_layers(self, block, in_planes, nblock):
            layers = []
            for i in range(nblock):  # noqa: B007
                layers.append(block(in_planes, self.growth_rate))
                in_planes += self.growth_rate
            return nn.Sequential(*layers)

        def forward(self, x):
            out = self.conv1(x)
            out = self.trans1(self.dense1(out))
            out = self.trans2(self.dense2(out))
            out = self.trans3(self.dense3(out))
            out = self.dense4(out)
            out = F.avg_pool2d(F.relu(self.bn(out)), 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    return DenseNet(Bottleneck, list(nblocks), growth_rate=growth_rate, reduction=reduction,
                    num_classes=num_classes)


def train_cifar(torch, net, trainloader, testloader, epochs=2):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=200)
    history = []
    for _ in range(epochs):
        net.train()
        train_loss = 0
        correct = 0
        total = 0
        for batch_idx, (inputs, targets) in enumerate(trainloader):  # noqa: B007
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()

            train_loss += loss.item()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
        net.eval()
        test_loss = 0
        with torch.no_grad():
            for batch_idx, (inputs, targets) in enumerate(testloader):  # noqa: B007
                outputs = net(inputs)
                test_loss += criterion(outputs, targets).item()
        history.append((train_loss / (batch_idx + 1), 100. * correct / total, test_loss))
        scheduler.step()
    return history, {k: v.detach().numpy().copy() for k, v in net.state_dict().items()
                     if v.is_floating_point()}


# --- Highway network ------------------------------------------------------------------------------

def highway(torch, size=5, num_layers=2):
    nn = torch.nn
    F = torch.nn.functional

    class Highway(nn.Module):
        def __init__(self, size, num_layers, f):
            super(Highway, self).__init__()  # noqa: UP008
            self.num_layers = num_layers
            self.nonlinear = nn.ModuleList([nn.Linear(size, size) for _ in range(num_layers)])
            self.linear = nn.ModuleList([nn.Linear(size, size) for _ in range(num_layers)])
            self.gate = nn.ModuleList([nn.Linear(size, size) for _ in range(num_layers)])
            self.f = f

        def forward(self, x):
            """
                :param x: tensor with shape of [batch_size, size]
                :return: tensor with shape of [batch_size, size]
                applies σ(x) ⨀ (f(G(x))) + (1 - σ(x)) ⨀ (Q(x)) transformation | G and Q is affine
                transformation, f is non-linear transformation, σ(x) is affine transformation
                with sigmoid non-linearition and ⨀ is element-wise multiplication
                """
            for layer in range(self.num_layers):
                gate = F.sigmoid(self.gate[layer](x))

                nonlinear = self.f(self.nonlinear[layer](x))
                linear = self.linear[layer](x)

                x = gate * nonlinear + (1 - gate) * linear

            return x

    return nn.Sequential(Highway(size, num_layers, F.relu), nn.Linear(size, 1))
