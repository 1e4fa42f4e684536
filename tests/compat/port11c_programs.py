"""Two more public PyTorch programs written from memory, run with ``torch`` = PyTorch or
chainrule (test_port11_programs.py): pytorch/examples' SNLI classifier (``Bottle``, an
``nn.Linear`` subclass whose ``forward`` folds time into the batch around ``super().forward``,
a bidirectional LSTM fed ``inputs.new_zeros`` states, ``ht[-2:].transpose(0, 1).contiguous()``,
frozen pretrained embeddings, ``torch.cat([p, h, p - h, p * h], 1)``, accuracy by
``torch.max(answer, 1)[1].view(label.size())``) and PyTorch-GAN's InfoGAN (``weights_init_normal``
dispatching on ``classname.find``, ``Upsample`` + ``BatchNorm2d(c, 0.8)`` generator blocks,
``nn.Softmax()`` with the implicit dim, one-hot codes from NumPy, and an info optimizer over
``itertools.chain`` of both networks' parameters).
"""

from __future__ import annotations

import itertools

import numpy as np


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# --- pytorch/examples snli ---------------------------------------------------------------------

def snli(torch, n_embed=12, d_embed=5, d_proj=4, d_hidden=3, n_layers=1, d_out=3,
         birnn=True, dp_ratio=0.2):
    nn = torch.nn

    class Bottle(nn.Module):
        def forward(self, input):  # noqa: A002
            if len(input.size()) <= 2:
                return super(Bottle, self).forward(input)  # noqa: UP008
            size = input.size()[:2]
            out = super(Bottle, self).forward(input.view(size[0] * size[1], -1))  # noqa: UP008
            return out.view(size[0], size[1], -1)

    class Linear(Bottle, nn.Linear):
        pass

    class Encoder(nn.Module):
        def __init__(self):
            super(Encoder, self).__init__()  # noqa: UP008
            input_size = d_proj
            dropout = 0 if n_layers == 1 else dp_ratio
            self.rnn = nn.LSTM(input_size=input_size, hidden_size=d_hidden,
                               num_layers=n_layers, dropout=dropout, bidirectional=birnn)

        def forward(self, inputs):
            batch_size = inputs.size()[1]
            state_shape = n_cells, batch_size, d_hidden
            h0 = c0 = inputs.new_zeros(state_shape)
            outputs, (ht, ct) = self.rnn(inputs, (h0, c0))
            return ht[-1] if not birnn else ht[-2:].transpose(0, 1).contiguous().view(
                batch_size, -1)

    n_cells = n_layers * (2 if birnn else 1)

    class SNLIClassifier(nn.Module):
        def __init__(self):
            super(SNLIClassifier, self).__init__()  # noqa: UP008
            self.embed = nn.Embedding(n_embed, d_embed)
            self.projection = Linear(d_embed, d_proj)
            self.encoder = Encoder()
            self.dropout = nn.Dropout(p=dp_ratio)
            self.relu = nn.ReLU()
            seq_in_size = 2 * d_hidden
            if birnn:
                seq_in_size *= 2
            lin_config = [seq_in_size] * 2
            self.out = nn.Sequential(
                Linear(*lin_config), self.relu, self.dropout,
                Linear(*lin_config), self.relu, self.dropout,
                Linear(seq_in_size, d_out))

        def forward(self, batch):
            prem_embed = self.embed(batch.premise)
            hypo_embed = self.embed(batch.hypothesis)
            prem_embed = prem_embed.detach()  # fix_emb
            hypo_embed = hypo_embed.detach()
            prem_embed = self.relu(self.projection(prem_embed))
            hypo_embed = self.relu(self.projection(hypo_embed))
            premise = self.encoder(prem_embed)
            hypothesis = self.encoder(hypo_embed)
            scores = self.out(torch.cat([premise, hypothesis], 1))
            return scores

    return SNLIClassifier()


class Batch:
    def __init__(self, premise, hypothesis, label):
        self.premise, self.hypothesis, self.label = premise, hypothesis, label


