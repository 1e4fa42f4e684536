"""Two geometric-deep-learning programs written from memory, run with ``torch`` = PyTorch or
chainrule (test_port10_programs.py): PointNet++ single-scale grouping as the popular PyTorch
reimplementation writes it (farthest point sampling by a loop of boolean-mask writes into a
distance buffer, ball query by writing ``N`` into out-of-radius indices, sorting and filling
with the first index, ``index_points`` by an ``arange(...).view(...).repeat(...)`` batch index
tensor, shared MLPs of 1x1 ``Conv2d`` + ``BatchNorm2d``, max over neighbours), and the E(n)
equivariant GNN (``new_full`` + ``scatter_add_`` with an expanded index for unsorted segment
sums and means, ``coord[row] - coord[col]``, a coordinate MLP whose last layer is
``xavier_uniform_(gain=0.001)``, layers added by ``add_module`` and run through
``self._modules["gcl_%d" % i]``) on an n-body style regression.
"""

# ruff: noqa: B008, F507, UP031 - SiLU() defaults and %-formats as the EGNN repository writes

from __future__ import annotations


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# --- PointNet++ (SSG) -------------------------------------------------------------------------

def square_distance(torch, src, dst):
    B, N, _ = src.shape  # noqa: N806
    _, M, _ = dst.shape  # noqa: N806
    dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
    dist += torch.sum(src ** 2, -1).view(B, N, 1)
    dist += torch.sum(dst ** 2, -1).view(B, 1, M)
    return dist


def index_points(torch, points, idx):
    device = points.device
    B = points.shape[0]  # noqa: N806
    view_shape = list(idx.shape)
    view_shape[1:] = [1] * (len(view_shape) - 1)
    repeat_shape = list(idx.shape)
    repeat_shape[0] = 1
    batch_indices = torch.arange(B, dtype=torch.long).to(device).view(view_shape).repeat(
        repeat_shape)
    new_points = points[batch_indices, idx, :]
    return new_points


def farthest_point_sample(torch, xyz, npoint):
    device = xyz.device
    B, N, C = xyz.shape  # noqa: N806
    centroids = torch.zeros(B, npoint, dtype=torch.long).to(device)
    distance = torch.ones(B, N, dtype=xyz.dtype).to(device) * 1e10
    farthest = torch.randint(0, N, (B,), dtype=torch.long).to(device)
    batch_indices = torch.arange(B, dtype=torch.long).to(device)
    for i in range(npoint):
        centroids[:, i] = farthest
        centroid = xyz[batch_indices, farthest, :].view(B, 1, 3)
        dist = torch.sum((xyz - centroid) ** 2, -1)
        mask = dist < distance
        distance[mask] = dist[mask]
        farthest = torch.max(distance, -1)[1]
    return centroids


def query_ball_point(torch, radius, nsample, xyz, new_xyz):
    device = xyz.device
    B, N, C = xyz.shape  # noqa: N806
    _, S, _ = new_xyz.shape  # noqa: N806
    group_idx = torch.arange(N, dtype=torch.long).to(device).view(1, 1, N).repeat([B, S, 1])
    sqrdists = square_distance(torch, new_xyz, xyz)
    group_idx[sqrdists > radius ** 2] = N
    group_idx = group_idx.sort(dim=-1)[0][:, :, :nsample]
    group_first = group_idx[:, :, 0].view(B, S, 1).repeat([1, 1, nsample])
    mask = group_idx == N
    group_idx[mask] = group_first[mask]
    return group_idx


def sample_and_group(torch, npoint, radius, nsample, xyz, points):
    B, N, C = xyz.shape  # noqa: N806
    S = npoint  # noqa: N806
    fps_idx = farthest_point_sample(torch, xyz, npoint)
    new_xyz = index_points(torch, xyz, fps_idx)
    idx = query_ball_point(torch, radius, nsample, xyz, new_xyz)
    grouped_xyz = index_points(torch, xyz, idx)
    grouped_xyz_norm = grouped_xyz - new_xyz.view(B, S, 1, C)
    if points is not None:
        grouped_points = index_points(torch, points, idx)
        new_points = torch.cat([grouped_xyz_norm, grouped_points], dim=-1)
    else:
        new_points = grouped_xyz_norm
    return new_xyz, new_points, fps_idx


