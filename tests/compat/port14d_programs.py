"""PyTorch's "Deep Learning for NLP with PyTorch" tutorials written from memory, run with
``torch`` = PyTorch or chainrule (test_port14_programs.py): the bag-of-words classifier
(``make_bow_vector`` writing ``vec[word_to_ix[word]] += 1`` into ``torch.zeros`` and ``vec.view(1,
-1)``, ``make_target`` by ``torch.LongTensor([...])``, ``next(model.parameters())[:, ix]``,
``model.zero_grad()``), the word-embedding tutorial's N-gram language model
(``self.embeddings(inputs).view((1, -1))``, ``total_loss += loss.item()``, an embedding row read
by ``model.embeddings.weight[ix]``) and a CBOW answer to its exercise, the sequence-models
tutorial (an ``nn.LSTM(3, 3)`` fed step by step with a ``(h, c)`` tuple, then all at once from
``torch.cat(inputs).view(len(inputs), 1, -1)``; the ``LSTMTagger`` with
``lstm_out.view(len(sentence), -1)`` and ``F.log_softmax``), and "Generating Names with a
Character-Level RNN" (``torch.cat((category, input, hidden), 1)`` of float32 one-hots into the
model, ``target_line_tensor.unsqueeze_(-1)``, ``loss = torch.Tensor([0])`` accumulated in place
by ``loss += l``, updates by ``p.data.add_(p.grad.data, alpha=-learning_rate)``, sampling by
``output.topk(1)``, ``topi[0][0]`` compared with ``==`` and used as a string index).
"""

from __future__ import annotations

import random
import string

BOW_DATA = [("me gusta comer en la cafeteria".split(), "SPANISH"),
            ("Give it to me".split(), "ENGLISH"),
            ("No creo que sea una buena idea".split(), "SPANISH"),
            ("No it is not a good idea to get lost at sea".split(), "ENGLISH")]
BOW_TEST = [("Yo creo que si".split(), "SPANISH"),
            ("it is lost on me".split(), "ENGLISH")]
BOW_WORDS = {}
for _sent, _ in BOW_DATA + BOW_TEST:
    for _word in _sent:
        if _word not in BOW_WORDS:
            BOW_WORDS[_word] = len(BOW_WORDS)


def bow_classifier(torch, num_labels=2, vocab_size=None):
    nn = torch.nn
    F = torch.nn.functional

    class BoWClassifier(nn.Module):  # inheriting from nn.Module!
        def __init__(self, num_labels, vocab_size):
            super(BoWClassifier, self).__init__()  # noqa: UP008
            self.linear = nn.Linear(vocab_size, num_labels)

        def forward(self, bow_vec):
            return F.log_softmax(self.linear(bow_vec), dim=1)

    return BoWClassifier(num_labels, vocab_size or len(BOW_WORDS))


