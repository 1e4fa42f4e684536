"""FiLM (Perez et al.'s CLEVR model, ethanjperez/film) written from memory, run with ``torch`` =
PyTorch or chainrule (test_port11_programs.py): a GRU question encoder whose last real token is
found by a Python loop over ``x.data`` and read by ``gather`` of an ``expand``-ed index,
``torch.split`` of the generated (gamma, beta) pairs, a gamma baseline, FiLM layers broadcasting
by ``unsqueeze(2).unsqueeze(3).expand_as(x)``, coordinate maps from ``linspace`` and
``expand(torch.Size(...))`` cast by ``.type(torch.FloatTensor)`` and concatenated to float64
features (``cat`` promotes), ``BatchNorm2d(affine=False)``, and kaiming init over ``modules()``.
"""

from __future__ import annotations


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def film_net(torch, vocab=7, wordvec_dim=4, hidden_dim=5, module_dim=4, num_modules=2,
             img_channels=3, num_answers=3, null=0):
    nn = torch.nn
    F = nn.functional  # noqa: N806
    Variable = torch.autograd.Variable  # noqa: N806

    def init_modules(modules, init="normal"):
        for m in modules:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def coord_map(shape, start=-1, end=1):
        m, n = shape
        x_coord_row = torch.linspace(start, end, steps=n).type(torch.FloatTensor)
        y_coord_row = torch.linspace(start, end, steps=m).type(torch.FloatTensor)
        x_coords = x_coord_row.unsqueeze(0).expand(torch.Size((m, n))).unsqueeze(0)
        y_coords = y_coord_row.unsqueeze(1).expand(torch.Size((m, n))).unsqueeze(0)
        return Variable(torch.cat([x_coords, y_coords], 0))

    class FiLM(nn.Module):
        def forward(self, x, gammas, betas):
            gammas = gammas.unsqueeze(2).unsqueeze(3).expand_as(x)
            betas = betas.unsqueeze(2).unsqueeze(3).expand_as(x)
            return (gammas * x) + betas

    class FiLMedResBlock(nn.Module):
        def __init__(self, in_dim, out_dim, num_extra_channels=2, kernel_size=3):
            super(FiLMedResBlock, self).__init__()  # noqa: UP008
            self.input_proj = nn.Conv2d(in_dim + num_extra_channels, in_dim, kernel_size=1)
            self.conv1 = nn.Conv2d(in_dim + num_extra_channels, out_dim,
                                   kernel_size=kernel_size, padding=kernel_size // 2)
            self.bn1 = nn.BatchNorm2d(out_dim, affine=False)
            self.film = FiLM()
            init_modules(self.modules())

        def forward(self, x, gammas=None, betas=None, extra_channels=None):
            x = torch.cat([x, extra_channels], 1)
            x = F.relu(self.input_proj(x))
            out = torch.cat([x, extra_channels], 1)
            out = self.conv1(out)
            out = self.bn1(out)
            out = self.film(out, gammas, betas)
            out = F.relu(out)
            return x + out

    class FiLMGen(nn.Module):
        def __init__(self):
            super(FiLMGen, self).__init__()  # noqa: UP008
            self.NULL = null
            self.encoder_embed = nn.Embedding(vocab, wordvec_dim)
            self.encoder_rnn = nn.GRU(wordvec_dim, hidden_dim, batch_first=True)
            self.decoder_linear = nn.Linear(hidden_dim, num_modules * 2 * module_dim)
            init_modules(self.modules())

        def get_dims(self, x=None):
            return x.size(0), x.size(1)

        def before_rnn(self, x):
            N, T = x.size()  # noqa: N806
            idx = torch.LongTensor(N).fill_(T - 1)
            x_cpu = x.data.cpu()
            for i in range(N):
                for t in range(T - 1):
                    if x_cpu.data[i, t] != self.NULL and x_cpu.data[i, t + 1] == self.NULL:
                        idx[i] = t
                        break
            idx = idx.type_as(x.data).long()
            idx.requires_grad = False
            return x, idx

        def forward(self, x):
            x, idx = self.before_rnn(x)
            N, T = self.get_dims(x=x)  # noqa: N806
            embed = self.encoder_embed(x)
            out, _ = self.encoder_rnn(embed)
            H = out.size(2)  # noqa: N806
            idx = idx.view(N, 1, 1).expand(N, 1, H)
            encoded = out.gather(1, idx).view(N, H)
            film_pre_activation = self.decoder_linear(encoded)
            return film_pre_activation.view(N, num_modules, 2 * module_dim)

    class FiLMedNet(nn.Module):
        def __init__(self):
            super(FiLMedNet, self).__init__()  # noqa: UP008
            self.module_dim = module_dim
            self.num_modules = num_modules
            self.gamma_baseline = 1
            self.stem = nn.Sequential(nn.Conv2d(img_channels, module_dim, 3, padding=1),
                                      nn.BatchNorm2d(module_dim), nn.ReLU(inplace=True))
            self.function_modules = {}
            for fn_num in range(num_modules):
                mod = FiLMedResBlock(module_dim, module_dim)
                self.add_module(str(fn_num), mod)
                self.function_modules[fn_num] = mod
            self.classifier = nn.Sequential(
                nn.Conv2d(module_dim + 2, 6, kernel_size=1), nn.BatchNorm2d(6),
                nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=2, stride=2), nn.Flatten(),
                nn.Linear(6 * 2 * 2, num_answers))
            init_modules(self.modules())

        def forward(self, x, film):
            gammas, betas = torch.split(film[:, :, :2 * self.module_dim], self.module_dim, dim=-1)
            gammas = gammas + self.gamma_baseline
            feats = self.stem(x)
            batch_coords = coord_map((feats.size(2), feats.size(3)))
            batch_coords = batch_coords.unsqueeze(0).expand(
                torch.Size((feats.size(0), *batch_coords.size())))
            module_inputs = feats
            for fn_num in range(self.num_modules):
                module_inputs = self.function_modules[fn_num](
                    module_inputs, gammas[:, fn_num, :], betas[:, fn_num, :], batch_coords)
            feats = torch.cat([module_inputs, batch_coords], 1)
            return self.classifier(feats)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.program_generator = FiLMGen()
            self.execution_engine = FiLMedNet()

    return Model()


def train_film(torch, model, questions, feats, answers, steps=4):
    loss_fn = torch.nn.CrossEntropyLoss().type(torch.DoubleTensor)
    pg_optimizer = torch.optim.Adam(model.program_generator.parameters(), lr=5e-3,
                                    weight_decay=1e-5)
    ee_optimizer = torch.optim.Adam(model.execution_engine.parameters(), lr=5e-3,
                                    weight_decay=1e-5)
    log = []
    for _t in range(steps):
        model.train()
        pg_optimizer.zero_grad()
        ee_optimizer.zero_grad()
        programs_pred = model.program_generator(questions)
        scores = model.execution_engine(feats, programs_pred)
        loss = loss_fn(scores, answers)
        loss.backward()
        ee_optimizer.step()
        pg_optimizer.step()
        _, preds = scores.data.cpu().max(1)
        log.append((loss.item(), (preds == answers).sum().item(), str(scores.dtype)))
    model.eval()
    with torch.no_grad():
        scores = model.execution_engine(feats, model.program_generator(questions))
    return log, scores.numpy().copy(), _state(model)
