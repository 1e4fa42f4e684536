"""The d2l.ai book's recurrent chapters (its 1.0 PyTorch code) written from memory, run with
``torch`` = PyTorch or chainrule (test_port14_programs.py) through the book's library of
port14_programs.py: a character-level ``TimeMachine``-style data module (windows by
``torch.tensor([corpus[i:i+num_steps+1] ...])``), ``RNNScratch`` (``state, = state``), the GRU and
LSTM from scratch (``init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)``
and ``triple()`` of parameters, a Python loop ``for X in inputs`` over time), a stacked RNN
(``nn.Sequential`` of scratch RNNs, ``Hs = [None] * self.num_layers``), the bidirectional RNN from
scratch (``reversed(inputs)`` of a tensor, ``self.num_hiddens *= 2``), ``RNNLMScratch``
(``F.one_hot(X.T, self.vocab_size).type(torch.float32)``, ``torch.stack(outputs, 1)``, ``predict``
by ``int(Y.argmax(axis=2).reshape(1))``), and the concise twins (``d2l.Module.__init__(self)``
skipping a parent's constructor, ``nn.GRU(num_inputs, num_hiddens, num_layers, dropout=...)``,
``nn.LSTM``, an ``nn.LazyLinear`` head read by ``.swapaxes(0, 1)``), trained by the book's
``Trainer(gradient_clip_val=1)``. In float32, as the one-hot inputs are.
"""

from __future__ import annotations

from .port12_programs import Vocab
from .port14_programs import d2l

TEXT = ("the time traveller for so it will be convenient to speak of him was expounding a "
        "recondite matter to us his grey eyes shone and twinkled")