def train_bow(torch, model, epochs=30, word_to_ix=BOW_WORDS):
    nn = torch.nn
    optim = torch.optim

    def make_bow_vector(sentence, word_to_ix):
        vec = torch.zeros(len(word_to_ix))
        for word in sentence:
            vec[word_to_ix[word]] += 1
        return vec.view(1, -1)

    def make_target(label, label_to_ix):
        return torch.LongTensor([label_to_ix[label]])

    label_to_ix = {"SPANISH": 0, "ENGLISH": 1}
    before = []
    with torch.no_grad():
        for instance, label in BOW_TEST:  # noqa: B007
            bow_vec = make_bow_vector(instance, word_to_ix)
            before.append(model(bow_vec).numpy().copy())
    creo = next(model.parameters())[:, word_to_ix["creo"]].detach().numpy().copy()
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for epoch in range(epochs):  # noqa: B007
        for instance, label in BOW_DATA:
            model.zero_grad()
            bow_vec = make_bow_vector(instance, word_to_ix)
            target = make_target(label, label_to_ix)
            log_probs = model(bow_vec)
            loss = loss_function(log_probs, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    after = []
    with torch.no_grad():
        for instance, label in BOW_TEST:  # noqa: B007
            bow_vec = make_bow_vector(instance, word_to_ix)
            after.append(model(bow_vec).numpy().copy())
    return losses, before, after, creo, \
        next(model.parameters())[:, word_to_ix["creo"]].detach().numpy().copy()


SONNET = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:""".split()


def ngram_lm(torch, vocab_size, embedding_dim=10, context_size=2, cbow=False):
    nn = torch.nn
    F = torch.nn.functional

    class NGramLanguageModeler(nn.Module):
        def __init__(self, vocab_size, embedding_dim, context_size):
            super(NGramLanguageModeler, self).__init__()  # noqa: UP008
            self.embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.linear1 = nn.Linear(context_size * embedding_dim, 128)
            self.linear2 = nn.Linear(128, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).view((1, -1))
            out = F.relu(self.linear1(embeds))
            out = self.linear2(out)
            log_probs = F.log_softmax(out, dim=1)
            return log_probs

    class CBOW(nn.Module):
        def __init__(self, vocab_size, embedding_dim):
            super().__init__()
            self.embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.linear = nn.Linear(embedding_dim, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).sum(dim=0).view(1, -1)
            return F.log_softmax(self.linear(embeds), dim=-1)

    if cbow:
        return CBOW(vocab_size, embedding_dim)
    return NGramLanguageModeler(vocab_size, embedding_dim, context_size)


def train_ngram(torch, model, word_to_ix, context_size=2, epochs=3, cbow=False,
                test_sentence=SONNET):
    nn = torch.nn
    optim = torch.optim
    if cbow:
        ngrams = [([test_sentence[i - 2], test_sentence[i - 1], test_sentence[i + 1],
                    test_sentence[i + 2]], test_sentence[i])
                  for i in range(2, len(test_sentence) - 2)]
    else:
        # we should tokenize the input, but we will ignore that for now
        # build a list of tuples.
        # Each tuple is ([ word_i-CONTEXT_SIZE, ..., word_i-1 ], target word)
        ngrams = [
            (
                [test_sentence[i - j - 1] for j in range(context_size)],
                test_sentence[i]
            )
            for i in range(context_size, len(test_sentence))
        ]

    def make_context_vector(context, word_to_ix):
        idxs = [word_to_ix[w] for w in context]
        return torch.tensor(idxs, dtype=torch.long)

    losses = []
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.001 if not cbow else 0.05)
    for epoch in range(epochs):  # noqa: B007
        total_loss = 0
        for context, target in ngrams:
            # Step 1. Prepare the inputs to be passed to the model (i.e, turn the words
            # into integer indices and wrap them in tensors)
            context_idxs = make_context_vector(context, word_to_ix)
            # Step 2. Recall that torch *accumulates* gradients. Before passing in a
            # new instance, you need to zero out the gradients from the old
            # instance
            model.zero_grad()
            # Step 3. Run the forward pass, getting log probabilities over next
            # words
            log_probs = model(context_idxs)
            # Step 4. Compute your loss function. (Again, Torch wants the target
            # word wrapped in a tensor)
            loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
            # Step 5. Do the backward pass and update the gradient
            loss.backward()
            optimizer.step()
            # Get the Python number from a 1-element Tensor by calling tensor.item()
            total_loss += loss.item()
        losses.append(total_loss)
    return losses, model.embeddings.weight[word_to_ix["beauty's"]].detach().numpy().copy()


TRAINING_DATA = [
    # Tags are: DET - determiner; NN - noun; V - verb
    # For example, the word "The" is a determiner
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"])
]


def lstm_tagger(torch, embedding_dim=6, hidden_dim=6):
    nn = torch.nn
    F = torch.nn.functional
    word_to_ix = {}
    for sent, tags in TRAINING_DATA:  # noqa: B007
        for word in sent:
            if word not in word_to_ix:  # word has not been assigned an index yet
                word_to_ix[word] = len(word_to_ix)  # Assign each word with a unique index

    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super(LSTMTagger, self).__init__()  # noqa: UP008
            self.hidden_dim = hidden_dim
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
            # The LSTM takes word embeddings as inputs, and outputs hidden states
            # with dimensionality hidden_dim.
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)
            # The linear layer that maps from hidden state space to tag space
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            tag_scores = F.log_softmax(tag_space, dim=1)
            return tag_scores

    model = LSTMTagger(embedding_dim, hidden_dim, len(word_to_ix), 3)
    model.word_to_ix = word_to_ix
    model.lstm_demo = nn.LSTM(3, 3)  # Input dim is 3, output dim is 3
    return model


def train_lstm_tagger(torch, model, epochs=20):
    nn = torch.nn
    optim = torch.optim
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}  # Assign each tag with a unique index

    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        return torch.tensor(idxs, dtype=torch.long)

    lstm = model.lstm_demo
    inputs = [torch.randn(1, 3) for _ in range(5)]  # make a sequence of length 5
    # initialize the hidden state.
    hidden = (torch.randn(1, 1, 3),
              torch.randn(1, 1, 3))
    steps = []
    for i in inputs:
        # Step through the sequence one element at a time.
        # after each step, hidden contains the hidden state.
        out, hidden = lstm(i.view(1, 1, -1), hidden)
        steps.append(out.detach().numpy().copy())
    inputs = torch.cat(inputs).view(len(inputs), 1, -1)
    hidden = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))  # clean out hidden state
    out, hidden = lstm(inputs, hidden)
    demo = [steps, out.detach().numpy().copy(), hidden[0].detach().numpy().copy()]

    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with torch.no_grad():
        inputs = prepare_sequence(TRAINING_DATA[0][0], model.word_to_ix)
        first = model(inputs).numpy().copy()
    losses = []
    for epoch in range(epochs):  # noqa: B007
        for sentence, tags in TRAINING_DATA:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, model.word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            tag_scores = model(sentence_in)
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    with torch.no_grad():
        inputs = prepare_sequence(TRAINING_DATA[0][0], model.word_to_ix)
        tag_scores = model(inputs)
    return demo, first, losses, tag_scores.numpy().copy(), tag_scores.argmax(1).tolist()


ALL_LETTERS = string.ascii_letters + " .,;'-"
N_LETTERS = len(ALL_LETTERS) + 1  # Plus EOS marker
CATEGORY_LINES = {"English": ["Abbott", "Baker", "Carter"], "French": ["Abel", "Blanc"],
                  "Italian": ["Abate", "Bianchi", "Conti"]}
ALL_CATEGORIES = list(CATEGORY_LINES)


def name_rnn(torch, hidden_size=8, dropout=0.1):
    nn = torch.nn
    n_categories = len(ALL_CATEGORIES)

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()  # noqa: UP008
            self.hidden_size = hidden_size

            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(dropout)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category, input, hidden):  # noqa: A002
            input_combined = torch.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = torch.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    return RNN(N_LETTERS, hidden_size, N_LETTERS)


def train_name_rnn(torch, rnn, n_iters=6, learning_rate=0.05, max_length=8):
    nn = torch.nn
    all_letters, n_letters = ALL_LETTERS, N_LETTERS

    def randomChoice(l):  # noqa: E741
        return l[random.randint(0, len(l) - 1)]

    def randomTrainingPair():
        category = randomChoice(ALL_CATEGORIES)
        line = randomChoice(CATEGORY_LINES[category])
        return category, line

    def categoryTensor(category):
        li = ALL_CATEGORIES.index(category)
        tensor = torch.zeros(1, len(ALL_CATEGORIES))
        tensor[0][li] = 1
        return tensor

    def inputTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li in range(len(line)):
            letter = line[li]
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    def targetTensor(line):
        letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
        letter_indexes.append(n_letters - 1)  # EOS
        return torch.LongTensor(letter_indexes)

    def randomTrainingExample():
        category, line = randomTrainingPair()
        category_tensor = categoryTensor(category)
        input_line_tensor = inputTensor(line)
        target_line_tensor = targetTensor(line)
        return category_tensor, input_line_tensor, target_line_tensor

    criterion = nn.NLLLoss()

    def train(category_tensor, input_line_tensor, target_line_tensor):
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        loss = torch.Tensor([0])  # you can also just simply use ``loss = 0``
        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
            l = criterion(output, target_line_tensor[i])  # noqa: E741
            loss += l
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item() / input_line_tensor.size(0)

    def sample(category, start_letter='A'):
        with torch.no_grad():  # no need to track history in sampling
            category_tensor = categoryTensor(category)
            input = inputTensor(start_letter)  # noqa: A001
            hidden = rnn.initHidden()
            output_name = start_letter
            for i in range(max_length):  # noqa: B007
                output, hidden = rnn(category_tensor, input[0], hidden)
                topv, topi = output.topk(1)
                topi = topi[0][0]
                if topi == n_letters - 1:
                    break
                else:
                    letter = all_letters[topi]
                    output_name += letter
                input = inputTensor(letter)  # noqa: A001
            return output_name

    losses = []
    for iter in range(1, n_iters + 1):  # noqa: A001, B007
        output, loss = train(*randomTrainingExample())
        losses.append(loss)
    names = [sample(c, s) for c in ALL_CATEGORIES for s in "ABC"]
    return losses, output.detach().numpy().copy(), names
