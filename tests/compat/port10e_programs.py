"""Tacotron 2 written from memory after NVIDIA's public PyTorch implementation, run with ``torch``
= PyTorch or chainrule (test_port10_programs.py): ``get_mask_from_lengths`` by
``torch.arange(0, max_len, out=torch.LongTensor(max_len))``, an encoder of Conv1d/BatchNorm1d
blocks into a BiLSTM over ``pack_padded_sequence`` (``lengths.cpu().numpy()``), decoder states
made by ``Variable(memory.data.new(B, n).zero_())``, location-sensitive attention (a Conv1d over
the stacked current and cumulative weights, ``masked_fill_`` with ``-float("inf")``), two
``LSTMCell`` s with ``F.dropout(training=self.training)``, the prenet's always-on dropout (p=0
here, as the draws differ; so are the convolutions' 0.5), outputs parsed by
``torch.stack(...).transpose(0, 1)``, a postnet residual, and the masked mel + gate loss with
``BCEWithLogitsLoss``.
"""

from __future__ import annotations


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def get_mask_from_lengths(torch, lengths):
    max_len = torch.max(lengths).item()
    ids = torch.arange(0, max_len, out=torch.LongTensor(max_len))
    mask = (ids < lengths.unsqueeze(1)).bool()
    return mask


