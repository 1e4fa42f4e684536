"""Wave-17 ports, part nine, run with ``torch`` = PyTorch or chainrule
(test_port17i_programs.py).

- yashbhalgat/HashNeRF-pytorch's multiresolution hash encoding: ``BOX_OFFSETS``, the spatial
  ``hash`` (``xor_result ^= coords[..., i] * primes[i]``, then ``& (2**T - 1)``),
  ``get_voxel_vertices`` (``torch.floor(...).int()`` voxel corners, a ``keep_mask`` from
  ``torch.max(torch.min(xyz, box_max), box_min)``), ``HashEmbedder`` (a ``ModuleList`` of
  ``nn.Embedding`` tables initialised by ``nn.init.uniform_``, the per-level resolution
  ``torch.floor(base * b**i)`` and the hand-written ``trilinear_interp``), with a small MLP
  fitted to a 3-D field by Adam(eps=1e-15) plus its total-variation regulariser (int32 corners
  plus the int64 ``BOX_OFFSETS`` promote to int64 before the primes multiply them).
- DmitryUlyanov/deep-image-prior's ``skip`` network (``Concat`` cropping its branches to the
  smallest, ``nn.ReflectionPad2d`` convolutions, strided downsampling, ``nn.Upsample(
  scale_factor=2, mode='bilinear')``, ``LeakyReLU(0.2, inplace=True)``, BatchNorm) fitted to a
  noisy image from fixed noise by ``optimizer.step(closure)``, with the input perturbation
  ``net_input_saved + (noise.normal_() * reg_noise_std)`` and a PSNR printout.
"""

from __future__ import annotations

import numpy as np