def train_snli(torch, model, batches, pretrained, epochs=2):
    model.embed.weight.data.copy_(pretrained)
    model.embed.weight.requires_grad = False
    criterion = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=0.01)
    log = []
    for _epoch in range(epochs):
        n_correct, n_total = 0, 0
        for batch_idx, batch in enumerate(batches):
            model.train()
            opt.zero_grad()
            answer = model(batch)
            n_correct += (torch.max(answer, 1)[1].view(batch.label.size())
                          == batch.label).sum().item()
            n_total += batch.premise.size()[1]
            train_acc = 100. * n_correct / n_total
            loss = criterion(answer, batch.label)
            loss.backward()
            opt.step()
            log.append((batch_idx, loss.item(), train_acc))
        model.eval()
        with torch.no_grad():
            dev_loss = sum(criterion(model(b), b.label).item() for b in batches) / len(batches)
        log.append(("dev", dev_loss))
    return log, _state(model), model.embed.weight.grad is None


# --- PyTorch-GAN's InfoGAN ---------------------------------------------------------------------

def to_categorical(torch, y, num_columns):
    """Returns one-hot encoded Variable"""
    y_cat = np.zeros((y.shape[0], num_columns))
    y_cat[range(y.shape[0]), y] = 1.0
    return torch.autograd.Variable(torch.DoubleTensor(y_cat))


