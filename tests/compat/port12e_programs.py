"""The PyTorch chatbot tutorial written from memory, run with ``torch`` = PyTorch or chainrule
(test_port12_programs.py): batches by ``itertools.zip_longest`` padding, ``torch.LongTensor`` of
padded lists and ``torch.BoolTensor`` masks, a bidirectional GRU encoder over
``pack_padded_sequence``/``pad_packed_sequence`` summing its two directions, Luong attention
('dot', 'general', 'concat' with ``nn.Parameter(torch.FloatTensor(hidden_size))``), one shared
``nn.Embedding``, ``maskNLLLoss`` by ``gather`` and ``masked_select``, teacher forcing drawn by
``random.random()`` or the decoder's own ``topk`` fed back by
``torch.LongTensor([[topi[i][0] for i in range(batch_size)]])``, ``clip_grad_norm_`` per network,
two Adam optimizers (the decoder's at ``learning_rate * decoder_learning_ratio``), and
``GreedySearchDecoder`` growing its answer by ``torch.cat`` onto ``torch.zeros([0])``.
"""

from __future__ import annotations

import itertools
import random

PAD_token, SOS_token, EOS_token = 0, 1, 2  # noqa: N816


class Voc:
    def __init__(self, name):
        self.name = name
        self.word2index = {}
        self.word2count = {}
        self.index2word = {PAD_token: "PAD", SOS_token: "SOS", EOS_token: "EOS"}
        self.num_words = 3  # Count SOS, EOS, PAD

    def addSentence(self, sentence):  # noqa: N802
        for word in sentence.split(" "):
            self.addWord(word)

    def addWord(self, word):  # noqa: N802
        if word not in self.word2index:
            self.word2index[word] = self.num_words
            self.word2count[word] = 1
            self.index2word[self.num_words] = word
            self.num_words += 1
        else:
            self.word2count[word] += 1


def indexesFromSentence(voc, sentence):  # noqa: N802
    return [voc.word2index[word] for word in sentence.split(" ")] + [EOS_token]


def zeroPadding(l, fillvalue=PAD_token):  # noqa: N802, E741
    return list(itertools.zip_longest(*l, fillvalue=fillvalue))


def binaryMatrix(l, value=PAD_token):  # noqa: N802, E741
    m = []
    for i, seq in enumerate(l):
        m.append([])
        for token in seq:
            if token == PAD_token:
                m[i].append(0)
            else:
                m[i].append(1)
    return m