def hash_embedder(torch, bounding_box, n_levels=3, n_features_per_level=2, log2_hashmap_size=8,
                  base_resolution=2, finest_resolution=8):
    nn = torch.nn
    BOX_OFFSETS = torch.tensor([[[i, j, k] for i in [0, 1] for j in [0, 1] for k in [0, 1]]])

    def hash(coords, log2_hashmap_size):  # noqa: A001 - the repository's name
        '''
        coords: this function can process upto 7 dim coordinates
        log2T:  logarithm of T w.r.t 2
        '''
        primes = [1, 2654435761, 805459861, 3674653429, 2097192037, 1434869437, 2165219737]

        xor_result = torch.zeros_like(coords)[..., 0]
        for i in range(coords.shape[-1]):
            xor_result ^= coords[..., i] * primes[i]

        return torch.tensor((1 << log2_hashmap_size) - 1).to(xor_result.device) & xor_result

    def get_voxel_vertices(xyz, bounding_box, resolution, log2_hashmap_size):
        '''
        xyz: 3D coordinates of samples. B x 3
        bounding_box: min and max x,y,z coordinates of object bbox
        resolution: number of voxels per axis
        '''
        box_min, box_max = bounding_box

        keep_mask = xyz == torch.max(torch.min(xyz, box_max), box_min)
        if not torch.all(xyz <= box_max) or not torch.all(xyz >= box_min):
            xyz = torch.clamp(xyz, min=box_min, max=box_max)

        grid_size = (box_max - box_min) / resolution

        bottom_left_idx = torch.floor((xyz - box_min) / grid_size).int()
        voxel_min_vertex = bottom_left_idx * grid_size + box_min
        voxel_max_vertex = voxel_min_vertex + torch.tensor([1.0, 1.0, 1.0]) * grid_size

        voxel_indices = bottom_left_idx.unsqueeze(1) + BOX_OFFSETS
        hashed_voxel_indices = hash(voxel_indices, log2_hashmap_size)

        return voxel_min_vertex, voxel_max_vertex, hashed_voxel_indices, keep_mask

    class HashEmbedder(nn.Module):
        def __init__(self, bounding_box, n_levels=16, n_features_per_level=2,
                     log2_hashmap_size=19, base_resolution=16, finest_resolution=512):
            super().__init__()
            self.bounding_box = bounding_box
            self.n_levels = n_levels
            self.n_features_per_level = n_features_per_level
            self.log2_hashmap_size = log2_hashmap_size
            self.base_resolution = torch.tensor(base_resolution)
            self.finest_resolution = torch.tensor(finest_resolution)
            self.out_dim = self.n_levels * self.n_features_per_level

            self.b = torch.exp((torch.log(self.finest_resolution)
                                - torch.log(self.base_resolution)) / (n_levels - 1))

            self.embeddings = nn.ModuleList([
                nn.Embedding(2 ** self.log2_hashmap_size, self.n_features_per_level)
                for i in range(n_levels)])
            # custom uniform initialization
            for i in range(n_levels):
                nn.init.uniform_(self.embeddings[i].weight, a=-0.0001, b=0.0001)

        def trilinear_interp(self, x, voxel_min_vertex, voxel_max_vertex, voxel_embedds):
            '''
            x: B x 3
            voxel_min_vertex: B x 3
            voxel_max_vertex: B x 3
            voxel_embedds: B x 8 x 2
            '''
            # source: https://en.wikipedia.org/wiki/Trilinear_interpolation
            weights = (x - voxel_min_vertex) / (voxel_max_vertex - voxel_min_vertex)  # B x 3

            # step 1
            # 0->000, 1->001, 2->010, 3->011, 4->100, 5->101, 6->110, 7->111
            c00 = voxel_embedds[:, 0] * (1 - weights[:, 0][:, None]) \
                + voxel_embedds[:, 4] * weights[:, 0][:, None]
            c01 = voxel_embedds[:, 1] * (1 - weights[:, 0][:, None]) \
                + voxel_embedds[:, 5] * weights[:, 0][:, None]
            c10 = voxel_embedds[:, 2] * (1 - weights[:, 0][:, None]) \
                + voxel_embedds[:, 6] * weights[:, 0][:, None]
            c11 = voxel_embedds[:, 3] * (1 - weights[:, 0][:, None]) \
                + voxel_embedds[:, 7] * weights[:, 0][:, None]

            # step 2
            c0 = c00 * (1 - weights[:, 1][:, None]) + c10 * weights[:, 1][:, None]
            c1 = c01 * (1 - weights[:, 1][:, None]) + c11 * weights[:, 1][:, None]

            # step 3
            c = c0 * (1 - weights[:, 2][:, None]) + c1 * weights[:, 2][:, None]

            return c

        def forward(self, x):
            # x is 3D point position: B x 3
            x_embedded_all = []
            for i in range(self.n_levels):
                resolution = torch.floor(self.base_resolution * self.b ** i)
                voxel_min_vertex, voxel_max_vertex, hashed_voxel_indices, keep_mask = \
                    get_voxel_vertices(x, self.bounding_box, resolution, self.log2_hashmap_size)

                voxel_embedds = self.embeddings[i](hashed_voxel_indices)

                x_embedded = self.trilinear_interp(x, voxel_min_vertex, voxel_max_vertex,
                                                   voxel_embedds)
                x_embedded_all.append(x_embedded)

            keep_mask = keep_mask.sum(dim=-1) == keep_mask.shape[-1]
            return torch.cat(x_embedded_all, dim=-1), keep_mask

    class HashField(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = HashEmbedder(bounding_box, n_levels, n_features_per_level,
                                      log2_hashmap_size, base_resolution, finest_resolution)
            self.mlp = nn.Sequential(nn.Linear(self.embed.out_dim, 16), nn.ReLU(),
                                     nn.Linear(16, 1))

        def forward(self, x):
            features, keep_mask = self.embed(x)
            return self.mlp(features).squeeze(-1), keep_mask

    return HashField()


def train_hash_field(torch, model, xyz, target, steps=12, tv_weight=1e-4):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-15)

    def total_variation_loss(embeddings, min_resolution, max_resolution, level, log2_hashmap_size,
                             n_levels):
        # Get resolution
        b = np.exp((np.log(max_resolution) - np.log(min_resolution)) / (n_levels - 1))
        resolution = torch.tensor(np.floor(min_resolution * b ** level))
        # Cube size to apply TV loss
        min_cube_size = min_resolution - 1
        max_cube_size = 4
        cube_size = int(torch.floor(torch.clip(resolution / 2.0, min_cube_size,
                                               max_cube_size)).item())
        # Sample cuboid: a fixed corner here (the repository draws it by torch.randint)
        min_vertex = torch.tensor([[1, 0, 1]])
        idx = min_vertex + torch.stack([torch.arange(cube_size + 1)
                                        for _ in range(3)], dim=-1)
        cube_indices = torch.stack(torch.meshgrid(idx[:, 0], idx[:, 1], idx[:, 2],
                                                  indexing="ij"), dim=-1)
        hashed_indices = (cube_indices[..., 0] * 1 ^ cube_indices[..., 1] * 7
                          ^ cube_indices[..., 2] * 13) & ((1 << log2_hashmap_size) - 1)
        cube_embeddings = embeddings(hashed_indices)
        tv_x = torch.pow(cube_embeddings[1:, :, :, :] - cube_embeddings[:-1, :, :, :], 2).sum()
        tv_y = torch.pow(cube_embeddings[:, 1:, :, :] - cube_embeddings[:, :-1, :, :], 2).sum()
        tv_z = torch.pow(cube_embeddings[:, :, 1:, :] - cube_embeddings[:, :, :-1, :], 2).sum()
        return (tv_x + tv_y + tv_z) / cube_size

    losses = []
    embed = model.embed
    for _ in range(steps):
        optimizer.zero_grad()
        pred, keep_mask = model(xyz)
        loss = torch.nn.functional.mse_loss(pred[keep_mask], target[keep_mask])
        tv = sum(total_variation_loss(embed.embeddings[i], embed.base_resolution.item(),
                                      embed.finest_resolution.item(), i,
                                      embed.log2_hashmap_size, embed.n_levels)
                 for i in range(embed.n_levels))
        (loss + tv_weight * tv).backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def dip_skip(torch, num_input_channels=4, num_output_channels=3, num_channels_down=(6, 8),
             num_channels_up=(6, 8), num_channels_skip=(2, 2), filter_size_down=3,
             filter_size_up=3, filter_skip_size=1, upsample_mode="bilinear"):
    nn = torch.nn

    def add_module(self, module):
        self.add_module(str(len(self) + 1), module)

    torch.nn.Module.add = add_module  # common.py's, on the library's Module class

    class Concat(nn.Module):
        def __init__(self, dim, *args):
            super().__init__()
            self.dim = dim

            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

        def forward(self, input):  # noqa: A002 - the repository's name
            inputs = []
            for module in self._modules.values():
                inputs.append(module(input))

            inputs_shapes2 = [x.shape[2] for x in inputs]
            inputs_shapes3 = [x.shape[3] for x in inputs]

            if np.all(np.array(inputs_shapes2) == min(inputs_shapes2)) and \
                    np.all(np.array(inputs_shapes3) == min(inputs_shapes3)):
                inputs_ = inputs
            else:
                target_shape2 = min(inputs_shapes2)
                target_shape3 = min(inputs_shapes3)

                inputs_ = []
                for inp in inputs:
                    diff2 = (inp.size(2) - target_shape2) // 2
                    diff3 = (inp.size(3) - target_shape3) // 2
                    inputs_.append(inp[:, :, diff2: diff2 + target_shape2,
                                       diff3:diff3 + target_shape3])

            return torch.cat(inputs_, dim=self.dim)

        def __len__(self):
            return len(self._modules)

    def act():
        return nn.LeakyReLU(0.2, inplace=True)

    def bn(num_features):
        return nn.BatchNorm2d(num_features)

    def conv(in_f, out_f, kernel_size, stride=1, bias=True, pad='reflection'):
        padder = None
        to_pad = int((kernel_size - 1) / 2)
        if pad == 'reflection':
            padder = nn.ReflectionPad2d(to_pad)
            to_pad = 0

        convolver = nn.Conv2d(in_f, out_f, kernel_size, stride, padding=to_pad, bias=bias)

        layers = filter(lambda x: x is not None, [padder, convolver])
        return nn.Sequential(*layers)

    last_scale = len(num_channels_down) - 1
    model = nn.Sequential()
    model_tmp = model

    input_depth = num_input_channels
    for i in range(len(num_channels_down)):

        deeper = nn.Sequential()
        skip = nn.Sequential()

        if num_channels_skip[i] != 0:
            model_tmp.add(Concat(1, skip, deeper))
        else:
            model_tmp.add(deeper)

        model_tmp.add(bn(num_channels_skip[i] + (num_channels_up[i + 1] if i < last_scale
                                                 else num_channels_down[i])))

        if num_channels_skip[i] != 0:
            skip.add(conv(input_depth, num_channels_skip[i], filter_skip_size))
            skip.add(bn(num_channels_skip[i]))
            skip.add(act())

        deeper.add(conv(input_depth, num_channels_down[i], filter_size_down, 2))
        deeper.add(bn(num_channels_down[i]))
        deeper.add(act())

        deeper.add(conv(num_channels_down[i], num_channels_down[i], filter_size_down))
        deeper.add(bn(num_channels_down[i]))
        deeper.add(act())

        deeper_main = nn.Sequential()

        if i == len(num_channels_down) - 1:
            # The deepest
            k = num_channels_down[i]
        else:
            deeper.add(deeper_main)
            k = num_channels_up[i + 1]

        deeper.add(nn.Upsample(scale_factor=2, mode=upsample_mode))

        model_tmp.add(conv(num_channels_skip[i] + k, num_channels_up[i], filter_size_up, 1))
        model_tmp.add(bn(num_channels_up[i]))
        model_tmp.add(act())

        model_tmp.add(conv(num_channels_up[i], num_channels_up[i], 1))
        model_tmp.add(bn(num_channels_up[i]))
        model_tmp.add(act())

        input_depth = num_channels_down[i]
        model_tmp = deeper_main

    model.add(conv(num_channels_up[0], num_output_channels, 1))
    model.add(nn.Sigmoid())
    return model


