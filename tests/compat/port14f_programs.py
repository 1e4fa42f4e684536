"""Three programs of yunjey/pytorch-tutorial written from memory, run with ``torch`` = PyTorch or
chainrule (test_port14_programs.py): the bidirectional recurrent network (``nn.LSTM(...,
batch_first=True, bidirectional=True)`` fed zero states made by ``torch.zeros(self.num_layers*2,
x.size(0), self.hidden_size).to(device)``, ``out[:, -1, :]``, images read as rows by
``images.reshape(-1, sequence_length, input_size).to(device)``, Adam, accuracy by
``torch.max(outputs.data, 1)`` and ``(predicted == labels).sum().item()``), the deep residual
network (``conv3x3`` with ``bias=False``, ``nn.ReLU(inplace=True)``, ``if self.downsample:`` on an
``nn.Sequential`` or ``None``, ``out += residual``, ``make_layer`` tracking ``self.in_channels``,
``nn.AvgPool2d(8)``, the learning rate decayed by ``update_lr`` writing every
``param_group['lr']``) and the LSTM language model (a ``Corpus`` read twice from a text file, ids
written one by one into ``torch.LongTensor(tokens)``, ``ids.view(batch_size, -1)``, states
carried between windows by ``detach(states)`` which returns a list that the LSTM takes as its
``(h, c)``, ``out.reshape(out.size(0)*out.size(1), out.size(2))``, ``clip_grad_norm_``,
perplexity by ``np.exp(loss.item())``, and sampling by ``torch.multinomial`` of ``torch.ones``
and of ``output.exp()`` with ``input.fill_(word_id)`` written to a file).
"""

from __future__ import annotations

import os

import numpy as np


def birnn(torch, input_size=6, hidden_size=5, num_layers=2, num_classes=3):
    nn = torch.nn
    device = torch.device('cpu')

    # Bidirectional recurrent neural network (many-to-one)
    class BiRNN(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super(BiRNN, self).__init__()  # noqa: UP008
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True,
                                bidirectional=True)
            self.fc = nn.Linear(hidden_size*2, num_classes)  # 2 for bidirection

        def forward(self, x):
            # Set initial states
            h0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device)
            c0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device)
            # Forward propagate LSTM
            out, _ = self.lstm(x, (h0, c0))  # out: (batch_size, seq_length, hidden_size*2)
            # Decode the hidden state of the last time step
            out = self.fc(out[:, -1, :])
            return out

    return BiRNN(input_size, hidden_size, num_layers, num_classes)


def train_birnn(torch, model, train_loader, test_loader, sequence_length=6, input_size=6,
                num_epochs=2, learning_rate=0.01):
    nn = torch.nn
    device = torch.device('cpu')
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    total_step = len(train_loader)
    log = []
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)
            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)
            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            log.append('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'.format(  # noqa: UP032
                epoch+1, num_epochs, i+1, total_step, loss.item()))
    # Test the model
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return log, 100 * correct / total, {k: v.numpy().copy()
                                        for k, v in model.state_dict().items()}


def resnet(torch, layers=(1, 1, 1), num_classes=3):
    nn = torch.nn

    # 3x3 convolution
    def conv3x3(in_channels, out_channels, stride=1):
        return nn.Conv2d(in_channels, out_channels, kernel_size=3,
                         stride=stride, padding=1, bias=False)

    # Residual block
    class ResidualBlock(nn.Module):
        def __init__(self, in_channels, out_channels, stride=1, downsample=None):
            super(ResidualBlock, self).__init__()  # noqa: UP008
            self.conv1 = conv3x3(in_channels, out_channels, stride)
            self.bn1 = nn.BatchNorm2d(out_channels)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(out_channels, out_channels)
            self.bn2 = nn.BatchNorm2d(out_channels)
            self.downsample = downsample

        def forward(self, x):
            residual = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            if self.downsample:
                residual = self.downsample(x)
            out += residual
            out = self.relu(out)
            return out

    # ResNet
    class ResNet(nn.Module):
        def __init__(self, block, layers, num_classes=10):
            super(ResNet, self).__init__()  # noqa: UP008
            self.in_channels = 4
            self.conv = conv3x3(3, 4)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = self.make_layer(block, 4, layers[0])
            self.layer2 = self.make_layer(block, 6, layers[1], 2)
            self.layer3 = self.make_layer(block, 8, layers[2], 2)
            self.avg_pool = nn.AvgPool2d(8)
            self.fc = nn.Linear(8, num_classes)

        def make_layer(self, block, out_channels, blocks, stride=1):
            downsample = None
            if (stride != 1) or (self.in_channels != out_channels):
                downsample = nn.Sequential(
                    conv3x3(self.in_channels, out_channels, stride=stride),
                    nn.BatchNorm2d(out_channels))
            layers = []
            layers.append(block(self.in_channels, out_channels, stride, downsample))
            self.in_channels = out_channels
            for i in range(1, blocks):  # noqa: B007
                layers.append(block(out_channels, out_channels))
            return nn.Sequential(*layers)

        def forward(self, x):
            out = self.conv(x)
            out = self.bn(out)
            out = self.relu(out)
            out = self.layer1(out)
            out = self.layer2(out)
            out = self.layer3(out)
            out = self.avg_pool(out)
            out = out.view(out.size(0), -1)
            out = self.fc(out)
            return out

    return ResNet(ResidualBlock, layers, num_classes)