def tacotron2(torch, n_symbols=10, emb=8, n_mel=4, att_rnn=8, dec_rnn=8, att_dim=6,
              loc_filters=3, loc_kernel=3, prenet_dim=6, postnet_dim=6, prenet_p=0.0, conv_p=0.0,
              p_attention_dropout=0.0, p_decoder_dropout=0.0, max_decoder_steps=8,
              mask_padding=True):
    nn = torch.nn
    F = nn.functional  # noqa: N806
    Variable = torch.autograd.Variable  # noqa: N806

    class LinearNorm(nn.Module):
        def __init__(self, in_dim, out_dim, bias=True, w_init_gain="linear"):
            super().__init__()
            self.linear_layer = nn.Linear(in_dim, out_dim, bias=bias)
            nn.init.xavier_uniform_(self.linear_layer.weight,
                                    gain=nn.init.calculate_gain(w_init_gain))

        def forward(self, x):
            return self.linear_layer(x)

    class ConvNorm(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=None,
                     dilation=1, bias=True, w_init_gain="linear"):
            super().__init__()
            if padding is None:
                assert (kernel_size % 2 == 1)
                padding = int(dilation * (kernel_size - 1) / 2)
            self.conv = nn.Conv1d(in_channels, out_channels, kernel_size=kernel_size,
                                  stride=stride, padding=padding, dilation=dilation, bias=bias)
            nn.init.xavier_uniform_(self.conv.weight, gain=nn.init.calculate_gain(w_init_gain))

        def forward(self, signal):
            return self.conv(signal)

    class LocationLayer(nn.Module):
        def __init__(self, attention_n_filters, attention_kernel_size, attention_dim):
            super().__init__()
            padding = int((attention_kernel_size - 1) / 2)
            self.location_conv = ConvNorm(2, attention_n_filters,
                                          kernel_size=attention_kernel_size, padding=padding,
                                          bias=False, stride=1, dilation=1)
            self.location_dense = LinearNorm(attention_n_filters, attention_dim, bias=False,
                                             w_init_gain="tanh")

        def forward(self, attention_weights_cat):
            processed_attention = self.location_conv(attention_weights_cat)
            processed_attention = processed_attention.transpose(1, 2)
            processed_attention = self.location_dense(processed_attention)
            return processed_attention

    class Attention(nn.Module):
        def __init__(self, attention_rnn_dim, embedding_dim, attention_dim,
                     attention_location_n_filters, attention_location_kernel_size):
            super().__init__()
            self.query_layer = LinearNorm(attention_rnn_dim, attention_dim, bias=False,
                                          w_init_gain="tanh")
            self.memory_layer = LinearNorm(embedding_dim, attention_dim, bias=False,
                                           w_init_gain="tanh")
            self.v = LinearNorm(attention_dim, 1, bias=False)
            self.location_layer = LocationLayer(attention_location_n_filters,
                                                attention_location_kernel_size, attention_dim)
            self.score_mask_value = -float("inf")

        def get_alignment_energies(self, query, processed_memory, attention_weights_cat):
            processed_query = self.query_layer(query.unsqueeze(1))
            processed_attention_weights = self.location_layer(attention_weights_cat)
            energies = self.v(torch.tanh(
                processed_query + processed_attention_weights + processed_memory))
            energies = energies.squeeze(-1)
            return energies

        def forward(self, attention_hidden_state, memory, processed_memory,
                    attention_weights_cat, mask):
            alignment = self.get_alignment_energies(
                attention_hidden_state, processed_memory, attention_weights_cat)
            if mask is not None:
                alignment.data.masked_fill_(mask, self.score_mask_value)
            attention_weights = F.softmax(alignment, dim=1)
            attention_context = torch.bmm(attention_weights.unsqueeze(1), memory)
            attention_context = attention_context.squeeze(1)
            return attention_context, attention_weights

    class Prenet(nn.Module):
        def __init__(self, in_dim, sizes):
            super().__init__()
            in_sizes = [in_dim] + sizes[:-1]
            self.layers = nn.ModuleList(
                [LinearNorm(in_size, out_size, bias=False)
                 for (in_size, out_size) in zip(in_sizes, sizes)])

        def forward(self, x):
            for linear in self.layers:
                x = F.dropout(F.relu(linear(x)), p=prenet_p, training=True)
            return x

    class Postnet(nn.Module):
        def __init__(self, n_convolutions=3, kernel_size=3):
            super().__init__()
            self.convolutions = nn.ModuleList()
            dims = [n_mel] + [postnet_dim] * (n_convolutions - 1) + [n_mel]
            for i in range(n_convolutions):
                gain = "tanh" if i < n_convolutions - 1 else "linear"
                self.convolutions.append(nn.Sequential(
                    ConvNorm(dims[i], dims[i + 1], kernel_size=kernel_size, stride=1,
                             padding=int((kernel_size - 1) / 2), dilation=1, w_init_gain=gain),
                    nn.BatchNorm1d(dims[i + 1])))

        def forward(self, x):
            for i in range(len(self.convolutions) - 1):
                x = F.dropout(torch.tanh(self.convolutions[i](x)), conv_p, self.training)
            x = F.dropout(self.convolutions[-1](x), conv_p, self.training)
            return x

    class Encoder(nn.Module):
        def __init__(self, n_convolutions=2, kernel_size=3):
            super().__init__()
            convolutions = []
            for _ in range(n_convolutions):
                conv_layer = nn.Sequential(
                    ConvNorm(emb, emb, kernel_size=kernel_size, stride=1,
                             padding=int((kernel_size - 1) / 2), dilation=1, w_init_gain="relu"),
                    nn.BatchNorm1d(emb))
                convolutions.append(conv_layer)
            self.convolutions = nn.ModuleList(convolutions)
            self.lstm = nn.LSTM(emb, int(emb / 2), 1, batch_first=True, bidirectional=True)

        def forward(self, x, input_lengths):
            for conv in self.convolutions:
                x = F.dropout(F.relu(conv(x)), conv_p, self.training)
            x = x.transpose(1, 2)
            input_lengths = input_lengths.cpu().numpy()
            x = nn.utils.rnn.pack_padded_sequence(x, input_lengths, batch_first=True)
            self.lstm.flatten_parameters()
            outputs, _ = self.lstm(x)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)
            return outputs

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_mel_channels = n_mel
            self.n_frames_per_step = 1
            self.encoder_embedding_dim = emb
            self.attention_rnn_dim = att_rnn
            self.decoder_rnn_dim = dec_rnn
            self.prenet_dim = prenet_dim
            self.max_decoder_steps = max_decoder_steps
            self.gate_threshold = 0.5
            self.p_attention_dropout = p_attention_dropout
            self.p_decoder_dropout = p_decoder_dropout
            self.prenet = Prenet(n_mel, [prenet_dim, prenet_dim])
            self.attention_rnn = nn.LSTMCell(prenet_dim + emb, att_rnn)
            self.attention_layer = Attention(att_rnn, emb, att_dim, loc_filters, loc_kernel)
            self.decoder_rnn = nn.LSTMCell(att_rnn + emb, dec_rnn, 1)
            self.linear_projection = LinearNorm(dec_rnn + emb, n_mel)
            self.gate_layer = LinearNorm(dec_rnn + emb, 1, bias=True, w_init_gain="sigmoid")

        def get_go_frame(self, memory):
            B = memory.size(0)  # noqa: N806
            decoder_input = Variable(memory.data.new(B, self.n_mel_channels).zero_())
            return decoder_input

        def initialize_decoder_states(self, memory, mask):
            B = memory.size(0)  # noqa: N806
            MAX_TIME = memory.size(1)  # noqa: N806
            self.attention_hidden = Variable(memory.data.new(B, self.attention_rnn_dim).zero_())
            self.attention_cell = Variable(memory.data.new(B, self.attention_rnn_dim).zero_())
            self.decoder_hidden = Variable(memory.data.new(B, self.decoder_rnn_dim).zero_())
            self.decoder_cell = Variable(memory.data.new(B, self.decoder_rnn_dim).zero_())
            self.attention_weights = Variable(memory.data.new(B, MAX_TIME).zero_())
            self.attention_weights_cum = Variable(memory.data.new(B, MAX_TIME).zero_())
            self.attention_context = Variable(memory.data.new(B, self.encoder_embedding_dim)
                                              .zero_())
            self.memory = memory
            self.processed_memory = self.attention_layer.memory_layer(memory)
            self.mask = mask

        def parse_decoder_inputs(self, decoder_inputs):
            decoder_inputs = decoder_inputs.transpose(1, 2)
            decoder_inputs = decoder_inputs.view(
                decoder_inputs.size(0), int(decoder_inputs.size(1) / self.n_frames_per_step),
                -1)
            decoder_inputs = decoder_inputs.transpose(0, 1)
            return decoder_inputs

        def parse_decoder_outputs(self, mel_outputs, gate_outputs, alignments):
            alignments = torch.stack(alignments).transpose(0, 1)
            gate_outputs = torch.stack(gate_outputs).transpose(0, 1)
            gate_outputs = gate_outputs.contiguous()
            mel_outputs = torch.stack(mel_outputs).transpose(0, 1).contiguous()
            mel_outputs = mel_outputs.view(mel_outputs.size(0), -1, self.n_mel_channels)
            mel_outputs = mel_outputs.transpose(1, 2)
            return mel_outputs, gate_outputs, alignments

        def decode(self, decoder_input):
            cell_input = torch.cat((decoder_input, self.attention_context), -1)
            self.attention_hidden, self.attention_cell = self.attention_rnn(
                cell_input, (self.attention_hidden, self.attention_cell))
            self.attention_hidden = F.dropout(self.attention_hidden, self.p_attention_dropout,
                                              self.training)
            attention_weights_cat = torch.cat(
                (self.attention_weights.unsqueeze(1),
                 self.attention_weights_cum.unsqueeze(1)), dim=1)
            self.attention_context, self.attention_weights = self.attention_layer(
                self.attention_hidden, self.memory, self.processed_memory,
                attention_weights_cat, self.mask)
            self.attention_weights_cum += self.attention_weights
            decoder_input = torch.cat((self.attention_hidden, self.attention_context), -1)
            self.decoder_hidden, self.decoder_cell = self.decoder_rnn(
                decoder_input, (self.decoder_hidden, self.decoder_cell))
            self.decoder_hidden = F.dropout(self.decoder_hidden, self.p_decoder_dropout,
                                            self.training)
            decoder_hidden_attention_context = torch.cat(
                (self.decoder_hidden, self.attention_context), dim=1)
            decoder_output = self.linear_projection(decoder_hidden_attention_context)
            gate_prediction = self.gate_layer(decoder_hidden_attention_context)
            return decoder_output, gate_prediction, self.attention_weights

        def forward(self, memory, decoder_inputs, memory_lengths):
            decoder_input = self.get_go_frame(memory).unsqueeze(0)
            decoder_inputs = self.parse_decoder_inputs(decoder_inputs)
            decoder_inputs = torch.cat((decoder_input, decoder_inputs), dim=0)
            decoder_inputs = self.prenet(decoder_inputs)
            self.initialize_decoder_states(memory, mask=~get_mask_from_lengths(
                torch, memory_lengths))
            mel_outputs, gate_outputs, alignments = [], [], []
            while len(mel_outputs) < decoder_inputs.size(0) - 1:
                decoder_input = decoder_inputs[len(mel_outputs)]
                mel_output, gate_output, attention_weights = self.decode(decoder_input)
                mel_outputs += [mel_output.squeeze(1)]
                gate_outputs += [gate_output.squeeze(1)]
                alignments += [attention_weights]
            return self.parse_decoder_outputs(mel_outputs, gate_outputs, alignments)

        def inference(self, memory):
            decoder_input = self.get_go_frame(memory)
            self.initialize_decoder_states(memory, mask=None)
            mel_outputs, gate_outputs, alignments = [], [], []
            while True:
                decoder_input = self.prenet(decoder_input)
                mel_output, gate_output, alignment = self.decode(decoder_input)
                mel_outputs += [mel_output.squeeze(1)]
                gate_outputs += [gate_output]
                alignments += [alignment]
                if torch.sigmoid(gate_output.data) > self.gate_threshold:
                    break
                elif len(mel_outputs) == self.max_decoder_steps:
                    break
                decoder_input = mel_output
            return self.parse_decoder_outputs(mel_outputs, gate_outputs, alignments)

    class Tacotron2(nn.Module):
        def __init__(self):
            super().__init__()
            self.mask_padding = mask_padding
            self.n_mel_channels = n_mel
            self.embedding = nn.Embedding(n_symbols, emb)
            std = (2.0 / (n_symbols + emb)) ** 0.5
            val = (3.0) ** 0.5 * std
            self.embedding.weight.data.uniform_(-val, val)
            self.encoder = Encoder()
            self.decoder = Decoder()
            self.postnet = Postnet()

        def parse_output(self, outputs, output_lengths=None):
            if self.mask_padding and output_lengths is not None:
                mask = ~get_mask_from_lengths(torch, output_lengths)
                mask = mask.expand(self.n_mel_channels, mask.size(0), mask.size(1))
                mask = mask.permute(1, 0, 2)
                outputs[0].data.masked_fill_(mask, 0.0)
                outputs[1].data.masked_fill_(mask, 0.0)
                outputs[2].data.masked_fill_(mask[:, 0, :], 1e3)
            return outputs

        def forward(self, inputs):
            text_inputs, text_lengths, mels, max_len, output_lengths = inputs
            text_lengths, output_lengths = text_lengths.data, output_lengths.data
            embedded_inputs = self.embedding(text_inputs).transpose(1, 2)
            encoder_outputs = self.encoder(embedded_inputs, text_lengths)
            mel_outputs, gate_outputs, alignments = self.decoder(
                encoder_outputs, mels, memory_lengths=text_lengths)
            mel_outputs_postnet = self.postnet(mel_outputs)
            mel_outputs_postnet = mel_outputs + mel_outputs_postnet
            return self.parse_output(
                [mel_outputs, mel_outputs_postnet, gate_outputs, alignments], output_lengths)

        def inference(self, inputs):
            embedded_inputs = self.embedding(inputs).transpose(1, 2)
            for conv in self.encoder.convolutions:
                embedded_inputs = F.relu(conv(embedded_inputs))
            encoder_outputs, _ = self.encoder.lstm(embedded_inputs.transpose(1, 2))
            mel_outputs, gate_outputs, alignments = self.decoder.inference(encoder_outputs)
            mel_outputs_postnet = self.postnet(mel_outputs)
            mel_outputs_postnet = mel_outputs + mel_outputs_postnet
            return [mel_outputs, mel_outputs_postnet, gate_outputs, alignments]

    return Tacotron2()