def fit_deep_image_prior(torch, net, net_input, img_noisy, img_clean, num_iter=8,
                         reg_noise_std=1. / 30., lr=0.01):
    mse = torch.nn.MSELoss()

    def compare_psnr(image_true, image_test):
        err = np.mean((image_true - image_test) ** 2)
        return 10 * np.log10(1.0 / err)

    net_input_saved = net_input.detach().clone()
    noise = net_input.detach().clone()
    out_avg = None
    history = []

    def closure():
        nonlocal out_avg
        if reg_noise_std > 0:
            net_input = net_input_saved + (noise.normal_() * reg_noise_std)
        else:
            net_input = net_input_saved
        out = net(net_input)
        # Smoothing
        out_avg = out.detach() if out_avg is None else out_avg * 0.99 + out.detach() * 0.01
        total_loss = mse(out, img_noisy)
        total_loss.backward()
        psnr_noisy = compare_psnr(img_noisy.numpy(), out.detach().numpy())
        psnr_gt = compare_psnr(img_clean.numpy(), out.detach().numpy())
        history.append((total_loss.item(), psnr_noisy, psnr_gt))
        return total_loss

    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(num_iter):
        optimizer.zero_grad()
        optimizer.step(closure)
    return history, out_avg.numpy().copy(), {k: v.detach().numpy().copy()
                                             for k, v in net.state_dict().items()}
