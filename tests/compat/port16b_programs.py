"""Wave-16 ports, part two, run with ``torch`` = PyTorch or chainrule (test_port16b_programs.py):
d2l's chapter-13 trainer (``train_ch13``: ``nn.DataParallel`` over ``try_all_gpus()``, a list of
inputs moved one by one, ``l.sum().backward()``, the ``Accumulator`` fed tensors) driving the
sentiment TextCNN (two embedding tables, one frozen, ``nn.Conv1d`` over the permuted embeddings,
max-over-time as ``AdaptiveAvgPool1d``) and the decomposable-attention NLI model (``bmm`` soft
alignment, a dataset whose items are ``(premise, hypothesis), label``, collated to a list), and an
FCN head whose ``ConvTranspose2d`` starts from the book's ``bilinear_kernel`` (filled by
``weight[range(c), range(c), :, :] = filt``) under a per-pixel ``cross_entropy(...,
reduction='none').mean(1).mean(1)``.
"""

from __future__ import annotations

# ---- d2l: the utilities of chapters 3, 6, 11 and 13 ----

class Accumulator:
    """For accumulating sums over `n` variables."""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def try_all_gpus(torch):
    devices = [torch.device(f'cuda:{i}') for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device('cpu')]


def accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy_gpu(torch, net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset using a GPU."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # Set the model to evaluation mode
        if not device:
            device = next(iter(net.parameters())).device
    # No. of correct predictions, no. of predictions
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            if isinstance(X, list):
                X = [x.to(device) for x in X]
            else:
                X = X.to(device)
            y = y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_batch_ch13(net, X, y, loss, trainer, devices):
    """Train for a minibatch with multiple GPUs."""
    if isinstance(X, list):
        X = [x.to(devices[0]) for x in X]
    else:
        X = X.to(devices[0])
    y = y.to(devices[0])
    net.train()
    trainer.zero_grad()
    pred = net(X)
    l = loss(pred, y)  # noqa: E741 - the book's name
    l.sum().backward()
    trainer.step()
    train_loss_sum = l.sum()
    train_acc_sum = accuracy(pred, y)
    return train_loss_sum, train_acc_sum


def train_ch13(torch, net, train_iter, test_iter, loss, trainer, num_epochs, devices=None):
    """Train a model with multiple GPUs (the book's Animator and Timer left out)."""
    devices = devices or try_all_gpus(torch)
    net = torch.nn.DataParallel(net, device_ids=devices).to(devices[0])
    history = []
    for _epoch in range(num_epochs):
        # Sum of training loss, sum of training accuracy, no. of examples, no. of predictions
        metric = Accumulator(4)
        for _i, (features, labels) in enumerate(train_iter):
            l, acc = train_batch_ch13(net, features, labels, loss, trainer, devices)  # noqa: E741
            metric.add(l, acc, labels.shape[0], labels.numel())
        test_acc = evaluate_accuracy_gpu(torch, net, test_iter)
        history.append((metric[0] / metric[2], metric[1] / metric[3], test_acc))
    return history


def params(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# ---- d2l 16.3: sentiment analysis with a TextCNN ----

def textcnn(torch, vocab_size, embed_size=6, kernel_sizes=(2, 3), num_channels=(4, 5)):
    nn = torch.nn

    class TextCNN(nn.Module):
        def __init__(self, vocab_size, embed_size, kernel_sizes, num_channels, **kwargs):
            super().__init__(**kwargs)
            self.embedding = nn.Embedding(vocab_size, embed_size)
            # The embedding layer not to be trained
            self.constant_embedding = nn.Embedding(vocab_size, embed_size)
            self.dropout = nn.Dropout(0.5)
            self.decoder = nn.Linear(sum(num_channels), 2)
            # The max-over-time pooling layer has no parameters, so this instance can be shared
            self.pool = nn.AdaptiveAvgPool1d(1)
            self.relu = nn.ReLU()
            # Create multiple one-dimensional convolutional layers
            self.convs = nn.ModuleList()
            for c, k in zip(num_channels, kernel_sizes):
                self.convs.append(nn.Conv1d(2 * embed_size, c, k))

        def forward(self, inputs):
            # Concatenate two embedding layer outputs with shape (batch size, no. of tokens,
            # token vector dimension) along vectors
            embeddings = torch.cat((
                self.embedding(inputs), self.constant_embedding(inputs)), dim=2)
            # Per the input format of one-dimensional convolutional layers, rearrange the tensor
            # so that the second dimension stores channels
            embeddings = embeddings.permute(0, 2, 1)
            encoding = torch.cat([
                torch.squeeze(self.relu(self.pool(conv(embeddings))), dim=-1)
                for conv in self.convs], dim=1)
            outputs = self.decoder(self.dropout(encoding))
            return outputs

    return TextCNN(vocab_size, embed_size, kernel_sizes, num_channels)


def train_textcnn(torch, net, embeds, train_iter, test_iter, num_epochs=3):
    nn = torch.nn

    def init_weights(module):
        if type(module) in (nn.Linear, nn.Conv1d):
            nn.init.xavier_uniform_(module.weight)

    net.apply(init_weights)
    net.embedding.weight.data.copy_(embeds)
    net.constant_embedding.weight.data.copy_(embeds)
    net.constant_embedding.weight.requires_grad = False
    frozen = net.constant_embedding.weight.detach().clone()
    trainer = torch.optim.Adam(net.parameters(), lr=0.01)
    loss = nn.CrossEntropyLoss(reduction="none")
    history = train_ch13(torch, net, train_iter, test_iter, loss, trainer, num_epochs)
    assert torch.equal(frozen, net.constant_embedding.weight)
    return history, params(net)


# ---- d2l 16.5: natural language inference with decomposable attention ----

def decomposable_attention(torch, vocab_size, embed_size=6, num_hiddens=8):
    nn, F = torch.nn, torch.nn.functional

    def mlp(num_inputs, num_hiddens, flatten):
        net = []
        net.append(nn.Dropout(0.2))
        net.append(nn.Linear(num_inputs, num_hiddens))
        net.append(nn.ReLU())
        if flatten:
            net.append(nn.Flatten(start_dim=1))
        net.append(nn.Dropout(0.2))
        net.append(nn.Linear(num_hiddens, num_hiddens))
        net.append(nn.ReLU())
        if flatten:
            net.append(nn.Flatten(start_dim=1))
        return nn.Sequential(*net)

    class Attend(nn.Module):
        def __init__(self, num_inputs, num_hiddens, **kwargs):
            super().__init__(**kwargs)
            self.f = mlp(num_inputs, num_hiddens, flatten=False)

        def forward(self, A, B):
            # Shape of `A`/`B`: (`batch_size`, no. of tokens in sequence A/B, `embed_size`)
            f_A = self.f(A)
            f_B = self.f(B)
            e = torch.bmm(f_A, f_B.permute(0, 2, 1))
            beta = torch.bmm(F.softmax(e, dim=-1), B)
            alpha = torch.bmm(F.softmax(e.permute(0, 2, 1), dim=-1), A)
            return beta, alpha

    class Compare(nn.Module):
        def __init__(self, num_inputs, num_hiddens, **kwargs):
            super().__init__(**kwargs)
            self.g = mlp(num_inputs, num_hiddens, flatten=False)

        def forward(self, A, B, beta, alpha):
            V_A = self.g(torch.cat([A, beta], dim=2))
            V_B = self.g(torch.cat([B, alpha], dim=2))
            return V_A, V_B

    class Aggregate(nn.Module):
        def __init__(self, num_inputs, num_hiddens, num_outputs, **kwargs):
            super().__init__(**kwargs)
            self.h = mlp(num_inputs, num_hiddens, flatten=True)
            self.linear = nn.Linear(num_hiddens, num_outputs)

        def forward(self, V_A, V_B):
            # Sum up both sets of comparison vectors
            V_A = V_A.sum(dim=1)
            V_B = V_B.sum(dim=1)
            # Feed the concatenation of both summarization results into an MLP
            Y_hat = self.linear(self.h(torch.cat([V_A, V_B], dim=1)))
            return Y_hat

    class DecomposableAttention(nn.Module):
        def __init__(self, vocab, embed_size, num_hiddens, num_inputs_attend=100,
                     num_inputs_compare=200, num_inputs_agg=400, **kwargs):
            super().__init__(**kwargs)
            self.embedding = nn.Embedding(len(vocab), embed_size)
            self.attend = Attend(num_inputs_attend, num_hiddens)
            self.compare = Compare(num_inputs_compare, num_hiddens)
            # There are 3 possible outputs: entailment, contradiction, and neutral
            self.aggregate = Aggregate(num_inputs_agg, num_hiddens, num_outputs=3)

        def forward(self, X):
            premises, hypotheses = X
            A = self.embedding(premises)
            B = self.embedding(hypotheses)
            beta, alpha = self.attend(A, B)
            V_A, V_B = self.compare(A, B, beta, alpha)
            Y_hat = self.aggregate(V_A, V_B)
            return Y_hat

    return DecomposableAttention(range(vocab_size), embed_size, num_hiddens,
                                 num_inputs_attend=embed_size,
                                 num_inputs_compare=2 * embed_size,
                                 num_inputs_agg=2 * num_hiddens)


def snli_iters(torch, premises, hypotheses, labels, batch_size=4):
    class SNLIDataset(torch.utils.data.Dataset):
        """A customized dataset to load the SNLI dataset (already tokenized and padded)."""
        def __init__(self, premises, hypotheses, labels):
            self.premises = torch.tensor(premises)
            self.hypotheses = torch.tensor(hypotheses)
            self.labels = torch.tensor(labels)

        def __getitem__(self, idx):
            return (self.premises[idx], self.hypotheses[idx]), self.labels[idx]

        def __len__(self):
            return len(self.premises)

    dataset = SNLIDataset(premises, hypotheses, labels)
    train_iter = torch.utils.data.DataLoader(dataset, batch_size, shuffle=False)
    test_iter = torch.utils.data.DataLoader(dataset, batch_size * 2, shuffle=False)
    return train_iter, test_iter


def train_nli(torch, net, train_iter, test_iter, num_epochs=3):
    trainer = torch.optim.Adam(net.parameters(), lr=0.01)
    loss = torch.nn.CrossEntropyLoss(reduction="none")
    history = train_ch13(torch, net, train_iter, test_iter, loss, trainer, num_epochs)

    def predict_snli(net, premise, hypothesis):
        """Predict the logical relationship between the premise and hypothesis."""
        net.eval()
        premise = torch.tensor(premise)
        hypothesis = torch.tensor(hypothesis)
        label = torch.argmax(net([premise.reshape((1, -1)), hypothesis.reshape((1, -1))]),
                             dim=1)
        return 'entailment' if label == 0 else 'contradiction' if label == 1 else 'neutral'

    premises, hypotheses = train_iter.dataset.premises, train_iter.dataset.hypotheses
    verdict = predict_snli(net, premises[0].tolist(), hypotheses[0].tolist())
    return history, verdict, params(net)


# ---- d2l 14.11: fully convolutional networks ----

def bilinear_kernel(torch, in_channels, out_channels, kernel_size):
    factor = (kernel_size + 1) // 2
    if kernel_size % 2 == 1:
        center = factor - 1
    else:
        center = factor - 0.5
    og = (torch.arange(kernel_size).reshape(-1, 1),
          torch.arange(kernel_size).reshape(1, -1))
    filt = (1 - torch.abs(og[0] - center) / factor) * \
           (1 - torch.abs(og[1] - center) / factor)
    weight = torch.zeros((in_channels, out_channels, kernel_size, kernel_size))
    weight[range(in_channels), range(out_channels), :, :] = filt
    return weight


def upsample_bilinear(torch, img):
    """The book's check: a transposed convolution from ``bilinear_kernel`` doubles the image."""
    nn = torch.nn
    conv_trans = nn.ConvTranspose2d(3, 3, kernel_size=4, padding=1, stride=2, bias=False)
    conv_trans.weight.data.copy_(bilinear_kernel(torch, 3, 3, 4))
    X = img.permute(2, 0, 1).unsqueeze(0)
    Y = conv_trans(X)
    out_img = Y[0].permute(1, 2, 0).detach()
    return out_img


def fcn(torch, num_classes=3):
    nn = torch.nn
    # a two-stage backbone (stride 4) in place of ResNet-18's five stages (stride 32)
    backbone = nn.Sequential(nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1),
                             nn.BatchNorm2d(8), nn.ReLU(),
                             nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1),
                             nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d((4, 4)),
                             nn.Linear(4, 4))
    net = nn.Sequential(*list(backbone.children())[:-2])
    net.add_module('final_conv', nn.Conv2d(16, num_classes, kernel_size=1))
    net.add_module('transpose_conv', nn.ConvTranspose2d(num_classes, num_classes,
                                                        kernel_size=8, padding=2, stride=4))
    return net


def train_fcn(torch, net, train_iter, test_iter, num_classes=3, num_epochs=2):
    F = torch.nn.functional
    W = bilinear_kernel(torch, num_classes, num_classes, 8)
    net.transpose_conv.weight.data.copy_(W)

    def loss(inputs, targets):
        return F.cross_entropy(inputs, targets, reduction='none').mean(1).mean(1)

    trainer = torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=1e-3)
    history = train_ch13(torch, net, train_iter, test_iter, loss, trainer, num_epochs)

    def predict(img):
        X = img.unsqueeze(0)
        pred = net(X.to(try_all_gpus(torch)[0])).argmax(dim=1)
        return pred.reshape(pred.shape[1], pred.shape[2])

    X, _ = next(iter(test_iter))
    return history, predict(X[0]).numpy().copy(), params(net)