def sample_and_group_all(torch, xyz, points):
    B, N, C = xyz.shape  # noqa: N806
    new_xyz = torch.zeros(B, 1, C, dtype=xyz.dtype)
    grouped_xyz = xyz.view(B, 1, N, C)
    if points is not None:
        new_points = torch.cat([grouped_xyz, points.view(B, 1, N, -1)], dim=-1)
    else:
        new_points = grouped_xyz
    return new_xyz, new_points


def pointnet2(torch, num_class=3, normal_channel=True, width=4):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class PointNetSetAbstraction(nn.Module):
        def __init__(self, npoint, radius, nsample, in_channel, mlp, group_all):
            super().__init__()
            self.npoint = npoint
            self.radius = radius
            self.nsample = nsample
            self.mlp_convs = nn.ModuleList()
            self.mlp_bns = nn.ModuleList()
            last_channel = in_channel
            for out_channel in mlp:
                self.mlp_convs.append(nn.Conv2d(last_channel, out_channel, 1))
                self.mlp_bns.append(nn.BatchNorm2d(out_channel))
                last_channel = out_channel
            self.group_all = group_all

        def forward(self, xyz, points):
            xyz = xyz.permute(0, 2, 1)
            if points is not None:
                points = points.permute(0, 2, 1)
            if self.group_all:
                new_xyz, new_points = sample_and_group_all(torch, xyz, points)
            else:
                new_xyz, new_points, self.fps_idx = sample_and_group(
                    torch, self.npoint, self.radius, self.nsample, xyz, points)
            new_points = new_points.permute(0, 3, 2, 1)
            for i, conv in enumerate(self.mlp_convs):
                bn = self.mlp_bns[i]
                new_points = F.relu(bn(conv(new_points)))
            new_points = torch.max(new_points, 2)[0]
            new_xyz = new_xyz.permute(0, 2, 1)
            return new_xyz, new_points

    w = width

    class get_model(nn.Module):  # noqa: N801 - the repository's name
        def __init__(self, num_class, normal_channel=True):
            super().__init__()
            in_channel = 6 if normal_channel else 3
            self.normal_channel = normal_channel
            self.sa1 = PointNetSetAbstraction(npoint=8, radius=0.6, nsample=4,
                                              in_channel=in_channel, mlp=[w, w, 2 * w],
                                              group_all=False)
            self.sa2 = PointNetSetAbstraction(npoint=4, radius=1.0, nsample=4,
                                              in_channel=2 * w + 3, mlp=[2 * w, 2 * w, 4 * w],
                                              group_all=False)
            self.sa3 = PointNetSetAbstraction(npoint=None, radius=None, nsample=None,
                                              in_channel=4 * w + 3, mlp=[4 * w, 4 * w, 8 * w],
                                              group_all=True)
            self.fc1 = nn.Linear(8 * w, 4 * w)
            self.bn1 = nn.BatchNorm1d(4 * w)
            self.drop1 = nn.Dropout(0.0)
            self.fc2 = nn.Linear(4 * w, 2 * w)
            self.bn2 = nn.BatchNorm1d(2 * w)
            self.drop2 = nn.Dropout(0.0)
            self.fc3 = nn.Linear(2 * w, num_class)

        def forward(self, xyz):
            B, _, _ = xyz.shape  # noqa: N806
            if self.normal_channel:
                norm = xyz[:, 3:, :]
                xyz = xyz[:, :3, :]
            else:
                norm = None
            l1_xyz, l1_points = self.sa1(xyz, norm)
            l2_xyz, l2_points = self.sa2(l1_xyz, l1_points)
            l3_xyz, l3_points = self.sa3(l2_xyz, l2_points)
            x = l3_points.view(B, 8 * w)
            x = self.drop1(F.relu(self.bn1(self.fc1(x))))
            x = self.drop2(F.relu(self.bn2(self.fc2(x))))
            x = self.fc3(x)
            x = F.log_softmax(x, -1)
            return x, l3_points

    return get_model(num_class, normal_channel)