def inputVar(torch, l, voc):  # noqa: N802, E741
    indexes_batch = [indexesFromSentence(voc, sentence) for sentence in l]
    lengths = torch.tensor([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)  # noqa: N806
    padVar = torch.LongTensor(padList)  # noqa: N806
    return padVar, lengths


def outputVar(torch, l, voc):  # noqa: N802, E741
    indexes_batch = [indexesFromSentence(voc, sentence) for sentence in l]
    max_target_len = max([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)  # noqa: N806
    mask = binaryMatrix(padList)
    mask = torch.BoolTensor(mask)
    padVar = torch.LongTensor(padList)  # noqa: N806
    return padVar, mask, max_target_len


def batch2TrainData(torch, voc, pair_batch):  # noqa: N802
    pair_batch.sort(key=lambda x: len(x[0].split(" ")), reverse=True)
    input_batch, output_batch = [], []
    for pair in pair_batch:
        input_batch.append(pair[0])
        output_batch.append(pair[1])
    inp, lengths = inputVar(torch, input_batch, voc)
    output, mask, max_target_len = outputVar(torch, output_batch, voc)
    return inp, lengths, output, mask, max_target_len


def chatbot(torch, num_words, attn_model="dot", hidden_size=8, encoder_n_layers=2,
            decoder_n_layers=2, dropout=0.0):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class EncoderRNN(nn.Module):
        def __init__(self, hidden_size, embedding, n_layers=1, dropout=0):
            super(EncoderRNN, self).__init__()  # noqa: UP008
            self.n_layers = n_layers
            self.hidden_size = hidden_size
            self.embedding = embedding
            self.gru = nn.GRU(hidden_size, hidden_size, n_layers,
                              dropout=(0 if n_layers == 1 else dropout), bidirectional=True)

        def forward(self, input_seq, input_lengths, hidden=None):
            embedded = self.embedding(input_seq)
            packed = nn.utils.rnn.pack_padded_sequence(embedded, input_lengths)
            outputs, hidden = self.gru(packed, hidden)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs)
            outputs = outputs[:, :, :self.hidden_size] + outputs[:, :, self.hidden_size:]
            return outputs, hidden

    class Attn(nn.Module):
        def __init__(self, method, hidden_size):
            super(Attn, self).__init__()  # noqa: UP008
            self.method = method
            if self.method not in ["dot", "general", "concat"]:
                raise ValueError(self.method, "is not an appropriate attention method.")
            self.hidden_size = hidden_size
            if self.method == "general":
                self.attn = nn.Linear(self.hidden_size, hidden_size)
            elif self.method == "concat":
                self.attn = nn.Linear(self.hidden_size * 2, hidden_size)
                self.v = nn.Parameter(torch.FloatTensor(hidden_size))

        def dot_score(self, hidden, encoder_output):
            return torch.sum(hidden * encoder_output, dim=2)

        def general_score(self, hidden, encoder_output):
            energy = self.attn(encoder_output)
            return torch.sum(hidden * energy, dim=2)

        def concat_score(self, hidden, encoder_output):
            energy = self.attn(torch.cat((hidden.expand(encoder_output.size(0), -1, -1),
                                          encoder_output), 2)).tanh()
            return torch.sum(self.v * energy, dim=2)

        def forward(self, hidden, encoder_outputs):
            if self.method == "general":
                attn_energies = self.general_score(hidden, encoder_outputs)
            elif self.method == "concat":
                attn_energies = self.concat_score(hidden, encoder_outputs)
            elif self.method == "dot":
                attn_energies = self.dot_score(hidden, encoder_outputs)
            attn_energies = attn_energies.t()
            return F.softmax(attn_energies, dim=1).unsqueeze(1)

    class LuongAttnDecoderRNN(nn.Module):
        def __init__(self, attn_model, embedding, hidden_size, output_size, n_layers=1,
                     dropout=0.1):
            super(LuongAttnDecoderRNN, self).__init__()  # noqa: UP008
            self.attn_model = attn_model
            self.hidden_size = hidden_size
            self.output_size = output_size
            self.n_layers = n_layers
            self.dropout = dropout
            self.embedding = embedding
            self.embedding_dropout = nn.Dropout(dropout)
            self.gru = nn.GRU(hidden_size, hidden_size, n_layers,
                              dropout=(0 if n_layers == 1 else dropout))
            self.concat = nn.Linear(hidden_size * 2, hidden_size)
            self.out = nn.Linear(hidden_size, output_size)
            self.attn = Attn(attn_model, hidden_size)

        def forward(self, input_step, last_hidden, encoder_outputs):
            embedded = self.embedding(input_step)
            embedded = self.embedding_dropout(embedded)
            rnn_output, hidden = self.gru(embedded, last_hidden)
            attn_weights = self.attn(rnn_output, encoder_outputs)
            context = attn_weights.bmm(encoder_outputs.transpose(0, 1))
            rnn_output = rnn_output.squeeze(0)
            context = context.squeeze(1)
            concat_input = torch.cat((rnn_output, context), 1)
            concat_output = torch.tanh(self.concat(concat_input))
            output = self.out(concat_output)
            output = F.softmax(output, dim=1)
            return output, hidden

    class Chatbot(nn.Module):  # the tutorial keeps the three at top level; one holder here
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(num_words, hidden_size)
            self.encoder = EncoderRNN(hidden_size, self.embedding, encoder_n_layers, dropout)
            self.decoder = LuongAttnDecoderRNN(attn_model, self.embedding, hidden_size,
                                               num_words, decoder_n_layers, dropout)

    return Chatbot()


def maskNLLLoss(torch, inp, target, mask, device):  # noqa: N802
    nTotal = mask.sum()  # noqa: N806
    crossEntropy = -torch.log(torch.gather(inp, 1, target.view(-1, 1)).squeeze(1))  # noqa: N806
    loss = crossEntropy.masked_select(mask).mean()
    loss = loss.to(device)
    return loss, nTotal.item()


def train(torch, input_variable, lengths, target_variable, mask, max_target_len, encoder,
          decoder, embedding, encoder_optimizer, decoder_optimizer, batch_size, clip, device,
          teacher_forcing_ratio=0.5):
    nn = torch.nn
    # Zero gradients
    encoder_optimizer.zero_grad()
    decoder_optimizer.zero_grad()
    # Set device options
    input_variable = input_variable.to(device)
    target_variable = target_variable.to(device)
    mask = mask.to(device)
    # Lengths for RNN packing should always be on the CPU
    lengths = lengths.to("cpu")
    # Initialize variables
    loss = 0
    print_losses = []
    n_totals = 0
    # Forward pass through encoder
    encoder_outputs, encoder_hidden = encoder(input_variable, lengths)
    # Create initial decoder input (start with SOS tokens for each sentence)
    decoder_input = torch.LongTensor([[SOS_token for _ in range(batch_size)]])
    decoder_input = decoder_input.to(device)
    # Set initial decoder hidden state to the encoder's final hidden state
    decoder_hidden = encoder_hidden[:decoder.n_layers]
    # Determine if we are using teacher forcing this iteration
    use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False  # noqa: SIM210
    # Forward batch of sequences through decoder one time step at a time
    if use_teacher_forcing:
        for t in range(max_target_len):
            decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden,
                                                     encoder_outputs)
            # Teacher forcing: next input is current target
            decoder_input = target_variable[t].view(1, -1)
            # Calculate and accumulate loss
            mask_loss, nTotal = maskNLLLoss(torch, decoder_output, target_variable[t],  # noqa: N806
                                            mask[t], device)
            loss += mask_loss
            print_losses.append(mask_loss.item() * nTotal)
            n_totals += nTotal
    else:
        for t in range(max_target_len):
            decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden,
                                                     encoder_outputs)
            # No teacher forcing: next input is decoder's own current output
            _, topi = decoder_output.topk(1)
            decoder_input = torch.LongTensor([[topi[i][0] for i in range(batch_size)]])
            decoder_input = decoder_input.to(device)
            # Calculate and accumulate loss
            mask_loss, nTotal = maskNLLLoss(torch, decoder_output, target_variable[t],  # noqa: N806
                                            mask[t], device)
            loss += mask_loss
            print_losses.append(mask_loss.item() * nTotal)
            n_totals += nTotal
    # Perform backpropagation
    loss.backward()
    # Clip gradients: gradients are modified in place
    _ = nn.utils.clip_grad_norm_(encoder.parameters(), clip)
    _ = nn.utils.clip_grad_norm_(decoder.parameters(), clip)
    # Adjust model weights
    encoder_optimizer.step()
    decoder_optimizer.step()
    return sum(print_losses) / n_totals, use_teacher_forcing


