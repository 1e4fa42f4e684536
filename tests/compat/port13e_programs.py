"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port13_programs.py): williamleif/graphsage-simple (the mean aggregator's row-normalised
``mask`` built by ``mask[row_indices, column_indices] = 1`` on a ``Variable(torch.zeros(...))``,
``mask.div(num_neigh)``, ``mask.mm(embed_matrix)``, features as an ``nn.Embedding`` whose weight
is replaced by ``nn.Parameter(torch.FloatTensor(feat_data), requires_grad=False)``, the legacy
``init.xavier_uniform``, ``self.weight.mm(combined.t())`` and the optimizer over
``filter(lambda p: p.requires_grad, ...)``).
"""

from __future__ import annotations

import random


def graphsage(torch, feat_data, adj_lists, num_classes=3, embed_dim=6, num_sample=None,
              gcn=False):
    nn = torch.nn
    F = torch.nn.functional
    init = torch.nn.init
    Variable = torch.autograd.Variable

    class MeanAggregator(nn.Module):
        """Aggregates a node's embeddings using mean of neighbors' embeddings."""

        def __init__(self, features, cuda=False, gcn=False):
            super(MeanAggregator, self).__init__()  # noqa: UP008
            self.features = features
            self.cuda = cuda
            self.gcn = gcn

        def forward(self, nodes, to_neighs, num_sample=10):
            # Local pointers to functions (speed hack)
            _set = set
            if num_sample is not None:
                _sample = random.sample
                samp_neighs = [_set(_sample(sorted(to_neigh), num_sample))
                               if len(to_neigh) >= num_sample else to_neigh
                               for to_neigh in to_neighs]
            else:
                samp_neighs = to_neighs

            if self.gcn:
                samp_neighs = [samp_neigh | set([nodes[i]])  # noqa: C405
                               for i, samp_neigh in enumerate(samp_neighs)]
            unique_nodes_list = list(set.union(*samp_neighs))
            unique_nodes = {n: i for i, n in enumerate(unique_nodes_list)}
            mask = Variable(torch.zeros(len(samp_neighs), len(unique_nodes)))
            column_indices = [unique_nodes[n] for samp_neigh in samp_neighs for n in samp_neigh]
            row_indices = [i for i in range(len(samp_neighs)) for j in range(len(samp_neighs[i]))]
            mask[row_indices, column_indices] = 1
            if self.cuda:
                mask = mask.cuda()
            num_neigh = mask.sum(1, keepdim=True)
            mask = mask.div(num_neigh)
            if self.cuda:
                embed_matrix = self.features(torch.LongTensor(unique_nodes_list).cuda())
            else:
                embed_matrix = self.features(torch.LongTensor(unique_nodes_list))
            to_feats = mask.mm(embed_matrix)
            return to_feats

    class Encoder(nn.Module):
        """Encodes a node's using 'convolutional' GraphSage approach."""

        def __init__(self, features, feature_dim, embed_dim, adj_lists, aggregator,
                     num_sample=10, base_model=None, gcn=False, cuda=False,
                     feature_transform=False):
            super(Encoder, self).__init__()  # noqa: UP008

            self.features = features
            self.feat_dim = feature_dim
            self.adj_lists = adj_lists
            self.aggregator = aggregator
            self.num_sample = num_sample
            if base_model is not None:
                self.base_model = base_model

            self.gcn = gcn
            self.embed_dim = embed_dim
            self.cuda = cuda
            self.aggregator.cuda = cuda
            self.weight = nn.Parameter(
                torch.FloatTensor(embed_dim, self.feat_dim if self.gcn else 2 * self.feat_dim))
            init.xavier_uniform(self.weight)

        def forward(self, nodes):
            """Generates embeddings for a batch of nodes."""
            neigh_feats = self.aggregator.forward(nodes, [self.adj_lists[int(node)]
                                                          for node in nodes], self.num_sample)
            if not self.gcn:
                if self.cuda:
                    self_feats = self.features(torch.LongTensor(nodes).cuda())
                else:
                    self_feats = self.features(torch.LongTensor(nodes))
                combined = torch.cat([self_feats, neigh_feats], dim=1)
            else:
                combined = neigh_feats
            combined = F.relu(self.weight.mm(combined.t()))
            return combined

    class SupervisedGraphSage(nn.Module):
        def __init__(self, num_classes, enc):
            super(SupervisedGraphSage, self).__init__()  # noqa: UP008
            self.enc = enc
            self.xent = nn.CrossEntropyLoss()

            self.weight = nn.Parameter(torch.FloatTensor(num_classes, enc.embed_dim))
            init.xavier_uniform(self.weight)

        def forward(self, nodes):
            embeds = self.enc(nodes)
            scores = self.weight.mm(embeds)
            return scores.t()

        def loss(self, nodes, labels):
            scores = self.forward(nodes)
            return self.xent(scores, labels.squeeze())

    num_nodes, num_feats = len(feat_data), len(feat_data[0])
    features = nn.Embedding(num_nodes, num_feats)
    features.weight = nn.Parameter(torch.FloatTensor(feat_data), requires_grad=False)

    agg1 = MeanAggregator(features, cuda=False, gcn=gcn)
    enc1 = Encoder(features, num_feats, embed_dim, adj_lists, agg1, num_sample=num_sample,
                   gcn=gcn, cuda=False)
    agg2 = MeanAggregator(lambda nodes: enc1(nodes).t(), cuda=False, gcn=gcn)
    enc2 = Encoder(lambda nodes: enc1(nodes).t(), enc1.embed_dim, embed_dim, adj_lists, agg2,
                   num_sample=num_sample, base_model=enc1, gcn=gcn, cuda=False)
    return SupervisedGraphSage(num_classes, enc2)


def train_graphsage(torch, graphsage, labels, train, val, steps=8, batch=4, seed=1):
    rnd = random.Random(seed)
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, graphsage.parameters()),
                                lr=0.7)
    losses = []
    for batch_idx in range(steps):  # noqa: B007
        batch_nodes = train[:batch]
        rnd.shuffle(train)
        optimizer.zero_grad()
        loss = graphsage.loss(batch_nodes,
                              torch.autograd.Variable(torch.LongTensor(labels[batch_nodes])))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    val_output = graphsage.forward(val)
    predictions = val_output.data.numpy().argmax(axis=1).tolist()
    return losses, val_output.detach().numpy().copy(), predictions