def train_pointnet2(torch, classifier, points, target, steps=3):
    F = torch.nn.functional  # noqa: N806
    optimizer = torch.optim.Adam(classifier.parameters(), lr=0.001, betas=(0.9, 0.999),
                                 eps=1e-08, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.7)
    losses, accs, fps = [], [], []
    for step in range(steps):  # noqa: B007
        classifier = classifier.train()
        optimizer.zero_grad()
        pred, trans_feat = classifier(points.transpose(2, 1))
        loss = F.nll_loss(pred, target.long())
        loss.backward()
        optimizer.step()
        scheduler.step()
        pred_choice = pred.data.max(1)[1]
        correct = pred_choice.eq(target.long().data).cpu().sum()
        accs.append(correct.item() / float(points.size()[0]))
        losses.append(loss.item())
        fps.append(classifier.sa1.fps_idx.numpy().copy())
    return losses, accs, fps, _state(classifier)


# --- the E(n) equivariant GNN -----------------------------------------------------------------

def unsorted_segment_sum(data, segment_ids, num_segments):
    result_shape = (num_segments, data.size(1))
    result = data.new_full(result_shape, 0)
    segment_ids = segment_ids.unsqueeze(-1).expand(-1, data.size(1))
    result.scatter_add_(0, segment_ids, data)
    return result


def unsorted_segment_mean(torch, data, segment_ids, num_segments):
    result_shape = (num_segments, data.size(1))
    segment_ids = segment_ids.unsqueeze(-1).expand(-1, data.size(1))
    result = data.new_full(result_shape, 0)
    count = data.new_full(result_shape, 0)
    result.scatter_add_(0, segment_ids, data)
    count.scatter_add_(0, segment_ids, torch.ones_like(data))
    return result / count.clamp(min=1)


def egnn(torch, in_node_nf=1, hidden_nf=8, out_node_nf=1, in_edge_nf=1, n_layers=2,
         attention=True, normalize=True, tanh=True, coords_agg="mean"):
    nn = torch.nn

    class E_GCL(nn.Module):  # noqa: N801
        def __init__(self, input_nf, output_nf, hidden_nf, edges_in_d=0, act_fn=nn.SiLU(),
                     residual=True, attention=False, normalize=False, coords_agg="mean",
                     tanh=False):
            super().__init__()
            input_edge = input_nf * 2
            self.residual = residual
            self.attention = attention
            self.normalize = normalize
            self.coords_agg = coords_agg
            self.tanh = tanh
            self.epsilon = 1e-8
            edge_coords_nf = 1
            self.edge_mlp = nn.Sequential(
                nn.Linear(input_edge + edge_coords_nf + edges_in_d, hidden_nf), act_fn,
                nn.Linear(hidden_nf, hidden_nf), act_fn)
            self.node_mlp = nn.Sequential(nn.Linear(hidden_nf + input_nf, hidden_nf), act_fn,
                                          nn.Linear(hidden_nf, output_nf))
            layer = nn.Linear(hidden_nf, 1, bias=False)
            torch.nn.init.xavier_uniform_(layer.weight, gain=0.001)
            coord_mlp = [nn.Linear(hidden_nf, hidden_nf), act_fn, layer]
            if self.tanh:
                coord_mlp.append(nn.Tanh())
            self.coord_mlp = nn.Sequential(*coord_mlp)
            if self.attention:
                self.att_mlp = nn.Sequential(nn.Linear(hidden_nf, 1), nn.Sigmoid())

        def edge_model(self, source, target, radial, edge_attr):
            if edge_attr is None:
                out = torch.cat([source, target, radial], dim=1)
            else:
                out = torch.cat([source, target, radial, edge_attr], dim=1)
            out = self.edge_mlp(out)
            if self.attention:
                att_val = self.att_mlp(out)
                out = out * att_val
            return out

        def node_model(self, x, edge_index, edge_attr, node_attr):
            row, col = edge_index
            agg = unsorted_segment_sum(edge_attr, row, num_segments=x.size(0))
            if node_attr is not None:
                agg = torch.cat([x, agg, node_attr], dim=1)
            else:
                agg = torch.cat([x, agg], dim=1)
            out = self.node_mlp(agg)
            if self.residual:
                out = x + out
            return out, agg

        def coord_model(self, coord, edge_index, coord_diff, edge_feat):
            row, col = edge_index
            trans = coord_diff * self.coord_mlp(edge_feat)
            if self.coords_agg == "sum":
                agg = unsorted_segment_sum(trans, row, num_segments=coord.size(0))
            elif self.coords_agg == "mean":
                agg = unsorted_segment_mean(torch, trans, row, num_segments=coord.size(0))
            else:
                raise Exception("Wrong coords_agg parameter" % self.coords_agg)
            coord = coord + agg
            return coord

        def coord2radial(self, edge_index, coord):
            row, col = edge_index
            coord_diff = coord[row] - coord[col]
            radial = torch.sum(coord_diff ** 2, 1).unsqueeze(1)
            if self.normalize:
                norm = torch.sqrt(radial).detach() + self.epsilon
                coord_diff = coord_diff / norm
            return radial, coord_diff

        def forward(self, h, edge_index, coord, edge_attr=None, node_attr=None):
            row, col = edge_index
            radial, coord_diff = self.coord2radial(edge_index, coord)
            edge_feat = self.edge_model(h[row], h[col], radial, edge_attr)
            coord = self.coord_model(coord, edge_index, coord_diff, edge_feat)
            h, agg = self.node_model(h, edge_index, edge_feat, node_attr)
            return h, coord, edge_attr

    class EGNN(nn.Module):
        def __init__(self, in_node_nf, hidden_nf, out_node_nf, in_edge_nf=0, device="cpu",
                     act_fn=nn.SiLU(), n_layers=4, residual=True, attention=False,
                     normalize=False, tanh=False):
            super().__init__()
            self.hidden_nf = hidden_nf
            self.device = device
            self.n_layers = n_layers
            self.embedding_in = nn.Linear(in_node_nf, self.hidden_nf)
            self.embedding_out = nn.Linear(self.hidden_nf, out_node_nf)
            for i in range(0, n_layers):
                self.add_module("gcl_%d" % i, E_GCL(
                    self.hidden_nf, self.hidden_nf, self.hidden_nf, edges_in_d=in_edge_nf,
                    act_fn=act_fn, residual=residual, attention=attention,
                    normalize=normalize, tanh=tanh, coords_agg=coords_agg))
            self.to(self.device)

        def forward(self, h, x, edges, edge_attr):
            h = self.embedding_in(h)
            for i in range(0, self.n_layers):
                h, x, _ = self._modules["gcl_%d" % i](h, edges, x, edge_attr=edge_attr)
            h = self.embedding_out(h)
            return h, x

    return EGNN(in_node_nf, hidden_nf, out_node_nf, in_edge_nf, n_layers=n_layers,
                attention=attention, normalize=normalize, tanh=tanh)