def trainIters(torch, voc, pairs, model, n_iteration=6, batch_size=3, clip=50.0,  # noqa: N802
               learning_rate=0.0001 * 50, decoder_learning_ratio=5.0):
    encoder, decoder, embedding = model.encoder, model.decoder, model.embedding
    device = torch.device("cpu")
    optim = torch.optim
    encoder.train()
    decoder.train()
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(),
                                   lr=learning_rate * decoder_learning_ratio)
    training_batches = [batch2TrainData(torch, voc, [pairs[(i * batch_size + j) % len(pairs)]
                                                     for j in range(batch_size)])
                        for i in range(n_iteration)]  # random.choice in the tutorial
    losses = []
    for iteration in range(1, n_iteration + 1):
        training_batch = training_batches[iteration - 1]
        input_variable, lengths, target_variable, mask, max_target_len = training_batch
        losses.append(train(torch, input_variable, lengths, target_variable, mask,
                            max_target_len, encoder, decoder, embedding, encoder_optimizer,
                            decoder_optimizer, batch_size, clip, device))
    return losses


def greedy_search(torch, encoder, decoder, voc, sentence, max_length=6):
    nn = torch.nn
    device = torch.device("cpu")

    class GreedySearchDecoder(nn.Module):
        def __init__(self, encoder, decoder):
            super(GreedySearchDecoder, self).__init__()  # noqa: UP008
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, input_seq, input_length, max_length):
            encoder_outputs, encoder_hidden = self.encoder(input_seq, input_length)
            decoder_hidden = encoder_hidden[:decoder.n_layers]
            decoder_input = torch.ones(1, 1, device=device, dtype=torch.long) * SOS_token
            all_tokens = torch.zeros([0], device=device, dtype=torch.long)
            all_scores = torch.zeros([0], device=device)
            for _ in range(max_length):
                decoder_output, decoder_hidden = self.decoder(decoder_input, decoder_hidden,
                                                              encoder_outputs)
                decoder_scores, decoder_input = torch.max(decoder_output, dim=1)
                all_tokens = torch.cat((all_tokens, decoder_input), dim=0)
                all_scores = torch.cat((all_scores, decoder_scores), dim=0)
                decoder_input = torch.unsqueeze(decoder_input, 0)
            return all_tokens, all_scores

    encoder.eval()
    decoder.eval()
    searcher = GreedySearchDecoder(encoder, decoder)
    indexes_batch = [indexesFromSentence(voc, sentence)]
    lengths = torch.tensor([len(indexes) for indexes in indexes_batch])
    input_batch = torch.LongTensor(indexes_batch).transpose(0, 1)
    input_batch = input_batch.to(device)
    lengths = lengths.to("cpu")
    tokens, scores = searcher(input_batch, lengths, max_length)
    decoded_words = [voc.index2word[token.item()] for token in tokens]
    return decoded_words, scores.detach().numpy().copy(), str(scores.dtype)