class Tacotron2Loss:
    def __init__(self, torch):
        self.nn = torch.nn

    def __call__(self, model_output, targets):
        mel_target, gate_target = targets[0], targets[1]
        mel_target.requires_grad = False
        gate_target.requires_grad = False
        gate_target = gate_target.view(-1, 1)
        mel_out, mel_out_postnet, gate_out, _ = model_output
        gate_out = gate_out.view(-1, 1)
        mel_loss = self.nn.MSELoss()(mel_out, mel_target) + \
            self.nn.MSELoss()(mel_out_postnet, mel_target)
        gate_loss = self.nn.BCEWithLogitsLoss()(gate_out, gate_target)
        return mel_loss + gate_loss


def train_tacotron2(torch, model, text, text_lengths, mels, gates, output_lengths, steps=3):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-6)
    criterion = Tacotron2Loss(torch)
    losses, norms = [], []
    for _ in range(steps):
        model.train()
        model.zero_grad()
        x = (text, text_lengths, mels, mels.size(2), output_lengths)
        y = (mels, gates)
        y_pred = model(x)
        loss = criterion(y_pred, y)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        norms.append(grad_norm.item())
    model.eval()
    with torch.no_grad():
        mel, mel_post, gate, align = model.inference(text[:1, :int(text_lengths[0])])
    return losses, norms, y_pred[3].detach().numpy(), mel_post.numpy(), _state(model)
