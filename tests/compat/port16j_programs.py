"""Wave-16 ports, part ten, run with ``torch`` = PyTorch or chainrule (test_port16j_programs.py):
the adversarial autoencoder of fducau/AAE_pytorch (an encoder ``Q``, decoder ``P`` and Gaussian
discriminator ``D_gauss`` with four Adam optimizers, two of them over ``Q``; the reconstruction
phase on ``F.binary_cross_entropy(X_sample + TINY, X.resize(batch, X_dim) + TINY)``, the
discriminator phase with ``Q.eval()`` against ``Variable(torch.randn(batch, z_dim) * 5.)``, the
generator phase; ``P.zero_grad(); Q.zero_grad(); D_gauss.zero_grad()`` between phases).
The dropout of its ``F.dropout(..., p=0.25, training=self.training)`` is an argument here, so
that the comparison can run it at 0.
"""

from __future__ import annotations


def aae(torch, X_dim=12, N=16, z_dim=2, p_drop=0.25):
    nn, F = torch.nn, torch.nn.functional

    class Q_net(nn.Module):  # noqa: N801 - the repository's name
        def __init__(self):
            super().__init__()
            self.lin1 = nn.Linear(X_dim, N)
            self.lin2 = nn.Linear(N, N)
            self.lin3gauss = nn.Linear(N, z_dim)

        def forward(self, x):
            x = F.dropout(self.lin1(x), p=p_drop, training=self.training)
            x = F.relu(x)
            x = F.dropout(self.lin2(x), p=p_drop, training=self.training)
            x = F.relu(x)
            xgauss = self.lin3gauss(x)
            return xgauss

    class P_net(nn.Module):  # noqa: N801 - the repository's name
        def __init__(self):
            super().__init__()
            self.lin1 = nn.Linear(z_dim, N)
            self.lin2 = nn.Linear(N, N)
            self.lin3 = nn.Linear(N, X_dim)

        def forward(self, x):
            x = self.lin1(x)
            x = F.dropout(x, p=p_drop, training=self.training)
            x = F.relu(x)
            x = self.lin2(x)
            x = F.dropout(x, p=p_drop, training=self.training)
            x = self.lin3(x)
            return F.sigmoid(x)

    class D_net_gauss(nn.Module):  # noqa: N801 - the repository's name
        def __init__(self):
            super().__init__()
            self.lin1 = nn.Linear(z_dim, N)
            self.lin2 = nn.Linear(N, N)
            self.lin3 = nn.Linear(N, 1)

        def forward(self, x):
            x = F.dropout(self.lin1(x), p=p_drop, training=self.training)
            x = F.relu(x)
            x = F.dropout(self.lin2(x), p=p_drop, training=self.training)
            x = F.relu(x)
            return F.sigmoid(self.lin3(x))

    nets = nn.Module()
    nets.Q, nets.P, nets.D_gauss = Q_net(), P_net(), D_net_gauss()
    return nets


def train_aae(torch, nets, data, epochs=2, train_batch_size=4, X_dim=12, z_dim=2):
    F, Variable = torch.nn.functional, torch.autograd.Variable
    Q, P, D_gauss = nets.Q, nets.P, nets.D_gauss
    TINY = 1e-15
    # Set learning rates
    gen_lr = 0.0006
    reg_lr = 0.0008
    # Set optimizators
    P_decoder = torch.optim.Adam(P.parameters(), lr=gen_lr)
    Q_encoder = torch.optim.Adam(Q.parameters(), lr=gen_lr)
    Q_generator = torch.optim.Adam(Q.parameters(), lr=reg_lr)
    D_gauss_solver = torch.optim.Adam(D_gauss.parameters(), lr=reg_lr)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data),
                                         batch_size=train_batch_size, shuffle=False)
    history = []
    for _epoch in range(epochs):
        # Set the networks in train mode (apply dropout when needed)
        Q.train()
        P.train()
        D_gauss.train()
        for (X,) in loader:
            X = Variable(X)
            # Init gradients
            P.zero_grad()
            Q.zero_grad()
            D_gauss.zero_grad()

            # Reconstruction phase
            z_sample = Q(X)
            X_sample = P(z_sample)
            recon_loss = F.binary_cross_entropy(X_sample + TINY,
                                                X.resize(train_batch_size, X_dim) + TINY)
            recon_loss.backward()
            P_decoder.step()
            Q_encoder.step()
            P.zero_grad()
            Q.zero_grad()
            D_gauss.zero_grad()

            # Regularization phase: discriminator
            Q.eval()
            z_real_gauss = Variable(torch.randn(train_batch_size, z_dim) * 5.)
            D_real_gauss = D_gauss(z_real_gauss)
            z_fake_gauss = Q(X)
            D_fake_gauss = D_gauss(z_fake_gauss)
            D_loss = -torch.mean(torch.log(D_real_gauss + TINY)
                                 + torch.log(1 - D_fake_gauss + TINY))
            D_loss.backward()
            D_gauss_solver.step()
            P.zero_grad()
            Q.zero_grad()
            D_gauss.zero_grad()

            # Generator
            Q.train()
            z_fake_gauss = Q(X)
            D_fake_gauss = D_gauss(z_fake_gauss)
            G_loss = -torch.mean(torch.log(D_fake_gauss + TINY))
            G_loss.backward()
            Q_generator.step()
            P.zero_grad()
            Q.zero_grad()
            D_gauss.zero_grad()
            history.append((recon_loss.item(), D_loss.item(), G_loss.item()))
    Q.eval()
    with torch.no_grad():
        codes = Q(data)
    return history, codes.numpy().copy(), {k: v.detach().numpy().copy()
                                           for k, v in nets.state_dict().items()}