def train_resnet(torch, model, train_loader, num_epochs=4, learning_rate=0.01, every=2):
    nn = torch.nn
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    # For updating learning rate
    def update_lr(optimizer, lr):
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr

    losses, rates = [], []
    curr_lr = learning_rate
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):  # noqa: B007
            outputs = model(images)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        # Decay learning rate
        if (epoch+1) % every == 0:
            curr_lr /= 3
            update_lr(optimizer, curr_lr)
        rates.append(optimizer.param_groups[0]['lr'])
    model.eval()
    with torch.no_grad():
        outputs = model(next(iter(train_loader))[0])
    return losses, rates, outputs.numpy().copy(), {k: v.numpy().copy()
                                                   for k, v in model.state_dict().items()}


class Dictionary(object):  # noqa: UP004
    def __init__(self):
        self.word2idx = {}
        self.idx2word = {}
        self.idx = 0

    def add_word(self, word):
        if word not in self.word2idx:
            self.word2idx[word] = self.idx
            self.idx2word[self.idx] = word
            self.idx += 1

    def __len__(self):
        return len(self.word2idx)


def corpus(torch):
    class Corpus(object):  # noqa: UP004
        def __init__(self):
            self.dictionary = Dictionary()

        def get_data(self, path, batch_size=20):
            # Add words to the dictionary
            with open(path, 'r') as f:  # noqa: UP015
                tokens = 0
                for line in f:
                    words = line.split() + ['<eos>']
                    tokens += len(words)
                    for word in words:
                        self.dictionary.add_word(word)
            # Tokenize the file content
            ids = torch.LongTensor(tokens)
            token = 0
            with open(path, 'r') as f:  # noqa: UP015
                for line in f:
                    words = line.split() + ['<eos>']
                    for word in words:
                        ids[token] = self.dictionary.word2idx[word]
                        token += 1
            num_batches = ids.size(0) // batch_size
            ids = ids[:num_batches*batch_size]
            return ids.view(batch_size, -1)

    return Corpus()


def rnnlm(torch, vocab_size, embed_size=6, hidden_size=8, num_layers=1):
    nn = torch.nn

    # RNN based language model
    class RNNLM(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers):
            super(RNNLM, self).__init__()  # noqa: UP008
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
            self.linear = nn.Linear(hidden_size, vocab_size)

        def forward(self, x, h):
            # Embed word ids to vectors
            x = self.embed(x)
            # Forward propagate LSTM
            out, (h, c) = self.lstm(x, h)
            # Reshape output to (batch_size*sequence_length, hidden_size)
            out = out.reshape(out.size(0)*out.size(1), out.size(2))
            # Decode hidden states of all time steps
            out = self.linear(out)
            return out, (h, c)

    return RNNLM(vocab_size, embed_size, hidden_size, num_layers)


def train_rnnlm(torch, model, ids, corpus, directory, num_epochs=2, seq_length=4,
                learning_rate=0.01, num_samples=12, num_layers=1, hidden_size=8):
    nn = torch.nn
    device = torch.device('cpu')
    clip_grad_norm_ = torch.nn.utils.clip_grad_norm_
    batch_size = ids.size(0)
    vocab_size = len(corpus.dictionary)
    num_batches = ids.size(1) // seq_length
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    # Truncated backpropagation
    def detach(states):
        return [state.detach() for state in states]

    log = []
    for epoch in range(num_epochs):
        # Set initial hidden and cell states
        states = (torch.zeros(num_layers, batch_size, hidden_size).to(device),
                  torch.zeros(num_layers, batch_size, hidden_size).to(device))
        for i in range(0, ids.size(1) - seq_length, seq_length):
            # Get mini-batch inputs and targets
            inputs = ids[:, i:i+seq_length].to(device)
            targets = ids[:, (i+1):(i+1)+seq_length].to(device)
            # Forward pass
            states = detach(states)
            outputs, states = model(inputs, states)
            loss = criterion(outputs, targets.reshape(-1))
            # Backward and optimize
            model.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            step = (i+1) // seq_length
            log.append('Epoch [{}/{}], Step[{}/{}], Loss: {:.4f}, Perplexity: {:5.2f}'.format(  # noqa: UP032, E501
                epoch+1, num_epochs, step, num_batches, loss.item(), np.exp(loss.item())))
    # Test the model
    path = os.path.join(directory, 'sample.txt')
    with torch.no_grad():
        with open(path, 'w') as f:
            # Set intial hidden ane cell states
            state = (torch.zeros(num_layers, 1, hidden_size).to(device),
                     torch.zeros(num_layers, 1, hidden_size).to(device))
            # Select one word id randomly
            prob = torch.ones(vocab_size)
            input = torch.multinomial(prob, num_samples=1).unsqueeze(1).to(device)  # noqa: A001
            for i in range(num_samples):  # noqa: B007
                # Forward propagate RNN
                output, state = model(input, state)
                # Sample a word id
                prob = output.exp()
                word_id = torch.multinomial(prob, num_samples=1).item()
                # Fill input with sampled word id for the next time step
                input.fill_(word_id)
                # File write
                word = corpus.dictionary.idx2word[word_id]
                word = '\n' if word == '<eos>' else word + ' '
                f.write(word)
    with open(path) as f:
        sample = f.read()
    return log, sample, {k: v.numpy().copy() for k, v in model.state_dict().items()}
