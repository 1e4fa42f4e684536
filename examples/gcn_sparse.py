"""A graph convolutional network (Kipf & Welling) on a sparse adjacency matrix, as pygcn writes it.

Two communities of people (a stochastic block model: friends within a community are likely, across
communities rare), one-hot node features, and the labels of only a few people per community. A
two-layer GCN spreads what the labelled ones know along the edges:

    H1 = relu(A_hat @ X @ W1),    logits = A_hat @ H1 @ W2,    A_hat = D^-1/2 (A + I) D^-1/2

``A_hat`` is a sparse COO tensor (``cr.sparse_coo_tensor``): only the edges are stored, and
``cr.spmm`` multiplies it by a dense matrix. The gradient reaches W1 and W2 through it.

    python examples/gcn_sparse.py --nodes 40 --steps 100 --seed 0
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr


def two_communities(nodes: int, rng: np.random.Generator, p_in=0.3, p_out=0.02):
    """A random undirected graph of two equal communities: (edges (2, E) both ways, labels)."""
    labels = np.arange(nodes) % 2
    same = labels[:, None] == labels[None, :]
    linked = np.triu(rng.random((nodes, nodes)) < np.where(same, p_in, p_out), 1)
    rows, cols = np.nonzero(linked | linked.T)
    return np.stack([rows, cols]), labels


def normalized_adjacency(edges: np.ndarray, nodes: int) -> cr.SparseTensor:
    """D^-1/2 (A + I) D^-1/2 as a sparse tensor (self-loops added; D counts them too)."""
    loops = np.arange(nodes)
    rows = np.concatenate([edges[0], loops])
    cols = np.concatenate([edges[1], loops])
    degree = np.bincount(rows, minlength=nodes).astype(float)
    values = 1.0 / np.sqrt(degree[rows] * degree[cols])
    return cr.sparse_coo_tensor(np.stack([rows, cols]), values.astype(np.float32),
                                (nodes, nodes)).coalesce()


class GCN(cr.nn.Module):
    """Two graph convolutions: each multiplies by the weights, then mixes neighbours (A_hat @)."""

    def __init__(self, features: int, hidden: int, classes: int, *, rng=None):
        super().__init__()
        self.layer1 = cr.nn.Linear(features, hidden, bias=False, rng=rng)
        self.layer2 = cr.nn.Linear(hidden, classes, bias=False, rng=rng)

    def forward(self, x, adj):
        h = cr.relu(cr.spmm(adj, self.layer1(x)))
        return cr.spmm(adj, self.layer2(h))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--labelled", type=int, default=2, help="labelled nodes per community")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    edges, labels = two_communities(args.nodes, rng)
    adj = normalized_adjacency(edges, args.nodes)
    x = cr.eye(args.nodes)
    train = np.concatenate([np.flatnonzero(labels == c)[:args.labelled] for c in (0, 1)])
    test = np.setdiff1d(np.arange(args.nodes), train)
    model = GCN(args.nodes, 16, 2, rng=rng)
    opt = cr.optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
    target = cr.tensor(labels[train])
    for _ in range(args.steps):
        opt.zero_grad()
        loss = cr.nn.functional.cross_entropy(model(x, adj)[cr.tensor(train)], target)
        loss.backward()
        opt.step()
    predicted = model(x, adj).argmax(dim=1).numpy()
    accuracy = float((predicted[test] == labels[test]).mean())
    print(f"{args.nodes} people, {edges.shape[1] // 2} friendships, A_hat with {adj._nnz()} "
          f"stored entries of {args.nodes ** 2}; {len(train)} labelled")
    print(f"final training loss {loss.item():.4f}; accuracy on the {len(test)} unlabelled: "
          f"{accuracy:.3f}")
    return {"loss": loss.item(), "accuracy": accuracy, "nnz": adj._nnz()}


if __name__ == "__main__":
    main()
