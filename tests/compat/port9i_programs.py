"""A Neural Turing Machine written from memory after the public PyTorch ports, run with
``torch`` = PyTorch or chainrule (test_port9_programs.py): an LSTM controller, content addressing
by ``F.cosine_similarity`` of a key against every memory row (broadcast), interpolation with the
previous weighting, a circular shift by convolving with a 3-tap kernel over a circularly padded
weighting, sharpening by a power, erase/add writes, trained on a copy task with RMSprop and
gradient clipping by value.
"""

from __future__ import annotations


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def ntm(torch, num_inputs=4, num_outputs=4, controller_size=8, n=6, m=5):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class NTMHead(nn.Module):
        def __init__(self, is_write):
            super().__init__()
            self.is_write = is_write
            lengths = [m, 1, 1, 3, 1] + ([m, m] if is_write else [])
            self.lengths = lengths
            self.fc = nn.Linear(controller_size, sum(lengths))

        def _address(self, memory, k, beta, g, s, gamma, w_prev):
            k = k.clone()
            beta, g = F.softplus(beta), torch.sigmoid(g)
            s, gamma = F.softmax(s, dim=1), 1 + F.softplus(gamma)
            wc = F.softmax(beta * F.cosine_similarity(memory + 1e-16, k.unsqueeze(1) + 1e-16,
                                                      dim=-1), dim=1)
            wg = g * wc + (1 - g) * w_prev
            result = torch.zeros(wg.size(), dtype=wg.dtype)
            for b in range(wg.size(0)):
                c = torch.cat([wg[b, -1:], wg[b], wg[b, :1]])
                result[b] = F.conv1d(c.view(1, 1, -1), s[b].flip(0).view(1, 1, -1)).view(-1)
            w = result ** gamma
            return torch.div(w, torch.sum(w, dim=1).view(-1, 1) + 1e-16)

        def forward(self, embeddings, memory, w_prev):
            o = self.fc(embeddings)
            parts = torch.split(o, self.lengths, dim=1)
            w = self._address(memory, *parts[:5], w_prev)
            return w, parts[5:]

    class NTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.controller = nn.LSTMCell(num_inputs + m, controller_size)
            self.read_head, self.write_head = NTMHead(False), NTMHead(True)
            self.fc = nn.Linear(controller_size + m, num_outputs)
            self.register_buffer("mem_bias", torch.full((n, m), 1e-6))

        def init_sequence(self, batch_size, dtype):
            self.memory = self.mem_bias.clone().repeat(batch_size, 1, 1).to(dtype)
            z = torch.zeros(batch_size, controller_size, dtype=dtype)
            self.state = (z, z.clone())
            w0 = torch.zeros(batch_size, n, dtype=dtype)
            w0[:, 0] = 1.0
            self.reads, self.w_read, self.w_write = (torch.zeros(batch_size, m, dtype=dtype),
                                                     w0.clone(), w0.clone())

        def forward(self, x):
            h, c = self.controller(torch.cat([x, self.reads], dim=1), self.state)
            self.state = (h, c)
            self.w_read, _ = self.read_head(h, self.memory, self.w_read)
            self.reads = torch.matmul(self.w_read.unsqueeze(1), self.memory).squeeze(1)
            self.w_write, (e, a) = self.write_head(h, self.memory, self.w_write)
            erase = torch.matmul(self.w_write.unsqueeze(-1), torch.sigmoid(e).unsqueeze(1))
            add = torch.matmul(self.w_write.unsqueeze(-1), a.unsqueeze(1))
            self.memory = self.memory * (1 - erase) + add
            return torch.sigmoid(self.fc(torch.cat([h, self.reads], dim=1)))

    return NTM()


def train_ntm_copy(torch, net, sequences):
    """Copy task: present the sequence, then a delimiter, then read it back."""
    criterion = torch.nn.BCELoss()
    optimizer = torch.optim.RMSprop(net.parameters(), momentum=0.9, alpha=0.95, lr=1e-3)
    losses = []
    for seq in sequences:  # (T, B, num_inputs)
        net.init_sequence(seq.shape[1], seq.dtype)
        optimizer.zero_grad()
        for t in range(seq.shape[0]):
            net(seq[t])
        delim = torch.zeros_like(seq[0])
        delim[:, -1] = 1.0
        net(delim)
        outs = torch.stack([net(torch.zeros_like(seq[0])) for _ in range(seq.shape[0])])
        loss = criterion(outs[..., :-1], seq[..., :-1])
        loss.backward()
        torch.nn.utils.clip_grad_value_(net.parameters(), 10)
        optimizer.step()
        losses.append(loss.item())
    return losses, net.w_read.detach().numpy(), net.memory.detach().numpy(), _state(net)