def infogan(torch, latent_dim=3, n_classes=3, code_dim=2, img_size=8, channels=1):
    nn = torch.nn

    def weights_init_normal(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
            torch.nn.init.constant_(m.bias.data, 0.0)

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()  # noqa: UP008
            input_dim = latent_dim + n_classes + code_dim
            self.init_size = img_size // 4
            self.l1 = nn.Sequential(nn.Linear(input_dim, 8 * self.init_size ** 2))
            self.conv_blocks = nn.Sequential(
                nn.BatchNorm2d(8),
                nn.Upsample(scale_factor=2),
                nn.Conv2d(8, 8, 3, stride=1, padding=1),
                nn.BatchNorm2d(8, 0.8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Upsample(scale_factor=2),
                nn.Conv2d(8, 4, 3, stride=1, padding=1),
                nn.BatchNorm2d(4, 0.8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(4, channels, 3, stride=1, padding=1),
                nn.Tanh(),
            )

        def forward(self, noise, labels, code):
            gen_input = torch.cat((noise, labels, code), -1)
            out = self.l1(gen_input)
            out = out.view(out.shape[0], 8, self.init_size, self.init_size)
            img = self.conv_blocks(out)
            return img

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()  # noqa: UP008

            def discriminator_block(in_filters, out_filters, bn=True):
                block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1),
                         nn.LeakyReLU(0.2, inplace=True)]
                if bn:
                    block.append(nn.BatchNorm2d(out_filters, 0.8))
                return block

            self.conv_blocks = nn.Sequential(
                *discriminator_block(channels, 4, bn=False),
                *discriminator_block(4, 8),
            )
            ds_size = img_size // 2 ** 2
            self.adv_layer = nn.Sequential(nn.Linear(8 * ds_size ** 2, 1))
            self.aux_layer = nn.Sequential(nn.Linear(8 * ds_size ** 2, n_classes), nn.Softmax())
            self.latent_layer = nn.Sequential(nn.Linear(8 * ds_size ** 2, code_dim))

        def forward(self, img):
            out = self.conv_blocks(img)
            out = out.view(out.shape[0], -1)
            validity = self.adv_layer(out)
            label = self.aux_layer(out)
            latent_code = self.latent_layer(out)
            return validity, label, latent_code

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.generator = Generator()
            self.discriminator = Discriminator()
            self.generator.apply(weights_init_normal)
            self.discriminator.apply(weights_init_normal)

    return Pair()


def train_infogan(torch, pair, imgs_batches, latent_dim=3, n_classes=3, code_dim=2, seed=0):
    np.random.seed(seed)
    generator, discriminator = pair.generator, pair.discriminator
    adversarial_loss = torch.nn.MSELoss()
    categorical_loss = torch.nn.CrossEntropyLoss()
    continuous_loss = torch.nn.MSELoss()
    lambda_cat, lambda_con = 1, 0.1
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=0.002, betas=(0.5, 0.999))  # noqa: N806
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=0.002, betas=(0.5, 0.999))  # noqa: N806
    optimizer_info = torch.optim.Adam(
        itertools.chain(generator.parameters(), discriminator.parameters()), lr=0.002,
        betas=(0.5, 0.999))
    # the script's FloatTensor, bound to DoubleTensor here to compare at float64 rounding
    Variable, FloatTensor, LongTensor = (  # noqa: N806
        torch.autograd.Variable, torch.DoubleTensor, torch.LongTensor)
    log = []
    for real_imgs in imgs_batches:
        batch_size = real_imgs.shape[0]
        valid = Variable(FloatTensor(batch_size, 1).fill_(1.0), requires_grad=False)
        fake = Variable(FloatTensor(batch_size, 1).fill_(0.0), requires_grad=False)

        optimizer_G.zero_grad()
        z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, latent_dim))))
        label_input = to_categorical(torch, np.random.randint(0, n_classes, batch_size),
                                     num_columns=n_classes)
        code_input = Variable(FloatTensor(np.random.uniform(-1, 1, (batch_size, code_dim))))
        gen_imgs = generator(z, label_input, code_input)
        validity, _, _ = discriminator(gen_imgs)
        g_loss = adversarial_loss(validity, valid)
        g_loss.backward()
        optimizer_G.step()

        optimizer_D.zero_grad()
        real_pred, _, _ = discriminator(real_imgs)
        d_real_loss = adversarial_loss(real_pred, valid)
        fake_pred, _, _ = discriminator(gen_imgs.detach())
        d_fake_loss = adversarial_loss(fake_pred, fake)
        d_loss = (d_real_loss + d_fake_loss) / 2
        d_loss.backward()
        optimizer_D.step()

        optimizer_info.zero_grad()
        sampled_labels = np.random.randint(0, n_classes, batch_size)
        gt_labels = Variable(LongTensor(sampled_labels), requires_grad=False)
        z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, latent_dim))))
        label_input = to_categorical(torch, sampled_labels, num_columns=n_classes)
        code_input = Variable(FloatTensor(np.random.uniform(-1, 1, (batch_size, code_dim))))
        gen_imgs = generator(z, label_input, code_input)
        _, pred_label, pred_code = discriminator(gen_imgs)
        info_loss = lambda_cat * categorical_loss(pred_label, gt_labels) + lambda_con * \
            continuous_loss(pred_code, code_input)
        info_loss.backward()
        optimizer_info.step()
        log.append((d_loss.item(), g_loss.item(), info_loss.item()))
    return log, _state(pair)


# --- TransE (knowledge-graph embeddings) -------------------------------------------------------