def get_edges(n_nodes):
    rows, cols = [], []
    for i in range(n_nodes):
        for j in range(n_nodes):
            if i != j:
                rows.append(i)
                cols.append(j)
    return [rows, cols]


def get_edges_batch(torch, n_nodes, batch_size):
    edges = get_edges(n_nodes)
    edge_attr = torch.ones(len(edges[0]) * batch_size, 1)
    edges = [torch.LongTensor(edges[0]), torch.LongTensor(edges[1])]
    if batch_size == 1:
        return edges, edge_attr
    elif batch_size > 1:
        rows, cols = [], []
        for i in range(batch_size):
            rows.append(edges[0] + n_nodes * i)
            cols.append(edges[1] + n_nodes * i)
        edges = [torch.cat(rows), torch.cat(cols)]
    return edges, edge_attr


def train_egnn(torch, model, loc, vel, loc_end, rotation, n_nodes=4, batch_size=2, steps=3):
    edges, edge_attr = get_edges_batch(torch, n_nodes, batch_size)
    edge_attr = edge_attr.to(loc.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, weight_decay=1e-12)
    loss_mse = torch.nn.MSELoss()
    nodes = torch.sqrt(torch.sum(vel ** 2, dim=1)).unsqueeze(1).detach()
    losses = []
    for step in range(steps):  # noqa: B007
        optimizer.zero_grad()
        h, loc_pred = model(nodes, loc.detach(), edges, edge_attr)
        loss = loss_mse(loc_pred, loc_end)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        h, x = model(nodes, loc, edges, edge_attr)
        h_rot, x_rot = model(nodes, loc @ rotation.T, edges, edge_attr)
    return losses, h.numpy(), x.numpy(), h_rot.numpy(), x_rot.numpy(), _state(model)