def time_machine(torch, batch_size=4, num_steps=6, num_train=40, num_val=16, text=TEXT):
    book = d2l(torch)

    class TimeMachine(book.DataModule):
        """The Time Machine dataset (a fixed text here: no download)."""

        def _tokenize(self, text):
            return list(text)

        def build(self, raw_text, vocab=None):
            tokens = self._tokenize(raw_text)
            if vocab is None:
                vocab = Vocab(tokens)
            corpus = [vocab[token] for token in tokens]
            return corpus, vocab

        def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000):
            super(TimeMachine, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            corpus, self.vocab = self.build(text)
            array = torch.tensor([corpus[i:i+num_steps+1]
                                  for i in range(len(corpus)-num_steps)])
            self.X, self.Y = array[:, :-1], array[:, 1:]

        def get_dataloader(self, train):
            idx = slice(0, self.num_train) if train else slice(
                self.num_train, self.num_train + self.num_val)
            return self.get_tensorloader([self.X, self.Y], train, idx)

    return TimeMachine(batch_size, num_steps, num_train, num_val)


def rnn_lm(torch, vocab_size, kind="gru", num_hiddens=8, lr=1.0, sigma=0.01):
    nn = torch.nn
    F = torch.nn.functional
    book = d2l(torch)

    class RNNScratch(book.Module):
        """The RNN model implemented from scratch."""

        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_xh = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
            self.W_hh = nn.Parameter(torch.randn(num_hiddens, num_hiddens) * sigma)
            self.b_h = nn.Parameter(torch.zeros(num_hiddens))

        def forward(self, inputs, state=None):
            if state is None:
                # Initial state with shape: (batch_size, num_hiddens)
                state = torch.zeros((inputs.shape[1], self.num_hiddens),
                                    device=inputs.device)
            else:
                state, = state
            outputs = []
            for X in inputs:  # Shape of inputs: (num_steps, batch_size, num_inputs)
                state = torch.tanh(torch.matmul(X, self.W_xh) +
                                   torch.matmul(state, self.W_hh) + self.b_h)
                outputs.append(state)
            return outputs, state

    class GRUScratch(book.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()

            init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)  # noqa: E731
            triple = lambda: (init_weight(num_inputs, num_hiddens),  # noqa: E731
                              init_weight(num_hiddens, num_hiddens),
                              nn.Parameter(torch.zeros(num_hiddens)))
            self.W_xz, self.W_hz, self.b_z = triple()  # Update gate
            self.W_xr, self.W_hr, self.b_r = triple()  # Reset gate
            self.W_xh, self.W_hh, self.b_h = triple()  # Candidate hidden state

        def forward(self, inputs, H=None):
            if H is None:
                # Initial state with shape: (batch_size, num_hiddens)
                H = torch.zeros((inputs.shape[1], self.num_hiddens),
                                device=inputs.device)
            outputs = []
            for X in inputs:
                Z = torch.sigmoid(torch.matmul(X, self.W_xz) +
                                  torch.matmul(H, self.W_hz) + self.b_z)
                R = torch.sigmoid(torch.matmul(X, self.W_xr) +
                                  torch.matmul(H, self.W_hr) + self.b_r)
                H_tilde = torch.tanh(torch.matmul(X, self.W_xh) +
                                     torch.matmul(R * H, self.W_hh) + self.b_h)
                H = Z * H + (1 - Z) * H_tilde
                outputs.append(H)
            return outputs, H

    class LSTMScratch(book.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()

            init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)  # noqa: E731
            triple = lambda: (init_weight(num_inputs, num_hiddens),  # noqa: E731
                              init_weight(num_hiddens, num_hiddens),
                              nn.Parameter(torch.zeros(num_hiddens)))
            self.W_xi, self.W_hi, self.b_i = triple()  # Input gate
            self.W_xf, self.W_hf, self.b_f = triple()  # Forget gate
            self.W_xo, self.W_ho, self.b_o = triple()  # Output gate
            self.W_xc, self.W_hc, self.b_c = triple()  # Input node

        def forward(self, inputs, H_C=None):
            if H_C is None:
                # Initial state with shape: (batch_size, num_hiddens)
                H = torch.zeros((inputs.shape[1], self.num_hiddens),
                                device=inputs.device)
                C = torch.zeros((inputs.shape[1], self.num_hiddens),
                                device=inputs.device)
            else:
                H, C = H_C
            outputs = []
            for X in inputs:
                I = torch.sigmoid(torch.matmul(X, self.W_xi) +  # noqa: E741
                                  torch.matmul(H, self.W_hi) + self.b_i)
                F_ = torch.sigmoid(torch.matmul(X, self.W_xf) +
                                   torch.matmul(H, self.W_hf) + self.b_f)
                O = torch.sigmoid(torch.matmul(X, self.W_xo) +  # noqa: E741
                                  torch.matmul(H, self.W_ho) + self.b_o)
                C_tilde = torch.tanh(torch.matmul(X, self.W_xc) +
                                     torch.matmul(H, self.W_hc) + self.b_c)
                C = F_ * C + I * C_tilde
                H = O * torch.tanh(C)
                outputs.append(H)
            return outputs, (H, C)

    class StackedRNNScratch(book.Module):
        def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.rnns = nn.Sequential(*[RNNScratch(
                num_inputs if i == 0 else num_hiddens, num_hiddens, sigma)
                for i in range(num_layers)])

        def forward(self, inputs, Hs=None):
            outputs = inputs
            if Hs is None:
                Hs = [None] * self.num_layers
            for i in range(self.num_layers):
                outputs, Hs[i] = self.rnns[i](outputs, Hs[i])
                outputs = torch.stack(outputs, 0)
            return outputs, Hs

    class BiRNNScratch(book.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.f_rnn = RNNScratch(num_inputs, num_hiddens, sigma)
            self.b_rnn = RNNScratch(num_inputs, num_hiddens, sigma)
            self.num_hiddens *= 2  # The output dimension will be doubled

        def forward(self, inputs, Hs=None):
            f_H, b_H = Hs if Hs is not None else (None, None)
            f_outputs, f_H = self.f_rnn(inputs, f_H)
            b_outputs, b_H = self.b_rnn(reversed(inputs), b_H)
            outputs = [torch.cat((f, b), -1) for f, b in zip(
                f_outputs, reversed(b_outputs))]
            return outputs, (f_H, b_H)

    class RNN(book.Module):
        """The RNN model implemented with high-level APIs."""

        def __init__(self, num_inputs, num_hiddens):
            super().__init__()
            self.save_hyperparameters()
            self.rnn = nn.RNN(num_inputs, num_hiddens)

        def forward(self, inputs, H=None):
            return self.rnn(inputs, H)

    class GRU(RNN):
        def __init__(self, num_inputs, num_hiddens, num_layers=1, dropout=0):
            book.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.GRU(num_inputs, num_hiddens, num_layers, dropout=dropout)

    class LSTM(RNN):
        def __init__(self, num_inputs, num_hiddens):
            book.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.LSTM(num_inputs, num_hiddens)

        def forward(self, inputs, H_C=None):
            return self.rnn(inputs, H_C)

    class RNNLMScratch(book.Classifier):
        """The RNN-based language model implemented from scratch."""

        def __init__(self, rnn, vocab_size, lr=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.init_params()

        def init_params(self):
            self.W_hq = nn.Parameter(
                torch.randn(
                    self.rnn.num_hiddens, self.vocab_size) * self.rnn.sigma)
            self.b_q = nn.Parameter(torch.zeros(self.vocab_size))

        def training_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
            self.plot('ppl', torch.exp(l), train=True)
            return l

        def validation_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
            self.plot('ppl', torch.exp(l), train=False)

        def one_hot(self, X):
            # Output shape: (num_steps, batch_size, vocab_size)
            return F.one_hot(X.T, self.vocab_size).type(torch.float32)

        def output_layer(self, rnn_outputs):
            outputs = [torch.matmul(H, self.W_hq) + self.b_q for H in rnn_outputs]
            return torch.stack(outputs, 1)

        def forward(self, X, state=None):
            embs = self.one_hot(X)
            rnn_outputs, _ = self.rnn(embs, state)
            return self.output_layer(rnn_outputs)

        def predict(self, prefix, num_preds, vocab, device=None):
            state, outputs = None, [vocab[prefix[0]]]
            for i in range(len(prefix) + num_preds - 1):
                X = torch.tensor([[outputs[-1]]], device=device)
                embs = self.one_hot(X)
                rnn_outputs, state = self.rnn(embs, state)
                if i < len(prefix) - 1:  # Warm-up period
                    outputs.append(vocab[prefix[i + 1]])
                else:  # Predict num_preds steps
                    Y = self.output_layer(rnn_outputs)
                    outputs.append(int(Y.argmax(axis=2).reshape(1)))
            return ''.join([vocab.idx_to_token[i] for i in outputs])

    class RNNLM(RNNLMScratch):
        """The RNN-based language model implemented with high-level APIs."""

        def init_params(self):
            self.linear = nn.LazyLinear(self.vocab_size)

        def output_layer(self, hiddens):
            return self.linear(hiddens).swapaxes(0, 1)

    if kind in ("gru", "lstm", "rnn", "stacked", "birnn"):
        rnn = {"gru": GRUScratch, "lstm": LSTMScratch, "rnn": RNNScratch,
               "birnn": BiRNNScratch}.get(kind)
        rnn = (StackedRNNScratch(vocab_size, num_hiddens, 2, sigma) if rnn is None
               else rnn(num_inputs=vocab_size, num_hiddens=num_hiddens, sigma=sigma))
        return RNNLMScratch(rnn, vocab_size=vocab_size, lr=lr)
    rnn = {"concise_gru": lambda: GRU(vocab_size, num_hiddens),
           "deep_gru": lambda: GRU(vocab_size, num_hiddens, num_layers=2, dropout=0),
           "concise_lstm": lambda: LSTM(vocab_size, num_hiddens),
           "concise_rnn": lambda: RNN(vocab_size, num_hiddens)}[kind]()
    model = RNNLM(rnn, vocab_size=vocab_size, lr=lr)
    with torch.no_grad():
        model(torch.zeros(1, 2, dtype=torch.long))  # the lazy head gets its shape
    return model