def transe(torch, entity_count=7, relation_count=3, norm=1, dim=4, margin=1.0):
    nn = torch.nn

    class TransE(nn.Module):
        def __init__(self):
            super(TransE, self).__init__()  # noqa: UP008
            self.entity_count, self.relation_count = entity_count, relation_count
            self.norm, self.dim = norm, dim
            self.entities_emb = self._init_enitity_emb()
            self.relations_emb = self._init_relation_emb()
            self.criterion = nn.MarginRankingLoss(margin=margin, reduction="none")

        def _init_enitity_emb(self):
            entities_emb = nn.Embedding(num_embeddings=self.entity_count + 1,
                                        embedding_dim=self.dim, padding_idx=self.entity_count)
            uniform_range = 6 / np.sqrt(self.dim)
            entities_emb.weight.data.uniform_(-uniform_range, uniform_range)
            return entities_emb

        def _init_relation_emb(self):
            relations_emb = nn.Embedding(num_embeddings=self.relation_count + 1,
                                         embedding_dim=self.dim, padding_idx=self.relation_count)
            uniform_range = 6 / np.sqrt(self.dim)
            relations_emb.weight.data.uniform_(-uniform_range, uniform_range)
            # -1 to avoid nan for OOV vector
            relations_emb.weight.data[:-1, :].div_(
                relations_emb.weight.data[:-1, :].norm(p=1, dim=1, keepdim=True))
            return relations_emb

        def forward(self, positive_triplets, negative_triplets):
            # -1 to avoid nan for OOV vector
            self.entities_emb.weight.data[:-1, :].div_(
                self.entities_emb.weight.data[:-1, :].norm(p=2, dim=1, keepdim=True))
            assert positive_triplets.size()[1] == 3
            positive_distances = self._distance(positive_triplets)
            assert negative_triplets.size()[1] == 3
            negative_distances = self._distance(negative_triplets)
            return (self.loss(positive_distances, negative_distances), positive_distances,
                    negative_distances)

        def predict(self, triplets):
            return self._distance(triplets)

        def loss(self, positive_distances, negative_distances):
            target = torch.tensor([-1], dtype=torch.long)
            return self.criterion(positive_distances, negative_distances, target)

        def _distance(self, triplets):
            assert triplets.size()[1] == 3
            heads = triplets[:, 0]
            relations = triplets[:, 1]
            tails = triplets[:, 2]
            return (self.entities_emb(heads) + self.relations_emb(relations)
                    - self.entities_emb(tails)).norm(p=self.norm, dim=1)

    return TransE()


def hit_at_k(torch, predictions, ground_truth_idx, k=10):
    assert predictions.size(0) == ground_truth_idx.size(0)
    zero_tensor = torch.tensor([0])
    one_tensor = torch.tensor([1])
    _, indices = predictions.topk(k=k, largest=False)
    return torch.where(indices == ground_truth_idx, one_tensor, zero_tensor).sum().item()


def mrr(predictions, ground_truth_idx):
    indices = predictions.argsort()
    return (1.0 / (indices == ground_truth_idx).nonzero()[:, 1].float().add(1.0)).sum().item()


def train_transe(torch, model, triples, epochs=4, batch_size=4, entity_count=7):
    data = torch.utils.data
    loader = data.DataLoader(data.TensorDataset(triples), batch_size=batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _epoch in range(epochs):
        model.train()
        for (local_triples,) in loader:
            heads, relations, tails = local_triples[:, 0], local_triples[:, 1], local_triples[:, 2]
            head_or_tail = torch.randint(high=2, size=heads.size())
            random_entities = torch.randint(high=entity_count, size=heads.size())
            broken_heads = torch.where(head_or_tail == 1, random_entities, heads)
            broken_tails = torch.where(head_or_tail == 0, random_entities, tails)
            negative_triples = torch.stack((broken_heads, relations, broken_tails), dim=1)
            optimizer.zero_grad()
            loss, pd, nd = model(local_triples, negative_triples)
            loss.mean().backward()
            optimizer.step()
            losses.append(loss.data.tolist())
    # test: rank every entity as the tail
    model.eval()
    hits, ranks = 0, 0.0
    entity_ids = torch.arange(end=entity_count).unsqueeze(0)
    with torch.no_grad():
        for (local_triples,) in loader:
            heads, relations, tails = local_triples[:, 0], local_triples[:, 1], local_triples[:, 2]
            n = heads.size()[0]
            all_entities = entity_ids.repeat(n, 1)
            heads = heads.reshape(-1, 1).repeat(1, all_entities.size()[1])
            relations = relations.reshape(-1, 1).repeat(1, all_entities.size()[1])
            triplets = torch.stack((heads, relations, all_entities), dim=2).reshape(-1, 3)
            tails_predictions = model.predict(triplets).reshape(n, -1)
            ground_truth = tails.reshape(-1, 1)
            hits += hit_at_k(torch, tails_predictions, ground_truth, k=3)
            ranks += mrr(tails_predictions, ground_truth)
    return losses, hits, ranks, _state(model)
