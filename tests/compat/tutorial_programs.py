"""More programs in the style of well-known PyTorch examples and tutorials, run with ``torch`` =
PyTorch or chainrule (test_tutorial_programs.py): the time-sequence-prediction example (an
``LSTMCell`` stack fitted by LBFGS), the super-resolution example (``PixelShuffle``,
``orthogonal_`` init), fast neural style (``TransformerNet`` with a Gram-matrix style loss) and a
small Vision Transformer.

As in real_programs.py each function takes the library as its ``torch`` argument and writes only
what a PyTorch program writes after ``import torch``; data and noise are passed in.
"""

from __future__ import annotations

import math
from collections import OrderedDict, namedtuple

import numpy as np


def sequence(torch, hidden=6):
    """pytorch/examples time_sequence_prediction: two stacked LSTMCells and a Linear read-out."""
    nn = torch.nn

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, hidden)
            self.lstm2 = nn.LSTMCell(hidden, hidden)
            self.linear = nn.Linear(hidden, 1)

        def forward(self, inputs, future=0):
            outputs = []
            h_t = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            c_t = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            h_t2 = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            c_t2 = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            for input_t in inputs.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _ in range(future):  # the prediction feeds itself
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            outputs = torch.cat(outputs, dim=1)
            return outputs

    return Sequence()


def train_sequence(torch, seq, data, steps=3, future=4):
    """LBFGS with a closure on all but the first sequences, then a no-grad forecast."""
    inputs = torch.from_numpy(data[2:, :-1])
    target = torch.from_numpy(data[2:, 1:])
    test_input = torch.from_numpy(data[:2, :-1])
    test_target = torch.from_numpy(data[:2, 1:])
    seq.double()
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8)
    losses, test_losses = [], []
    for _ in range(steps):
        def closure():
            optimizer.zero_grad()
            out = seq(inputs)
            loss = criterion(out, target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            test_losses.append(loss.item())
            y = pred.detach().numpy()
    return losses, test_losses, y


def super_resolution(torch, upscale_factor=2, width=8):
    """pytorch/examples super_resolution: an ESPCN whose last convolution feeds PixelShuffle."""
    nn = torch.nn
    init = nn.init

    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, width, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(width, width, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(width, width // 2, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(width // 2, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            self._initialize_weights()

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            x = self.pixel_shuffle(self.conv4(x))
            return x

        def _initialize_weights(self):
            init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv4.weight)

    return Net(upscale_factor)


def train_super_resolution(torch, model, low, high, epochs=3, batch_size=2):
    """Adam on MSE over a DataLoader; the test pass reports the PSNR as the example does."""
    data = torch.utils.data
    loader = data.DataLoader(data.TensorDataset(low, high), batch_size=batch_size)
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses, psnrs = [], []
    for _ in range(epochs):
        epoch_loss = 0
        for batch in loader:
            inputs, target = batch[0], batch[1]
            optimizer.zero_grad()
            loss = criterion(model(inputs), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        losses.append(epoch_loss / len(loader))
        avg_psnr = 0
        with torch.no_grad():
            for batch in loader:
                inputs, target = batch[0], batch[1]
                mse = criterion(model(inputs), target)
                psnr = 10 * math.log10(1 / mse.item())
                avg_psnr += psnr
        psnrs.append(avg_psnr / len(loader))
    return losses, psnrs, model(low[:1]).detach().numpy()


def fast_style(torch, c=4, n_res=2):
    """pytorch/examples fast_neural_style: TransformerNet and a small frozen VGG-like net."""
    nn = torch.nn

    class ConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride):
            super().__init__()
            reflection_padding = kernel_size // 2
            self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            out = self.reflection_pad(x)
            out = self.conv2d(out)
            return out

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = nn.InstanceNorm2d(channels, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            out = self.in2(self.conv2(out))
            out = out + residual
            return out

    class UpsampleConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
            super().__init__()
            self.upsample = upsample
            reflection_padding = kernel_size // 2
            self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            x_in = x
            if self.upsample:
                x_in = nn.functional.interpolate(x_in, mode="nearest", scale_factor=self.upsample)
            out = self.reflection_pad(x_in)
            out = self.conv2d(out)
            return out

    class TransformerNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ConvLayer(3, c, kernel_size=9, stride=1)
            self.in1 = nn.InstanceNorm2d(c, affine=True)
            self.conv2 = ConvLayer(c, 2 * c, kernel_size=3, stride=2)
            self.in2 = nn.InstanceNorm2d(2 * c, affine=True)
            self.conv3 = ConvLayer(2 * c, 4 * c, kernel_size=3, stride=2)
            self.in3 = nn.InstanceNorm2d(4 * c, affine=True)
            self.res = nn.Sequential(*[ResidualBlock(4 * c) for _ in range(n_res)])
            self.deconv1 = UpsampleConvLayer(4 * c, 2 * c, kernel_size=3, stride=1, upsample=2)
            self.in4 = nn.InstanceNorm2d(2 * c, affine=True)
            self.deconv2 = UpsampleConvLayer(2 * c, c, kernel_size=3, stride=1, upsample=2)
            self.in5 = nn.InstanceNorm2d(c, affine=True)
            self.deconv3 = ConvLayer(c, 3, kernel_size=9, stride=1)
            self.relu = nn.ReLU()

        def forward(self, X):
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.relu(self.in3(self.conv3(y)))
            y = self.res(y)
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.relu(self.in5(self.deconv2(y)))
            y = self.deconv3(y)
            return y

    class Vgg(nn.Module):
        """VGG16's slices, cut at relu1_2 and relu2_2, frozen."""

        def __init__(self, requires_grad=False):
            super().__init__()
            features = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU(inplace=True),
                        nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
                        nn.MaxPool2d(kernel_size=2, stride=2),
                        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(inplace=True)]
            self.slice1 = nn.Sequential()
            self.slice2 = nn.Sequential()
            for x in range(4):
                self.slice1.add_module(str(x), features[x])
            for x in range(4, 7):
                self.slice2.add_module(str(x), features[x])
            if not requires_grad:
                for param in self.parameters():
                    param.requires_grad = False

        def forward(self, X):
            h = self.slice1(X)
            h_relu1_2 = h
            h = self.slice2(h)
            h_relu2_2 = h
            vgg_outputs = namedtuple("VggOutputs", ["relu1_2", "relu2_2"])
            return vgg_outputs(h_relu1_2, h_relu2_2)

    class Style(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = TransformerNet()
            self.vgg = Vgg(requires_grad=False)

    return Style()


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    """Normalise with ImageNet's mean and std, from 0..255 pixels."""
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


def train_fast_style(torch, model, images, style, content_weight=1.0, style_weight=10.0):
    """The example's loop: content loss on relu2_2, Gram-matrix style loss on both slices."""
    transformer, vgg = model.transformer, model.vgg
    optimizer = torch.optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()
    style = style.repeat(len(images[0]), 1, 1, 1)
    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]
    transformer.train()
    history = []
    for x in images:
        n_batch = len(x)
        optimizer.zero_grad()
        y = transformer(x)
        y = normalize_batch(y)
        x = normalize_batch(x.clone())
        features_y = vgg(y)
        features_x = vgg(x)
        content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)
        style_loss = 0.
        for ft_y, gm_s in zip(features_y, gram_style):
            gm_y = gram_matrix(ft_y)
            style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
        style_loss *= style_weight
        total_loss = content_loss + style_loss
        total_loss.backward()
        optimizer.step()
        history.append((content_loss.item(), style_loss.item()))
    transformer.eval()
    with torch.no_grad():
        output = transformer(images[0]).clamp(0, 255)
    frozen = all(p.grad is None for p in vgg.parameters())
    return history, output.numpy(), frozen


def vit(torch, image=8, patch=4, dim=8, depth=2, heads=2, num_classes=3):
    """A small Vision Transformer as timm and the tutorials write it (pre-norm encoder)."""
    nn = torch.nn

    class PatchEmbed(nn.Module):
        def __init__(self, img_size, patch_size, in_chans, embed_dim):
            super().__init__()
            self.num_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x):
            return self.proj(x).flatten(2).transpose(1, 2)  # B, N, C

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = PatchEmbed(image, patch, 3, dim)
            num_patches = self.patch_embed.num_patches
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
            layer = nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dim_feedforward=2 * dim,
                                               dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=depth,
                                                 enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, num_classes)
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            self.apply(self._init_weights)

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

        def forward(self, x):
            B = x.shape[0]
            x = self.patch_embed(x)
            cls_tokens = self.cls_token.expand(B, -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            x = x + self.pos_embed
            x = self.encoder(x)
            x = self.norm(x)
            return self.head(x[:, 0])

    return ViT()


def train_vit(torch, model, images, labels, steps=6, warmup=2):
    """AdamW without decay on biases, norms and embeddings; linear warm-up into a cosine decay
    by SequentialLR; label smoothing; gradient clipping."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim <= 1 or name.endswith(".bias") or name in ("cls_token", "pos_embed"):
            no_decay.append(p)
        else:
            decay.append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=3e-3, betas=(0.9, 0.999))
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - warmup,
                                                        eta_min=1e-5)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, cosine],
                                                      milestones=[warmup])
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    losses, lrs = [], []
    model.train()
    for _ in range(steps):
        loss = criterion(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    model.eval()
    with torch.no_grad():
        acc = (model(images).argmax(dim=-1) == labels).float().mean().item()
    return losses, lrs, acc, model.pos_embed.detach().numpy()


def wgan_gp(torch, dim=8):
    """The WGAN-GP paper's toy script (gan_toy.py): ReLU MLPs for generator and critic."""
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            main = nn.Sequential(nn.Linear(2, dim), nn.ReLU(True), nn.Linear(dim, dim),
                                 nn.ReLU(True), nn.Linear(dim, 2))
            self.main = main

        def forward(self, noise, real_data):
            return self.main(noise)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(nn.Linear(2, dim), nn.ReLU(True), nn.Linear(dim, dim),
                                      nn.ReLU(True), nn.Linear(dim, 1))

        def forward(self, inputs):
            output = self.main(inputs)
            return output.view(-1)

    class WGAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.netG = Generator()
            self.netD = Discriminator()

    return WGAN()


def calc_gradient_penalty(torch, netD, real_data, fake_data, alpha, LAMBDA=0.1):
    alpha = alpha.expand(real_data.size())
    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    interpolates.requires_grad_(True)
    disc_interpolates = netD(interpolates)
    gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                    grad_outputs=torch.ones(disc_interpolates.size()),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
    return gradient_penalty


def train_wgan_gp(torch, gan, real, noise, alphas, critic_iters=2):
    """n_critic critic steps per generator step, backward(one)/backward(mone) on the means, the
    penalty through autograd.grad(create_graph=True), Adam(betas=(0.5, 0.9))."""
    netG, netD = gan.netG, gan.netD
    optimizerD = torch.optim.Adam(netD.parameters(), lr=1e-3, betas=(0.5, 0.9))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=1e-3, betas=(0.5, 0.9))
    one = torch.tensor(1, dtype=torch.float)
    mone = one * -1
    d_costs, wasserstein, g_costs, penalties = [], [], [], []
    batches = iter(zip(real, noise, alphas))
    for _ in range(len(real) // (critic_iters + 1)):
        for p in netD.parameters():  # reset requires_grad
            p.requires_grad = True
        for _ in range(critic_iters):
            real_data, z, alpha = next(batches)
            netD.zero_grad()
            D_real = netD(real_data)
            D_real = D_real.mean()
            D_real.backward(mone)
            with torch.no_grad():
                fake = netG(z, real_data)
            D_fake = netD(fake).mean()
            D_fake.backward(one)
            gradient_penalty = calc_gradient_penalty(torch, netD, real_data, fake, alpha)
            gradient_penalty.backward()
            D_cost = D_fake - D_real + gradient_penalty
            Wasserstein_D = D_real - D_fake
            optimizerD.step()
            d_costs.append(D_cost.item())
            wasserstein.append(Wasserstein_D.item())
            penalties.append(gradient_penalty.item())
        for p in netD.parameters():
            p.requires_grad = False  # to avoid computation
        real_data, z, _ = next(batches)
        netG.zero_grad()
        fake = netG(z, real_data)
        G = netD(fake).mean()
        G.backward(mone)
        G_cost = -G
        optimizerG.step()
        g_costs.append(G_cost.item())
    critic_grads = [p.grad.numpy().copy() for p in netD.parameters()]
    return d_costs, wasserstein, penalties, g_costs, critic_grads


def actor_critic(torch, n_in=4, hidden=8, n_actions=2):
    """pytorch/examples reinforcement_learning/actor_critic.py: shared body, two heads."""
    nn = torch.nn
    F = nn.functional

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(n_in, hidden)
            self.action_head = nn.Linear(hidden, n_actions)
            self.value_head = nn.Linear(hidden, 1)
            self.saved_actions = []
            self.rewards = []

        def forward(self, x):
            x = F.relu(self.affine1(x))
            action_prob = F.softmax(self.action_head(x), dim=-1)
            state_values = self.value_head(x)
            return action_prob, state_values

    return Policy()


def run_actor_critic(torch, model, env, episodes=3, gamma=0.99):
    """The example's select_action / finish_episode around a gym-style env."""
    F = torch.nn.functional
    Categorical = torch.distributions.Categorical
    SavedAction = namedtuple("SavedAction", ["log_prob", "value"])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state).float()
        probs, state_value = model(state)
        m = Categorical(probs)
        action = m.sample()
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss.item()

    running_reward = 10
    losses, rewards = [], []
    for _ in range(episodes):
        state, ep_reward = env.reset(), 0
        for _t in range(1, 10000):
            action = select_action(state)
            state, reward, done, _ = env.step(action)
            model.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        losses.append(finish_episode())
        rewards.append(running_reward)
    return losses, rewards, [p.detach().numpy().copy() for p in model.parameters()]


ALL_CHARACTERS = "abcdefgh "


def char_rnn(torch, hidden_size=6, n_layers=2):
    """char-rnn.pytorch's CharRNN: Embedding, a GRU stepped one character at a time, Linear."""
    nn = torch.nn
    n_characters = len(ALL_CHARACTERS)

    class CharRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size, n_layers=1):
            super().__init__()
            self.hidden_size = hidden_size
            self.n_layers = n_layers
            self.encoder = nn.Embedding(input_size, hidden_size)
            self.rnn = nn.GRU(hidden_size, hidden_size, n_layers)
            self.decoder = nn.Linear(hidden_size, output_size)

        def forward(self, inputs, hidden):
            batch_size = inputs.size(0)
            encoded = self.encoder(inputs)
            output, hidden = self.rnn(encoded.view(1, batch_size, -1), hidden)
            output = self.decoder(output.view(batch_size, -1))
            return output, hidden

        def init_hidden(self, batch_size):
            weight = next(self.parameters())
            return weight.new_zeros(self.n_layers, batch_size, self.hidden_size)

    return CharRNN(n_characters, hidden_size, n_characters, n_layers)


def char_tensor(torch, string):
    tensor = torch.zeros(len(string)).long()
    for c in range(len(string)):
        tensor[c] = ALL_CHARACTERS.index(string[c])
    return tensor


def train_char_rnn(torch, decoder, text, chunk_len=5, batch_size=2, steps=4):
    """Random chunks (their starts passed in), a loss summed over the steps, clipping, then
    generate() sampling with multinomial at a temperature."""
    optimizer = torch.optim.Adam(decoder.parameters(), lr=0.01)
    criterion = torch.nn.CrossEntropyLoss()
    losses = []
    for step in range(steps):
        inp = torch.LongTensor(batch_size, chunk_len)
        target = torch.LongTensor(batch_size, chunk_len)
        for bi in range(batch_size):
            start_index = (7 * step + 3 * bi) % (len(text) - chunk_len - 1)
            chunk = text[start_index:start_index + chunk_len + 1]
            inp[bi] = char_tensor(torch, chunk[:-1])
            target[bi] = char_tensor(torch, chunk[1:])
        hidden = decoder.init_hidden(batch_size)
        decoder.zero_grad()
        loss = 0
        for c in range(chunk_len):
            output, hidden = decoder(inp[:, c], hidden)
            loss += criterion(output.view(batch_size, -1), target[:, c])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item() / chunk_len)
    return losses, generate(torch, decoder, "ab", 6, temperature=0.8)


def generate(torch, decoder, prime_str="a", predict_len=10, temperature=0.8):
    hidden = decoder.init_hidden(1)
    prime_input = char_tensor(torch, prime_str).unsqueeze(0)
    predicted = prime_str
    with torch.no_grad():
        for p in range(len(prime_str) - 1):
            _, hidden = decoder(prime_input[:, p], hidden)
        inp = prime_input[:, -1]
        for _ in range(predict_len):
            output, hidden = decoder(inp, hidden)
            output_dist = output.data.view(-1).div(temperature).exp()
            top_i = torch.multinomial(output_dist, 1)[0]
            predicted_char = ALL_CHARACTERS[top_i]
            predicted += predicted_char
            inp = char_tensor(torch, predicted_char).unsqueeze(0)
    return predicted


def distillation(torch, n_in=6, n_classes=3):
    """The knowledge-distillation tutorial's teacher (wide) and student (narrow) MLPs."""
    nn = torch.nn

    class Teacher(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(n_in, 12), nn.ReLU(), nn.Dropout(0.1),
                                          nn.Linear(12, 12), nn.ReLU())
            self.classifier = nn.Linear(12, n_classes)

        def forward(self, x):
            return self.classifier(self.features(x))

    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(n_in, 4), nn.ReLU())
            self.classifier = nn.Linear(4, n_classes)

        def forward(self, x):
            return self.classifier(self.features(x))

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.teacher = Teacher()
            self.student = Student()

    return Pair()


def train_distillation(torch, pair, x, y, T=2.0, alpha=0.25, epochs=3, batch_size=4):
    """Teacher first (cross-entropy), then the student on the tutorial's soft-target loss and on
    Hinton's KLDivLoss(reduction="batchmean") * T**2 form; both must give the same number."""
    nn = torch.nn
    F = nn.functional
    teacher, student = pair.teacher, pair.student
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                         batch_size=batch_size)
    ce_loss = nn.CrossEntropyLoss()
    kl_loss = nn.KLDivLoss(reduction="batchmean")
    opt = torch.optim.SGD(teacher.parameters(), lr=0.1, momentum=0.9)
    teacher.train()
    teacher_losses = []
    for inputs, labels in loader:
        teacher.features[2].p = 0.0  # dropout off: both libraries draw different masks
        opt.zero_grad()
        loss = ce_loss(teacher(inputs), labels)
        loss.backward()
        opt.step()
        teacher_losses.append(loss.item())
    optimizer = torch.optim.Adam(student.parameters(), lr=0.01)
    teacher.eval()
    student.train()
    history = []
    for _ in range(epochs):
        for inputs, labels in loader:
            optimizer.zero_grad()
            with torch.no_grad():
                teacher_logits = teacher(inputs)
            student_logits = student(inputs)
            soft_targets = F.softmax(teacher_logits / T, dim=-1)
            soft_prob = F.log_softmax(student_logits / T, dim=-1)
            soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) \
                / soft_prob.size()[0] * (T ** 2)
            kd = kl_loss(soft_prob, soft_targets) * (T * T)
            kd_log_target = F.kl_div(soft_prob, F.log_softmax(teacher_logits / T, dim=1),
                                     reduction="batchmean", log_target=True) * T * T
            label_loss = ce_loss(student_logits, labels)
            loss = alpha * soft_targets_loss + (1 - alpha) * label_loss
            loss.backward()
            optimizer.step()
            history.append((loss.item(), soft_targets_loss.item(), kd.item(),
                            kd_log_target.item()))
    student.eval()
    with torch.no_grad():
        _, predicted = torch.max(student(x), 1)
        correct = (predicted == y).sum().item()
    return teacher_losses, history, correct


def mixup_net(torch, n_in=6, n_classes=3):
    """A small classifier for facebookresearch/mixup-cifar10's training loop."""
    nn = torch.nn
    return nn.Sequential(nn.Linear(n_in, 8), nn.BatchNorm1d(8), nn.ReLU(inplace=True),
                         nn.Linear(8, n_classes))


def train_mixup(torch, net, inputs_all, targets_all, alpha=1.0, epochs=2, batch_size=4):
    """mixup_data (Beta(alpha, alpha) weight, randperm partner), mixup_criterion, and the repo's
    mixed accuracy from predicted.eq(targets.data).cpu().sum()."""
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

    def mixup_data(x, y, alpha=1.0):
        if alpha > 0:
            lam = torch.distributions.Beta(alpha, alpha).sample().item()
        else:
            lam = 1
        batch_size = x.size()[0]
        index = torch.randperm(batch_size)
        mixed_x = lam * x + (1 - lam) * x[index, :]
        y_a, y_b = y, y[index]
        return mixed_x, y_a, y_b, lam

    def mixup_criterion(criterion, pred, y_a, y_b, lam):
        return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)

    history = []
    for _ in range(epochs):
        net.train()
        train_loss, correct, total = 0, 0, 0
        for i in range(0, len(inputs_all), batch_size):
            inputs, targets = inputs_all[i:i + batch_size], targets_all[i:i + batch_size]
            inputs, targets_a, targets_b, lam = mixup_data(inputs, targets, alpha)
            outputs = net(inputs)
            loss = mixup_criterion(criterion, outputs, targets_a, targets_b, lam)
            train_loss += loss.item()
            _, predicted = torch.max(outputs.data, 1)
            total += targets.size(0)
            correct += (lam * predicted.eq(targets_a.data).cpu().sum().float()
                        + (1 - lam) * predicted.eq(targets_b.data).cpu().sum().float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history.append((train_loss, (100. * correct / total).item()))
    net.eval()
    with torch.no_grad():
        out = net(inputs_all)
    return history, out.numpy(), net[1].running_var.numpy()


def siamese(torch):
    """The classic siamese network for one-shot similarity (a shared CNN tower)."""
    nn = torch.nn

    class SiameseNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn1 = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(inplace=True),
                nn.BatchNorm2d(4),
                nn.ReflectionPad2d(1), nn.Conv2d(4, 4, kernel_size=3), nn.ReLU(inplace=True),
                nn.BatchNorm2d(4))
            self.fc1 = nn.Sequential(nn.Linear(4 * 6 * 6, 16), nn.ReLU(inplace=True),
                                     nn.Linear(16, 5))

        def forward_once(self, x):
            output = self.cnn1(x)
            output = output.view(output.size()[0], -1)
            output = self.fc1(output)
            return output

        def forward(self, input1, input2):
            output1 = self.forward_once(input1)
            output2 = self.forward_once(input2)
            return output1, output2

    return SiameseNetwork()


def train_siamese(torch, net, img0, img1, label, epochs=3, batch_size=4):
    """Contrastive loss on F.pairwise_distance, Adam; dissimilarity of a pair at the end."""
    F = torch.nn.functional

    class ContrastiveLoss(torch.nn.Module):
        def __init__(self, margin=2.0):
            super().__init__()
            self.margin = margin

        def forward(self, output1, output2, label):
            euclidean_distance = F.pairwise_distance(output1, output2, keepdim=True)
            loss_contrastive = torch.mean(
                (1 - label) * torch.pow(euclidean_distance, 2)
                + label * torch.pow(torch.clamp(self.margin - euclidean_distance, min=0.0), 2))
            return loss_contrastive

    criterion = ContrastiveLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.0005)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(img0, img1, label),
                                         batch_size=batch_size)
    loss_history = []
    for _ in range(epochs):
        for data in loader:
            x0, x1, lbl = data
            optimizer.zero_grad()
            output1, output2 = net(x0, x1)
            loss_contrastive = criterion(output1, output2, lbl)
            loss_contrastive.backward()
            optimizer.step()
            loss_history.append(loss_contrastive.item())
    net.eval()
    with torch.no_grad():
        output1, output2 = net(img0[:2], img1[:2])
        dissimilarity = F.pairwise_distance(output1, output2)
        cosine = F.cosine_similarity(output1, output2, dim=1)
    return loss_history, dissimilarity.numpy(), cosine.numpy()


def pointnet(torch, k_classes=3, width=8):
    """fxia22/pointnet.pytorch's PointNetCls: input and feature STNs, shared 1x1 Conv1d MLPs,
    max pooling over the points; the widths scaled down."""
    nn = torch.nn
    F = nn.functional
    w1, w2, w3 = width, 2 * width, 4 * width

    class STNkd(nn.Module):
        def __init__(self, k=3):
            super().__init__()
            self.conv1 = torch.nn.Conv1d(k, w1, 1)
            self.conv2 = torch.nn.Conv1d(w1, w2, 1)
            self.conv3 = torch.nn.Conv1d(w2, w3, 1)
            self.fc1 = nn.Linear(w3, w2)
            self.fc2 = nn.Linear(w2, w1)
            self.fc3 = nn.Linear(w1, k * k)
            self.relu = nn.ReLU()
            self.bn1 = nn.BatchNorm1d(w1)
            self.bn2 = nn.BatchNorm1d(w2)
            self.bn3 = nn.BatchNorm1d(w3)
            self.bn4 = nn.BatchNorm1d(w2)
            self.bn5 = nn.BatchNorm1d(w1)
            self.k = k

        def forward(self, x):
            batchsize = x.size()[0]
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = F.relu(self.bn3(self.conv3(x)))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, w3)
            x = F.relu(self.bn4(self.fc1(x)))
            x = F.relu(self.bn5(self.fc2(x)))
            x = self.fc3(x)
            iden = torch.from_numpy(np.eye(self.k).flatten().astype(np.float32)).view(
                1, self.k * self.k).repeat(batchsize, 1)
            x = x + iden
            x = x.view(-1, self.k, self.k)
            return x

    class PointNetfeat(nn.Module):
        def __init__(self, global_feat=True, feature_transform=False):
            super().__init__()
            self.stn = STNkd(k=3)
            self.conv1 = torch.nn.Conv1d(3, w1, 1)
            self.conv2 = torch.nn.Conv1d(w1, w2, 1)
            self.conv3 = torch.nn.Conv1d(w2, w3, 1)
            self.bn1 = nn.BatchNorm1d(w1)
            self.bn2 = nn.BatchNorm1d(w2)
            self.bn3 = nn.BatchNorm1d(w3)
            self.global_feat = global_feat
            self.feature_transform = feature_transform
            if self.feature_transform:
                self.fstn = STNkd(k=w1)

        def forward(self, x):
            n_pts = x.size()[2]
            trans = self.stn(x)
            x = x.transpose(2, 1)
            x = torch.bmm(x, trans)
            x = x.transpose(2, 1)
            x = F.relu(self.bn1(self.conv1(x)))
            if self.feature_transform:
                trans_feat = self.fstn(x)
                x = x.transpose(2, 1)
                x = torch.bmm(x, trans_feat)
                x = x.transpose(2, 1)
            else:
                trans_feat = None
            pointfeat = x
            x = F.relu(self.bn2(self.conv2(x)))
            x = self.bn3(self.conv3(x))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, w3)
            if self.global_feat:
                return x, trans, trans_feat
            x = x.view(-1, w3, 1).repeat(1, 1, n_pts)
            return torch.cat([x, pointfeat], 1), trans, trans_feat

    class PointNetCls(nn.Module):
        def __init__(self, k=2, feature_transform=False):
            super().__init__()
            self.feature_transform = feature_transform
            self.feat = PointNetfeat(global_feat=True, feature_transform=feature_transform)
            self.fc1 = nn.Linear(w3, w2)
            self.fc2 = nn.Linear(w2, w1)
            self.fc3 = nn.Linear(w1, k)
            self.dropout = nn.Dropout(p=0.3)
            self.bn1 = nn.BatchNorm1d(w2)
            self.bn2 = nn.BatchNorm1d(w1)
            self.relu = nn.ReLU()

        def forward(self, x):
            x, trans, trans_feat = self.feat(x)
            x = F.relu(self.bn1(self.fc1(x)))
            x = F.relu(self.bn2(self.dropout(self.fc2(x))))
            x = self.fc3(x)
            return F.log_softmax(x, dim=1), trans, trans_feat

    return PointNetCls(k=k_classes, feature_transform=True)


def feature_transform_regularizer(torch, trans):
    d = trans.size()[1]
    I = torch.eye(d)[None, :, :]  # noqa: E741 - the repository's name
    loss = torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - I, dim=(1, 2)))
    return loss


def train_pointnet(torch, classifier, points, target, epochs=3, batch_size=4):
    """NLL plus 0.001 times the feature-transform regulariser, Adam and StepLR; dropout is
    switched off through the module so the two libraries draw no masks."""
    F = torch.nn.functional
    classifier.dropout.p = 0.0
    optimizer = torch.optim.Adam(classifier.parameters(), lr=0.001, betas=(0.9, 0.999))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    losses = []
    for _ in range(epochs):
        for i in range(0, len(points), batch_size):
            pts = points[i:i + batch_size].transpose(2, 1)
            tgt = target[i:i + batch_size]
            optimizer.zero_grad()
            classifier = classifier.train()
            pred, trans, trans_feat = classifier(pts)
            loss = F.nll_loss(pred, tgt)
            loss += feature_transform_regularizer(torch, trans_feat) * 0.001
            loss.backward()
            optimizer.step()
            pred_choice = pred.data.max(1)[1]
            correct = pred_choice.eq(tgt.data).cpu().sum()
            losses.append((loss.item(), correct.item()))
        scheduler.step()
    classifier = classifier.eval()
    with torch.no_grad():
        pred, trans, _ = classifier(points.transpose(2, 1))
    return losses, pred.numpy(), trans.numpy(), scheduler.get_last_lr()


def unet(torch, n_channels=3, n_classes=1, base=4):
    """milesial/Pytorch-UNet: DoubleConv, Down (max pool), Up (ConvTranspose2d, F.pad to the skip,
    torch.cat), OutConv; two levels instead of four."""
    nn = torch.nn
    F = nn.functional

    class DoubleConv(nn.Module):
        def __init__(self, in_channels, out_channels, mid_channels=None):
            super().__init__()
            if not mid_channels:
                mid_channels = out_channels
            self.double_conv = nn.Sequential(
                nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(mid_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True))

        def forward(self, x):
            return self.double_conv(x)

    class Down(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels,
                                                                          out_channels))

        def forward(self, x):
            return self.maxpool_conv(x)

    class Up(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

        def forward(self, x1, x2):
            x1 = self.up(x1)
            diffY = x2.size()[2] - x1.size()[2]
            diffX = x2.size()[3] - x1.size()[3]
            x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            x = torch.cat([x2, x1], dim=1)
            return self.conv(x)

    class UNet(nn.Module):
        def __init__(self, n_channels, n_classes):
            super().__init__()
            self.n_channels = n_channels
            self.n_classes = n_classes
            self.inc = DoubleConv(n_channels, base)
            self.down1 = Down(base, 2 * base)
            self.down2 = Down(2 * base, 4 * base)
            self.up1 = Up(4 * base, 2 * base)
            self.up2 = Up(2 * base, base)
            self.outc = nn.Conv2d(base, n_classes, kernel_size=1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x = self.up1(x3, x2)
            x = self.up2(x, x1)
            return self.outc(x)

    return UNet(n_channels, n_classes)


def dice_coeff(torch, input, target, reduce_batch_first=False, epsilon=1e-6):  # noqa: A002
    assert input.size() == target.size()
    assert input.dim() == 3 or not reduce_batch_first
    sum_dim = (-1, -2) if input.dim() == 2 or not reduce_batch_first else (-1, -2, -3)
    inter = 2 * (input * target).sum(dim=sum_dim)
    sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
    sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
    dice = (inter + epsilon) / (sets_sum + epsilon)
    return dice.mean()


def train_unet(torch, model, images, masks, epochs=3, batch_size=2):
    """The repository's train loop: channels_last, RMSprop(momentum=0.999, foreach=True),
    BCEWithLogits + Dice loss, GradScaler (disabled), clipping, ReduceLROnPlateau('max') on
    the validation Dice score."""
    F = torch.nn.functional
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, weight_decay=1e-8,
                                    momentum=0.999, foreach=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max", patience=0)
    grad_scaler = torch.amp.GradScaler("cpu", enabled=False)
    criterion = torch.nn.BCEWithLogitsLoss()
    losses, scores, lrs = [], [], []
    for _ in range(epochs):
        model.train()
        for i in range(0, len(images), batch_size):
            batch_images = images[i:i + batch_size].to(dtype=images.dtype,
                                                       memory_format=torch.channels_last)
            true_masks = masks[i:i + batch_size].to(dtype=torch.long)
            masks_pred = model(batch_images)
            loss = criterion(masks_pred.squeeze(1), true_masks.to(images.dtype))
            loss += 1 - dice_coeff(torch, F.sigmoid(masks_pred.squeeze(1)),
                                   true_masks.to(images.dtype), reduce_batch_first=False)
            optimizer.zero_grad(set_to_none=True)
            grad_scaler.scale(loss).backward()
            grad_scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            grad_scaler.step(optimizer)
            grad_scaler.update()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            mask_pred = (F.sigmoid(model(images).squeeze(1)) > 0.5).to(images.dtype)
            val_score = dice_coeff(torch, mask_pred, masks.to(images.dtype)).item()
        scheduler.step(val_score)
        scores.append(val_score)
        lrs.append(optimizer.param_groups[0]["lr"])
    return losses, scores, lrs, model(images).detach().numpy()


def blitz_net(torch):
    """The 60-minute blitz's "Neural Networks" LeNet (F.max_pool2d with a tuple or an int)."""
    nn = torch.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 2, 3)
            self.conv2 = nn.Conv2d(2, 4, 3)
            self.fc1 = nn.Linear(4 * 2 * 2, 12)
            self.fc2 = nn.Linear(12, 8)
            self.fc3 = nn.Linear(8, 5)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, self.num_flat_features(x))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

        def num_flat_features(self, x):
            size = x.size()[1:]
            num_features = 1
            for s in size:
                num_features *= s
            return num_features

    return Net()


def run_blitz(torch, net, image, upstream, target, learning_rate=0.01):
    """out.backward(upstream), the walk of loss.grad_fn.next_functions, the hand-written
    ``f.data.sub_(f.grad.data * learning_rate)`` step, then optim.SGD."""
    params = list(net.parameters())
    shapes = [tuple(p.size()) for p in params]
    out = net(image)
    net.zero_grad()
    out.backward(upstream)
    conv_grad = params[0].grad.clone()
    out = net(image)
    target = target.view(1, -1)
    criterion = torch.nn.MSELoss()
    loss = criterion(out, target)
    walk = [loss.grad_fn, loss.grad_fn.next_functions[0][0],  # MSELoss, Linear, ReLU
            loss.grad_fn.next_functions[0][0].next_functions[0][0]]
    net.zero_grad()
    before = net.conv1.bias.grad
    loss.backward()
    after = net.conv1.bias.grad.clone()
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    losses = [loss.item()]
    for _ in range(3):
        optimizer.zero_grad()
        output = net(image)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return (shapes, conv_grad.numpy(), None not in walk, before is None,
            after.numpy(), losses)


def gcn(torch, nfeat=5, nhid=6, nclass=3, dropout=0.5):
    """tkipf/pygcn: GraphConvolution layers over a (dense) normalised adjacency matrix."""
    nn = torch.nn
    F = nn.functional
    Module, Parameter = nn.Module, nn.Parameter

    class GraphConvolution(Module):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight = Parameter(torch.FloatTensor(in_features, out_features))
            if bias:
                self.bias = Parameter(torch.FloatTensor(out_features))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1. / math.sqrt(self.weight.size(1))
            self.weight.data.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.data.uniform_(-stdv, stdv)

        def forward(self, input, adj):  # noqa: A002 - the repository's name
            support = torch.mm(input, self.weight)
            output = torch.mm(adj, support)
            if self.bias is not None:
                return output + self.bias
            return output

        def __repr__(self):
            return (self.__class__.__name__ + " (" + str(self.in_features) + " -> "
                    + str(self.out_features) + ")")

    class GCN(nn.Module):
        def __init__(self, nfeat, nhid, nclass, dropout):
            super().__init__()
            self.gc1 = GraphConvolution(nfeat, nhid)
            self.gc2 = GraphConvolution(nhid, nclass)
            self.dropout = dropout

        def forward(self, x, adj):
            x = F.relu(self.gc1(x, adj))
            x = F.dropout(x, self.dropout, training=self.training)
            x = self.gc2(x, adj)
            return F.log_softmax(x, dim=1)

    return GCN(nfeat, nhid, nclass, dropout)


def train_gcn(torch, model, features, adj, labels, epochs=5):
    """pygcn's train/test: row-normalised features and adjacency, index tensors for the split,
    accuracy by ``preds.eq(labels).double()``; dropout off so the runs draw no masks."""
    F = torch.nn.functional

    def normalize(mx):
        rowsum = np.array(mx.sum(1))
        r_inv = np.power(rowsum, -1).flatten()
        r_inv[np.isinf(r_inv)] = 0.
        return np.diag(r_inv).dot(mx)

    def accuracy(output, labels):
        preds = output.max(1)[1].type_as(labels)
        correct = preds.eq(labels).double()
        correct = correct.sum()
        return correct / len(labels)

    features = torch.FloatTensor(normalize(features)).double()
    adj = torch.FloatTensor(normalize(adj + np.eye(adj.shape[0]))).double()
    labels = torch.LongTensor(labels)
    idx_train = torch.LongTensor(range(0, 6))
    idx_val = torch.LongTensor(range(6, 9))
    model.dropout = 0.0
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    history = []
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        model.eval()
        output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        acc_val = accuracy(output[idx_val], labels[idx_val])
        history.append((loss_train.item(), acc_train.item(), loss_val.item(), acc_val.item()))
    return history, repr(model.gc1), output.detach().numpy()


def pinn(torch, hidden=8, depth=2):
    """A physics-informed network for Burgers' equation, u(t, x), as the PINN ports write it."""
    nn = torch.nn

    class DNN(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.depth = len(layers) - 1
            self.activation = nn.Tanh
            layer_list = []
            for i in range(self.depth - 1):
                layer_list.append((f"layer_{i}", nn.Linear(layers[i], layers[i + 1])))
                layer_list.append((f"activation_{i}", self.activation()))
            layer_list.append((f"layer_{self.depth - 1}",
                               nn.Linear(layers[-2], layers[-1])))
            self.layers = nn.Sequential(OrderedDict(layer_list))

        def forward(self, x):
            return self.layers(x)

    return DNN([2] + [hidden] * depth + [1])


def train_pinn(torch, dnn, X_u, u, X_f, nu=0.01 / math.pi, adam_steps=3):
    """The residual u_t + u u_x - nu u_xx through two create_graph autograd.grad calls, Adam
    then LBFGS(strong_wolfe) with a closure."""
    t_u = torch.tensor(X_u[:, 0:1], requires_grad=True).double()
    x_u = torch.tensor(X_u[:, 1:2], requires_grad=True).double()
    t_f = torch.tensor(X_f[:, 0:1], requires_grad=True).double()
    x_f = torch.tensor(X_f[:, 1:2], requires_grad=True).double()
    u = torch.tensor(u).double()

    def net_u(t, x):
        return dnn(torch.cat([t, x], dim=1))

    def net_f(t, x):
        u = net_u(t, x)
        u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), retain_graph=True,
                                  create_graph=True)[0]
        u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), retain_graph=True,
                                  create_graph=True)[0]
        u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x),
                                   retain_graph=True, create_graph=True)[0]
        return u_t + u * u_x - nu * u_xx

    history = []

    def loss_func():
        u_pred = net_u(t_u, x_u)
        f_pred = net_f(t_f, x_f)
        loss_u = torch.mean((u - u_pred) ** 2)
        loss_f = torch.mean(f_pred ** 2)
        return loss_u + loss_f, loss_u, loss_f

    adam = torch.optim.Adam(dnn.parameters(), lr=1e-2)
    dnn.train()
    for _ in range(adam_steps):
        adam.zero_grad()
        loss, loss_u, loss_f = loss_func()
        loss.backward()
        adam.step()
        history.append((loss.item(), loss_u.item(), loss_f.item()))
    lbfgs = torch.optim.LBFGS(dnn.parameters(), lr=1.0, max_iter=6, max_eval=8,
                              history_size=5, tolerance_grad=1e-9,
                              tolerance_change=1.0 * np.finfo(float).eps,
                              line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        loss, loss_u, loss_f = loss_func()
        loss.backward()
        history.append((loss.item(), loss_u.item(), loss_f.item()))
        return loss

    lbfgs.step(closure)
    dnn.eval()
    u_x_grad = t_u.grad
    return history, net_u(t_u, x_u).detach().numpy(), u_x_grad is None


PAD_IDX, BOS_IDX, EOS_IDX = 1, 2, 3


def translation(torch, src_vocab=9, tgt_vocab=8, emb_size=8, nhead=2, ffn=12, layers=2,
                dropout=0.0):
    """The "Language Translation with nn.Transformer" tutorial's Seq2SeqTransformer."""
    nn = torch.nn

    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size, dropout, maxlen=50):
            super().__init__()
            den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)
            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding)

        def forward(self, token_embedding):
            return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])

    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size, emb_size):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    class Seq2SeqTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.Transformer(d_model=emb_size, nhead=nhead,
                                              num_encoder_layers=layers,
                                              num_decoder_layers=layers,
                                              dim_feedforward=ffn, dropout=dropout)
            self.generator = nn.Linear(emb_size, tgt_vocab)
            self.src_tok_emb = TokenEmbedding(src_vocab, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

        def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                    memory_key_padding_mask):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                    src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
            return self.generator(outs)

        def encode(self, src, src_mask):
            return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)),
                                            src_mask)

        def decode(self, tgt, memory, tgt_mask):
            return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)),
                                            memory, tgt_mask)

    model = Seq2SeqTransformer()
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    return model


def train_translation(torch, model, batches, epochs=2):
    """train_epoch with create_mask, CrossEntropyLoss(ignore_index=PAD_IDX), then greedy_decode."""

    def generate_square_subsequent_mask(sz):
        mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)
        return mask

    def create_mask(src, tgt):
        src_seq_len = src.shape[0]
        tgt_seq_len = tgt.shape[0]
        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
        src_padding_mask = (src == PAD_IDX).transpose(0, 1)
        tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask

    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-9)
    history = []
    for _ in range(epochs):
        model.train()
        losses = 0
        for src, tgt in batches:
            tgt_input = tgt[:-1, :]
            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
            logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask,
                           tgt_padding_mask, src_padding_mask)
            optimizer.zero_grad()
            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            loss.backward()
            optimizer.step()
            losses += loss.item()
        history.append(losses / len(list(batches)))

    def greedy_decode(model, src, src_mask, max_len, start_symbol):
        memory = model.encode(src, src_mask)
        ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long)
        for _ in range(max_len - 1):
            tgt_mask = (generate_square_subsequent_mask(ys.size(0)).type(torch.bool))
            out = model.decode(ys, memory, tgt_mask)
            out = out.transpose(0, 1)
            prob = model.generator(out[:, -1])
            _, next_word = torch.max(prob, dim=1)
            next_word = next_word.item()
            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
            if next_word == EOS_IDX:
                break
        return ys

    model.eval()
    src = batches[0][0][:, :1]
    num_tokens = src.shape[0]
    src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
    with torch.no_grad():
        tgt_tokens = greedy_decode(model, src, src_mask, max_len=num_tokens + 3,
                                   start_symbol=BOS_IDX).flatten()
    return history, tgt_tokens.tolist()


def ppo_agent(torch, obs_dim=4, n_actions=2, hidden=8):
    """CleanRL's ppo.py Agent: orthogonal layer_init, separate actor and critic MLPs."""
    nn = torch.nn
    Categorical = torch.distributions.Categorical

    def layer_init(layer, std=np.sqrt(2), bias_const=0.0):  # noqa: B008 - CleanRL's default
        torch.nn.init.orthogonal_(layer.weight, std)
        torch.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.critic = nn.Sequential(
                layer_init(nn.Linear(obs_dim, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, 1), std=1.0))
            self.actor = nn.Sequential(
                layer_init(nn.Linear(obs_dim, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
                layer_init(nn.Linear(hidden, n_actions), std=0.01))

        def get_value(self, x):
            return self.critic(x)

        def get_action_and_value(self, x, action=None):
            logits = self.actor(x)
            probs = Categorical(logits=logits)
            if action is None:
                action = probs.sample()
            return action, probs.log_prob(action), probs.entropy(), self.critic(x)

    return Agent()


def train_ppo(torch, agent, envs, num_iterations=2, num_steps=4, update_epochs=2,
              num_minibatches=2, learning_rate=2.5e-3, gamma=0.99, gae_lambda=0.95,
              clip_coef=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, seed=1):
    """CleanRL's rollout, GAE and clipped-surrogate update, with its annealed learning rate."""
    nn = torch.nn
    np.random.seed(seed)
    num_envs = envs.num_envs
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    optimizer = torch.optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)
    obs = torch.zeros((num_steps, num_envs) + envs.single_observation_space_shape)
    actions = torch.zeros((num_steps, num_envs))
    logprobs = torch.zeros((num_steps, num_envs))
    rewards = torch.zeros((num_steps, num_envs))
    dones = torch.zeros((num_steps, num_envs))
    values = torch.zeros((num_steps, num_envs))
    next_obs, _ = envs.reset(seed=seed)
    next_obs = torch.Tensor(next_obs)
    next_done = torch.zeros(num_envs)
    log = []
    for iteration in range(1, num_iterations + 1):
        frac = 1.0 - (iteration - 1.0) / num_iterations
        lrnow = frac * learning_rate
        optimizer.param_groups[0]["lr"] = lrnow
        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = (delta + gamma * gae_lambda * nextnonterminal
                                              * lastgaelam)
            returns = advantages + values
        b_obs = obs.reshape((-1,) + envs.single_observation_space_shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        b_inds = np.arange(batch_size)
        clipfracs = []
        for _ in range(update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, batch_size, minibatch_size):
                end = start + minibatch_size
                mb_inds = b_inds[start:end]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions.long()[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std()
                                                                          + 1e-8)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds],
                                                            -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
                v_loss = 0.5 * v_loss_max.mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()
        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        log.append((optimizer.param_groups[0]["lr"], v_loss.item(), pg_loss.item(),
                    entropy_loss.item(), old_approx_kl.item(), approx_kl.item(),
                    float(np.mean(clipfracs)), float(explained_var)))
    return log, b_advantages.numpy()


def maml_net(torch, hidden=8):
    """The sine-regression learner of MAML (Finn et al.), as a plain nn.Module."""
    nn = torch.nn
    return nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 1))


def train_maml(torch, model, tasks, inner_lr=0.01, inner_steps=2, meta_lr=1e-3):
    """Second-order MAML by torch.func.functional_call: the inner steps' gradients keep their
    graph (create_graph=True), the query losses of a task batch are averaged and backpropagated
    through them into the meta-parameters."""
    F = torch.nn.functional
    functional_call = torch.func.functional_call
    meta_opt = torch.optim.Adam(model.parameters(), lr=meta_lr)
    history = []
    for batch in tasks:
        meta_opt.zero_grad()
        qry_losses = []
        for x_spt, y_spt, x_qry, y_qry in batch:
            params = dict(model.named_parameters())
            for _ in range(inner_steps):
                spt_loss = F.mse_loss(functional_call(model, params, (x_spt,)), y_spt)
                grads = torch.autograd.grad(spt_loss, params.values(), create_graph=True)
                params = {name: p - inner_lr * g
                          for (name, p), g in zip(params.items(), grads)}
            qry_loss = F.mse_loss(functional_call(model, params, (x_qry,)), y_qry)
            qry_losses.append(qry_loss)
        meta_loss = torch.stack(qry_losses).mean()
        meta_loss.backward()
        meta_opt.step()
        history.append(meta_loss.item())
    return history, [p.grad.numpy().copy() for p in model.parameters()]


def tcn(torch, input_size=2, output_size=1, num_channels=(4, 4), kernel_size=3, dropout=0.0):
    """locuslab/TCN for the adding problem: weight-normed causal dilated Conv1d blocks."""
    nn = torch.nn
    weight_norm = torch.nn.utils.weight_norm

    class Chomp1d(nn.Module):
        def __init__(self, chomp_size):
            super().__init__()
            self.chomp_size = chomp_size

        def forward(self, x):
            return x[:, :, :-self.chomp_size].contiguous()

    class TemporalBlock(nn.Module):
        def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding,
                     dropout=0.2):
            super().__init__()
            self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size, stride=stride,
                                               padding=padding, dilation=dilation))
            self.chomp1 = Chomp1d(padding)
            self.relu1 = nn.ReLU()
            self.dropout1 = nn.Dropout(dropout)
            self.conv2 = weight_norm(nn.Conv1d(n_outputs, n_outputs, kernel_size, stride=stride,
                                               padding=padding, dilation=dilation))
            self.chomp2 = Chomp1d(padding)
            self.relu2 = nn.ReLU()
            self.dropout2 = nn.Dropout(dropout)
            self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                     self.conv2, self.chomp2, self.relu2, self.dropout2)
            self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs \
                else None
            self.relu = nn.ReLU()
            self.init_weights()

        def init_weights(self):
            self.conv1.weight.data.normal_(0, 0.01)
            self.conv2.weight.data.normal_(0, 0.01)
            if self.downsample is not None:
                self.downsample.weight.data.normal_(0, 0.01)

        def forward(self, x):
            out = self.net(x)
            res = x if self.downsample is None else self.downsample(x)
            return self.relu(out + res)

    class TemporalConvNet(nn.Module):
        def __init__(self, num_inputs, num_channels, kernel_size=2, dropout=0.2):
            super().__init__()
            layers = []
            num_levels = len(num_channels)
            for i in range(num_levels):
                dilation_size = 2 ** i
                in_channels = num_inputs if i == 0 else num_channels[i - 1]
                out_channels = num_channels[i]
                layers += [TemporalBlock(in_channels, out_channels, kernel_size, stride=1,
                                         dilation=dilation_size,
                                         padding=(kernel_size - 1) * dilation_size,
                                         dropout=dropout)]
            self.network = nn.Sequential(*layers)

        def forward(self, x):
            return self.network(x)

    class TCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.tcn = TemporalConvNet(input_size, list(num_channels), kernel_size=kernel_size,
                                       dropout=dropout)
            self.linear = nn.Linear(num_channels[-1], output_size)
            self.init_weights()

        def init_weights(self):
            self.linear.weight.data.normal_(0, 0.01)

        def forward(self, x):
            y1 = self.tcn(x)
            return self.linear(y1[:, :, -1])

    return TCN()


def train_tcn(torch, model, x, y, epochs=3, batch_size=4, clip=1.0):
    """The adding problem's loop: Adam, MSE, clip_grad_norm_ when clip > 0."""
    F = torch.nn.functional
    optimizer = torch.optim.Adam(model.parameters(), lr=4e-3)
    losses = []
    for _ in range(epochs):
        model.train()
        batch_idx = 1
        total_loss = 0
        for i in range(0, x.size(0), batch_size):
            if i + batch_size > x.size(0):
                x_b, y_b = x[i:], y[i:]
            else:
                x_b, y_b = x[i:(i + batch_size)], y[i:(i + batch_size)]
            optimizer.zero_grad()
            output = model(x_b)
            loss = F.mse_loss(output, y_b)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            batch_idx += 1
            total_loss += loss.item()
        losses.append(total_loss)
    model.eval()
    with torch.no_grad():
        out = model(x)
    g = model.tcn.network[0].conv1.weight_g
    return losses, out.numpy(), g.detach().numpy(), sorted(model.state_dict())


def simclr(torch, out_dim=4, feat=8):
    """sthalles/SimCLR's ResNetSimCLR in miniature: a conv backbone whose fc is replaced by the
    projection head Sequential(Linear, ReLU, fc)."""
    nn = torch.nn

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, feat, 3, padding=1)
            self.bn = nn.BatchNorm2d(feat)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(feat, out_dim)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn(self.conv(x))))
            return self.fc(torch.flatten(x, 1))

    class ResNetSimCLR(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = Backbone()
            dim_mlp = self.backbone.fc.in_features
            self.backbone.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(),
                                             self.backbone.fc)

        def forward(self, x):
            return self.backbone(x)

    return ResNetSimCLR()


def train_simclr(torch, model, view_batches, n_views=2, temperature=0.07):
    """info_nce_loss (masks from torch.eye(dtype=bool), positives and negatives by boolean
    indexing), CrossEntropyLoss, Adam with weight decay, CosineAnnealingLR, top-k accuracy."""
    F = torch.nn.functional
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), 3e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(view_batches),
                                                           eta_min=0, last_epoch=-1)

    def info_nce_loss(features, batch_size):
        labels = torch.cat([torch.arange(batch_size) for i in range(n_views)], dim=0)
        labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
        features = F.normalize(features, dim=1)
        similarity_matrix = torch.matmul(features, features.T)
        mask = torch.eye(labels.shape[0], dtype=torch.bool)
        labels = labels[~mask].view(labels.shape[0], -1)
        similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)
        positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)
        negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)
        logits = torch.cat([positives, negatives], dim=1)
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        logits = logits / temperature
        return logits, labels

    def accuracy(output, target, topk=(1,)):
        with torch.no_grad():
            maxk = max(topk)
            batch_size = target.size(0)
            _, pred = output.topk(maxk, 1, True, True)
            pred = pred.t()
            correct = pred.eq(target.view(1, -1).expand_as(pred))
            res = []
            for k in topk:
                correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
                res.append(correct_k.mul_(100.0 / batch_size))
            return res

    history = []
    for images in view_batches:
        batch_size = images[0].shape[0]
        images = torch.cat(images, dim=0)
        features = model(images)
        logits, labels = info_nce_loss(features, batch_size)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        top1, top5 = accuracy(logits, labels, topk=(1, 5))
        scheduler.step()
        history.append((loss.item(), top1[0].item(), top5[0].item(), scheduler.get_last_lr()[0]))
    return history


def realnvp(torch, hidden=8, n_masks=4):
    """The RealNVP-on-two-moons notebook: affine couplings with s (Tanh-bounded) and t MLPs, a
    mask held as a frozen Parameter, a MultivariateNormal prior."""
    nn = torch.nn
    distributions = torch.distributions

    def nets():
        return nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                             nn.LeakyReLU(), nn.Linear(hidden, 2), nn.Tanh())

    def nett():
        return nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                             nn.LeakyReLU(), nn.Linear(hidden, 2))

    masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * (n_masks // 2)).astype(np.float32))
    prior = distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))

    class RealNVP(nn.Module):
        def __init__(self, nets, nett, mask, prior):
            super().__init__()
            self.prior = prior
            self.mask = nn.Parameter(mask, requires_grad=False)
            self.t = torch.nn.ModuleList([nett() for _ in range(len(masks))])
            self.s = torch.nn.ModuleList([nets() for _ in range(len(masks))])

        def g(self, z):
            x = z
            for i in range(len(self.t)):
                x_ = x * self.mask[i]
                s = self.s[i](x_) * (1 - self.mask[i])
                t = self.t[i](x_) * (1 - self.mask[i])
                x = x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)
            return x

        def f(self, x):
            log_det_J, z = x.new_zeros(x.shape[0]), x
            for i in reversed(range(len(self.t))):
                z_ = self.mask[i] * z
                s = self.s[i](z_) * (1 - self.mask[i])
                t = self.t[i](z_) * (1 - self.mask[i])
                z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
                log_det_J -= s.sum(dim=1)
            return z, log_det_J

        def log_prob(self, x):
            z, logp = self.f(x)
            return self.prior.log_prob(z) + logp

        def sample(self, batchSize):  # noqa: N803 - the notebook's name
            z = self.prior.sample((batchSize, 1))
            x = self.g(z)
            return x

    return RealNVP(nets, nett, masks, prior)


def train_realnvp(torch, flow, batches):
    """Adam over the parameters that require grad; then samples pushed through g and the
    round trip f(g(z)) = z."""
    optimizer = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for noisy_moons in batches:
        loss = -flow.log_prob(torch.from_numpy(noisy_moons)).mean()
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        x = flow.sample(5)[:, 0, :]
        z, _ = flow.f(x)
    return losses, x.numpy(), z.numpy(), flow.mask.grad is None


def vgg_features(torch, c=4):
    """A VGG-like ``features`` Sequential for the neural-transfer tutorial."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
                         nn.MaxPool2d(2, 2),
                         nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(inplace=True))


def neural_transfer(torch, cnn, content_img, style_img, num_steps=4, style_weight=1000.0,
                    content_weight=1.0):
    """The "Neural Transfer Using PyTorch" tutorial: loss modules inserted into a Sequential
    rebuilt from cnn.children(), trimmed after the last loss, LBFGS on the input image."""
    nn = torch.nn
    F = nn.functional
    content_layers_default = ["conv_3"]
    style_layers_default = ["conv_1", "conv_2", "conv_3", "conv_4"]

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, input):  # noqa: A002 - the tutorial's name
            self.loss = F.mse_loss(input, self.target)
            return input

    def gram_matrix(input):  # noqa: A002
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = torch.mm(features, features.t())
        return G.div(a * b * c * d)

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super().__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):  # noqa: A002
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.mean = mean.clone().detach().view(-1, 1, 1)
            self.std = std.clone().detach().view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    def get_style_model_and_losses(cnn, normalization_mean, normalization_std, style_img,
                                   content_img, content_layers=content_layers_default,
                                   style_layers=style_layers_default):
        normalization = Normalization(normalization_mean, normalization_std)
        content_losses = []
        style_losses = []
        model = nn.Sequential(normalization)
        i = 0
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = f"conv_{i}"
            elif isinstance(layer, nn.ReLU):
                name = f"relu_{i}"
                layer = nn.ReLU(inplace=False)
            elif isinstance(layer, nn.MaxPool2d):
                name = f"pool_{i}"
            elif isinstance(layer, nn.BatchNorm2d):
                name = f"bn_{i}"
            else:
                raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
            model.add_module(name, layer)
            if name in content_layers:
                target = model(content_img).detach()
                content_loss = ContentLoss(target)
                model.add_module(f"content_loss_{i}", content_loss)
                content_losses.append(content_loss)
            if name in style_layers:
                target_feature = model(style_img).detach()
                style_loss = StyleLoss(target_feature)
                model.add_module(f"style_loss_{i}", style_loss)
                style_losses.append(style_loss)
        for i in range(len(model) - 1, -1, -1):
            if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                break
        model = model[:(i + 1)]
        return model, style_losses, content_losses

    cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
    cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])
    input_img = content_img.clone()
    model, style_losses, content_losses = get_style_model_and_losses(
        cnn, cnn_normalization_mean, cnn_normalization_std, style_img, content_img)
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img])
    run = [0]
    scores = []
    while run[0] <= num_steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight
            content_score *= content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            scores.append((style_score.item(), content_score.item()))
            return style_score + content_score
        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    names = [name for name, _ in model.named_children()]
    return scores, input_img.detach().numpy(), names


def cyclegan(torch, ngf=4, ndf=4, n_blocks=1):
    """junyanz/pytorch-CycleGAN-and-pix2pix: ResnetGenerator (instance norm without affine,
    reflection padding, ConvTranspose2d(output_padding=1)) and a PatchGAN NLayerDiscriminator."""
    import functools

    nn = torch.nn
    norm_layer = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)

    class ResnetBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.conv_block = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
                norm_layer(dim), nn.ReLU(True),
                nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
                norm_layer(dim))

        def forward(self, x):
            return x + self.conv_block(x)

    class ResnetGenerator(nn.Module):
        def __init__(self, input_nc=3, output_nc=3):
            super().__init__()
            use_bias = norm_layer.func == nn.InstanceNorm2d
            model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0,
                                                      bias=use_bias),
                     norm_layer(ngf), nn.ReLU(True)]
            mult = 1
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1,
                                bias=use_bias), norm_layer(ngf * mult * 2), nn.ReLU(True)]
            for _ in range(n_blocks):
                model += [ResnetBlock(ngf * 2)]
            model += [nn.ConvTranspose2d(ngf * 2, ngf, kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      norm_layer(ngf), nn.ReLU(True)]
            model += [nn.ReflectionPad2d(3)]
            model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
            model += [nn.Tanh()]
            self.model = nn.Sequential(*model)

        def forward(self, input):  # noqa: A002
            return self.model(input)

    class NLayerDiscriminator(nn.Module):
        def __init__(self, input_nc=3, n_layers=2):
            super().__init__()
            kw, padw = 4, 1
            sequence = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw),
                        nn.LeakyReLU(0.2, True)]
            nf_mult = 1
            for n in range(1, n_layers):
                nf_mult_prev, nf_mult = nf_mult, min(2 ** n, 8)
                sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw,
                                       stride=2, padding=padw, bias=True),
                             norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
            sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
            self.model = nn.Sequential(*sequence)

        def forward(self, input):  # noqa: A002
            return self.model(input)

    class GANLoss(nn.Module):
        def __init__(self, target_real_label=1.0, target_fake_label=0.0):
            super().__init__()
            self.register_buffer("real_label", torch.tensor(target_real_label))
            self.register_buffer("fake_label", torch.tensor(target_fake_label))
            self.loss = nn.MSELoss()  # lsgan

        def get_target_tensor(self, prediction, target_is_real):
            target_tensor = self.real_label if target_is_real else self.fake_label
            return target_tensor.expand_as(prediction)

        def __call__(self, prediction, target_is_real):
            return self.loss(prediction, self.get_target_tensor(prediction, target_is_real))

    class CycleGAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.netG_A, self.netG_B = ResnetGenerator(), ResnetGenerator()
            self.netD_A, self.netD_B = NLayerDiscriminator(), NLayerDiscriminator()
            self.criterionGAN = GANLoss()

    return CycleGAN()


def train_cyclegan(torch, gan, real_As, real_Bs, lambda_A=10.0, lambda_B=10.0,
                   lambda_idt=0.5, n_epochs=1, n_epochs_decay=2):
    """optimize_parameters: G_A and G_B together (itertools.chain), GAN + cycle + identity
    losses with the discriminators frozen by set_requires_grad, then D_A and D_B on detached
    fakes; a linear-decay LambdaLR per epoch."""
    import itertools

    nn = torch.nn
    netG_A, netG_B, netD_A, netD_B = gan.netG_A, gan.netG_B, gan.netD_A, gan.netD_B
    criterionGAN, criterionCycle, criterionIdt = gan.criterionGAN, nn.L1Loss(), nn.L1Loss()
    optimizer_G = torch.optim.Adam(itertools.chain(netG_A.parameters(), netG_B.parameters()),
                                   lr=2e-3, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(itertools.chain(netD_A.parameters(), netD_B.parameters()),
                                   lr=2e-3, betas=(0.5, 0.999))

    def lambda_rule(epoch):
        return 1.0 - max(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1)

    schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda_rule)
                  for o in (optimizer_G, optimizer_D)]

    def set_requires_grad(nets, requires_grad=False):
        if not isinstance(nets, list):
            nets = [nets]
        for net in nets:
            if net is not None:
                for param in net.parameters():
                    param.requires_grad = requires_grad

    def backward_D_basic(netD, real, fake):
        pred_real = netD(real)
        loss_D_real = criterionGAN(pred_real, True)
        pred_fake = netD(fake.detach())
        loss_D_fake = criterionGAN(pred_fake, False)
        loss_D = (loss_D_real + loss_D_fake) * 0.5
        loss_D.backward()
        return loss_D

    history = []
    for _ in range(n_epochs + n_epochs_decay):
        for real_A, real_B in zip(real_As, real_Bs):
            fake_B = netG_A(real_A)
            rec_A = netG_B(fake_B)
            fake_A = netG_B(real_B)
            rec_B = netG_A(fake_A)
            set_requires_grad([netD_A, netD_B], False)
            optimizer_G.zero_grad()
            idt_A = netG_A(real_B)
            loss_idt_A = criterionIdt(idt_A, real_B) * lambda_B * lambda_idt
            idt_B = netG_B(real_A)
            loss_idt_B = criterionIdt(idt_B, real_A) * lambda_A * lambda_idt
            loss_G_A = criterionGAN(netD_A(fake_B), True)
            loss_G_B = criterionGAN(netD_B(fake_A), True)
            loss_cycle_A = criterionCycle(rec_A, real_A) * lambda_A
            loss_cycle_B = criterionCycle(rec_B, real_B) * lambda_B
            loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
            loss_G.backward()
            optimizer_G.step()
            set_requires_grad([netD_A, netD_B], True)
            optimizer_D.zero_grad()
            loss_D_A = backward_D_basic(netD_A, real_B, fake_B)
            loss_D_B = backward_D_basic(netD_B, real_A, fake_A)
            optimizer_D.step()
            history.append((loss_G.item(), loss_D_A.item(), loss_D_B.item()))
        for scheduler in schedulers:
            scheduler.step()
    return history, optimizer_G.param_groups[0]["lr"], fake_B.detach().numpy()


def ddpm(torch, channels=1, dim=8, time_dim=8):
    """A minimal DDPM noise predictor: sinusoidal time embeddings added to conv features."""
    nn = torch.nn

    class SinusoidalPositionEmbeddings(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dim = dim

        def forward(self, time):
            half_dim = self.dim // 2
            embeddings = math.log(10000) / (half_dim - 1)
            embeddings = torch.exp(torch.arange(half_dim) * -embeddings)
            embeddings = time[:, None] * embeddings[None, :]
            embeddings = torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)
            return embeddings

    class Denoiser(nn.Module):
        def __init__(self):
            super().__init__()
            self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(time_dim),
                                          nn.Linear(time_dim, dim), nn.GELU(),
                                          nn.Linear(dim, dim))
            self.conv_in = nn.Conv2d(channels, dim, 3, padding=1)
            self.norm = nn.GroupNorm(2, dim)
            self.act = nn.SiLU()
            self.conv_out = nn.Conv2d(dim, channels, 3, padding=1)

        def forward(self, x, time):
            h = self.conv_in(x)
            h = h + self.time_mlp(time)[:, :, None, None]
            return self.conv_out(self.act(self.norm(h)))

    return Denoiser()


def train_ddpm(torch, model, images, ts, noises, sample_noises, timesteps=10):
    """The annotated-diffusion schedule (linear betas, cumprod, F.pad of the shifted cumprod),
    q_sample through ``extract`` (gather and reshape), a Huber loss on the noise, then the
    ancestral sampling loop from T - 1 to 0 under no_grad."""
    F = torch.nn.functional
    betas = torch.linspace(0.0001, 0.02, timesteps, dtype=torch.float64)
    alphas = 1. - betas
    alphas_cumprod = torch.cumprod(alphas, axis=0)
    alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
    sqrt_recip_alphas = torch.sqrt(1.0 / alphas)
    sqrt_alphas_cumprod = torch.sqrt(alphas_cumprod)
    sqrt_one_minus_alphas_cumprod = torch.sqrt(1. - alphas_cumprod)
    posterior_variance = betas * (1. - alphas_cumprod_prev) / (1. - alphas_cumprod)

    def extract(a, t, x_shape):
        batch_size = t.shape[0]
        out = a.gather(-1, t.cpu())
        return out.reshape(batch_size, *((1,) * (len(x_shape) - 1))).to(t.device)

    def q_sample(x_start, t, noise):
        sqrt_alphas_cumprod_t = extract(sqrt_alphas_cumprod, t, x_start.shape)
        sqrt_one_minus_alphas_cumprod_t = extract(sqrt_one_minus_alphas_cumprod, t,
                                                  x_start.shape)
        return sqrt_alphas_cumprod_t * x_start + sqrt_one_minus_alphas_cumprod_t * noise

    def p_losses(denoise_model, x_start, t, noise):
        x_noisy = q_sample(x_start=x_start, t=t, noise=noise)
        predicted_noise = denoise_model(x_noisy, t)
        return F.smooth_l1_loss(noise, predicted_noise)

    @torch.no_grad()
    def p_sample(model, x, t, t_index, noise):
        betas_t = extract(betas, t, x.shape)
        sqrt_one_minus_alphas_cumprod_t = extract(sqrt_one_minus_alphas_cumprod, t, x.shape)
        sqrt_recip_alphas_t = extract(sqrt_recip_alphas, t, x.shape)
        model_mean = sqrt_recip_alphas_t * (
            x - betas_t * model(x, t) / sqrt_one_minus_alphas_cumprod_t)
        if t_index == 0:
            return model_mean
        posterior_variance_t = extract(posterior_variance, t, x.shape)
        return model_mean + torch.sqrt(posterior_variance_t) * noise

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for batch, t, noise in zip(images, ts, noises):
        optimizer.zero_grad()
        loss = p_losses(model, batch, t, noise)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    img = sample_noises[0]
    b = img.shape[0]
    for i in reversed(range(0, timesteps)):
        img = p_sample(model, img, torch.full((b,), i, dtype=torch.long), i,
                       sample_noises[timesteps - i])
    return losses, img.numpy(), alphas_cumprod_prev.numpy()


def capsnet(torch, in_caps=8, in_dim=4, out_caps=3, out_dim=4, routing_iterations=3):
    """Sabour et al.'s CapsNet as the PyTorch ports write it: primary capsules from a conv,
    digit capsules by dynamic routing (softmax over the routes, u_hat.detach() in the inner
    iterations), squash, the margin loss and a masked reconstruction decoder."""
    nn = torch.nn
    F = nn.functional

    def squash(x, dim=-1):
        squared_norm = (x ** 2).sum(dim=dim, keepdim=True)
        scale = squared_norm / (1 + squared_norm)
        return scale * x / (squared_norm.sqrt() + 1e-8)

    class PrimaryCaps(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, in_dim * 2, kernel_size=3, stride=2)

        def forward(self, x):
            out = self.conv(x)  # B, in_dim * 2, 2, 2 from 6x6 features
            out = out.view(x.size(0), in_dim, -1).transpose(1, 2)  # B, in_caps, in_dim
            return squash(out)

    class DigitCaps(nn.Module):
        def __init__(self):
            super().__init__()
            self.W = nn.Parameter(0.01 * torch.randn(1, in_caps, out_caps, out_dim, in_dim))

        def forward(self, x):
            batch_size = x.size(0)
            x = x.unsqueeze(2).unsqueeze(4)  # B, in_caps, 1, in_dim, 1
            u_hat = torch.matmul(self.W, x).squeeze(-1)  # B, in_caps, out_caps, out_dim
            temp_u_hat = u_hat.detach()
            b = torch.zeros(batch_size, in_caps, out_caps, 1, dtype=x.dtype)
            for _ in range(routing_iterations - 1):
                c = b.softmax(dim=2)
                s = (c * temp_u_hat).sum(dim=1)
                v = squash(s)
                uv = torch.matmul(temp_u_hat.unsqueeze(-2), v.unsqueeze(1).unsqueeze(-1))
                b += uv.squeeze(-1)
            c = b.softmax(dim=2)
            s = (c * u_hat).sum(dim=1)
            return squash(s)

    class CapsNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
            self.primary_caps = PrimaryCaps()
            self.digit_caps = DigitCaps()
            self.decoder = nn.Sequential(nn.Linear(out_dim * out_caps, 16), nn.ReLU(inplace=True),
                                         nn.Linear(16, 64), nn.Sigmoid())

        def forward(self, x, y=None):
            x = F.relu(self.conv1(x), inplace=True)
            x = self.primary_caps(x)
            x = self.digit_caps(x)
            logits = torch.norm(x, dim=-1)
            pred = torch.eye(out_caps).index_select(dim=0, index=torch.argmax(logits, dim=1))
            mask = y if y is not None else pred
            reconstruction = self.decoder((x * mask.unsqueeze(-1).to(x.dtype)).flatten(1))
            return logits, reconstruction

    return CapsNet()


def train_capsnet(torch, model, images, labels, steps=3):
    """Margin loss with m+ = 0.9, m- = 0.1, lambda = 0.5 plus 0.0005 of the reconstruction SSE;
    one-hot targets by F.one_hot; Adam with ExponentialLR."""
    F = torch.nn.functional

    def margin_loss(lengths, targets, m_plus=0.9, m_minus=0.1, lam=0.5):
        left = F.relu(m_plus - lengths).pow(2)
        right = F.relu(lengths - m_minus).pow(2)
        return (targets * left + lam * (1 - targets) * right).sum(dim=1).mean()

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.96)
    history = []
    for _ in range(steps):
        targets = F.one_hot(labels, num_classes=3).to(images.dtype)
        logits, reconstruction = model(images, targets)
        rec_loss = F.mse_loss(reconstruction, images.view(images.size(0), -1), reduction="sum")
        loss = margin_loss(logits, targets) + 0.0005 * rec_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        history.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits, reconstruction = model(images)
    return history, logits.numpy(), reconstruction.numpy()


def mdn(torch, n_in=1, hidden=8, n_components=3, n_out=2):
    """A mixture density network: mixing logits, means and log-scales heads, its likelihood a
    MixtureSameFamily of diagonal Normals."""
    nn = torch.nn
    D = torch.distributions

    class MDN(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh())
            self.pi = nn.Linear(hidden, n_components)
            self.mu = nn.Linear(hidden, n_components * n_out)
            self.log_sigma = nn.Linear(hidden, n_components * n_out)

        def forward(self, x):
            h = self.body(x)
            mix = D.Categorical(logits=self.pi(h))
            mu = self.mu(h).view(-1, n_components, n_out)
            sigma = self.log_sigma(h).view(-1, n_components, n_out).exp()
            comp = D.Independent(D.Normal(mu, sigma), 1)
            return D.MixtureSameFamily(mix, comp)

    return MDN()


def train_mdn(torch, model, x, y, steps=5):
    """Negative log-likelihood by Adam; the mixture's mean, variance and component posteriors."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        dist = model(x)
        loss = -dist.log_prob(y).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        dist = model(x)
        log_post = dist.component_distribution.log_prob(y.unsqueeze(1)) \
            + dist.mixture_distribution.logits.log_softmax(-1)
        posterior = log_post.softmax(-1)
    return losses, dist.mean.numpy(), dist.variance.numpy(), posterior.numpy(), \
        tuple(dist.batch_shape), tuple(dist.event_shape)


def gp(torch):
    """Exact Gaussian-process regression with an RBF kernel, hyperparameters by maximising the
    marginal likelihood (the plain-PyTorch GP tutorials)."""
    nn = torch.nn
    F = nn.functional

    class GP(nn.Module):
        def __init__(self):
            super().__init__()
            self.raw_lengthscale = nn.Parameter(torch.zeros(1))
            self.raw_outputscale = nn.Parameter(torch.zeros(1))
            self.raw_noise = nn.Parameter(torch.full((1,), -2.0))

        def kernel(self, a, b):
            lengthscale = F.softplus(self.raw_lengthscale)
            d2 = torch.cdist(a / lengthscale, b / lengthscale).pow(2)
            return F.softplus(self.raw_outputscale) * torch.exp(-0.5 * d2)

        def neg_mll(self, x, y):
            n = x.shape[0]
            K = self.kernel(x, x) + (F.softplus(self.raw_noise) + 1e-6) * torch.eye(
                n, dtype=x.dtype)
            L = torch.linalg.cholesky(K)
            alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
            return (0.5 * (y.unsqueeze(-1) * alpha).sum() + torch.diagonal(L).log().sum()
                    + 0.5 * n * math.log(2 * math.pi))

        def predict(self, x, y, x_star):
            n = x.shape[0]
            K = self.kernel(x, x) + (F.softplus(self.raw_noise) + 1e-6) * torch.eye(
                n, dtype=x.dtype)
            L = torch.linalg.cholesky(K)
            K_s = self.kernel(x, x_star)
            alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
            mean = (K_s.T @ alpha).squeeze(-1)
            v = torch.linalg.solve_triangular(L, K_s, upper=False)
            var = torch.diagonal(self.kernel(x_star, x_star)) - (v ** 2).sum(0)
            return mean, var

    return GP()


def train_gp(torch, model, x, y, x_star, steps=6):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model.neg_mll(x, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        mean, var = model.predict(x, y, x_star)
    return losses, mean.numpy(), var.numpy()


def set_transformer(torch, dim_in=2, dim=8, num_heads=2, num_seeds=1, dim_out=3):
    """Lee et al.'s Set Transformer: MAB/SAB blocks on nn.MultiheadAttention(batch_first=True)
    with a key padding mask, pooling by multihead attention over learned seeds."""
    nn = torch.nn
    F = nn.functional

    class MAB(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
            self.ln0 = nn.LayerNorm(dim)
            self.ln1 = nn.LayerNorm(dim)
            self.fc_o = nn.Linear(dim, dim)

        def forward(self, Q, K, key_padding_mask=None):
            A, weights = self.attn(Q, K, K, key_padding_mask=key_padding_mask, need_weights=True,
                                   average_attn_weights=False)
            O = self.ln0(Q + A)  # noqa: E741 - the paper's name
            O = self.ln1(O + F.relu(self.fc_o(O)))  # noqa: E741
            return O, weights

    class SetTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(dim_in, dim)
            self.sab1 = MAB(dim)
            self.sab2 = MAB(dim)
            self.S = nn.Parameter(torch.Tensor(1, num_seeds, dim))
            nn.init.xavier_uniform_(self.S)
            self.pma = MAB(dim)
            self.head = nn.Linear(dim, dim_out)

        def forward(self, X, mask):
            H = self.embed(X)
            H, _ = self.sab1(H, H, key_padding_mask=mask)
            H, _ = self.sab2(H, H, key_padding_mask=mask)
            pooled, weights = self.pma(self.S.repeat(X.size(0), 1, 1), H, key_padding_mask=mask)
            return self.head(pooled.squeeze(1)), weights

    return SetTransformer()


def train_set_transformer(torch, model, X, mask, y, steps=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    criterion = torch.nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        logits, _ = model(X, mask)
        loss = criterion(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits, weights = model(X, mask)
    return losses, logits.numpy(), weights.numpy()


def deeplab(torch, num_classes=3, c=8):
    """torchvision's DeepLabV3 head in miniature: ASPP (dilated 3x3 branches, an image-pooling
    branch upsampled bilinearly), on a small strided backbone, logits upsampled to the input."""
    nn = torch.nn
    F = nn.functional

    class ASPPConv(nn.Sequential):
        def __init__(self, in_channels, out_channels, dilation):
            modules = [nn.Conv2d(in_channels, out_channels, 3, padding=dilation,
                                 dilation=dilation, bias=False),
                       nn.BatchNorm2d(out_channels), nn.ReLU()]
            super().__init__(*modules)

    class ASPPPooling(nn.Sequential):
        def __init__(self, in_channels, out_channels):
            super().__init__(nn.AdaptiveAvgPool2d(1),
                             nn.Conv2d(in_channels, out_channels, 1, bias=False),
                             nn.BatchNorm2d(out_channels), nn.ReLU())

        def forward(self, x):
            size = x.shape[-2:]
            for mod in self:
                x = mod(x)
            return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    class ASPP(nn.Module):
        def __init__(self, in_channels, atrous_rates, out_channels=c):
            super().__init__()
            modules = [nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU())]
            rates = tuple(atrous_rates)
            for rate in rates:
                modules.append(ASPPConv(in_channels, out_channels, rate))
            modules.append(ASPPPooling(in_channels, out_channels))
            self.convs = nn.ModuleList(modules)
            self.project = nn.Sequential(
                nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Dropout(0.0))

        def forward(self, x):
            _res = []
            for conv in self.convs:
                _res.append(conv(x))
            res = torch.cat(_res, dim=1)
            return self.project(res)

    class DeepLabV3(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, c, 3, stride=2, padding=1, bias=False),
                                          nn.BatchNorm2d(c), nn.ReLU(inplace=True))
            self.classifier = nn.Sequential(ASPP(c, [1, 2]),
                                            nn.Conv2d(c, c, 3, padding=1, bias=False),
                                            nn.BatchNorm2d(c), nn.ReLU(),
                                            nn.Conv2d(c, num_classes, 1))

        def forward(self, x):
            input_shape = x.shape[-2:]
            features = self.backbone(x)
            x = self.classifier(features)
            x = F.interpolate(x, size=input_shape, mode="bilinear", align_corners=False)
            return {"out": x}

    return DeepLabV3()


def train_deeplab(torch, model, images, targets, steps=3):
    """torchvision's segmentation reference: CrossEntropy(ignore_index=255) over (N, H, W)
    targets with class weights, SGD with the poly LambdaLR, the confusion-matrix mIoU."""
    criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5],
                                                              dtype=images.dtype),
                                          ignore_index=255)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda x: (1 - x / steps) ** 0.9)
    losses = []
    for _ in range(steps):
        output = model(images)
        loss = criterion(output["out"], targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        pred = model(images)["out"].argmax(1)
        k = (targets >= 0) & (targets < 3)
        inds = 3 * targets[k].to(torch.int64) + pred[k]
        mat = torch.bincount(inds, minlength=9).reshape(3, 3)
        h = mat.float()
        iu = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
    return losses, mat.tolist(), iu.numpy()


def td3(torch, state_dim=3, action_dim=2, max_action=2.0, hidden=8):
    """sfujim/TD3: a tanh-bounded actor and twin Q critics, each with a target copy."""
    import copy

    nn = torch.nn
    F = nn.functional

    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(state_dim, hidden)
            self.l2 = nn.Linear(hidden, hidden)
            self.l3 = nn.Linear(hidden, action_dim)
            self.max_action = max_action

        def forward(self, state):
            a = F.relu(self.l1(state))
            a = F.relu(self.l2(a))
            return self.max_action * torch.tanh(self.l3(a))

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(state_dim + action_dim, hidden)
            self.l2 = nn.Linear(hidden, hidden)
            self.l3 = nn.Linear(hidden, 1)
            self.l4 = nn.Linear(state_dim + action_dim, hidden)
            self.l5 = nn.Linear(hidden, hidden)
            self.l6 = nn.Linear(hidden, 1)

        def forward(self, state, action):
            sa = torch.cat([state, action], 1)
            q1 = F.relu(self.l1(sa))
            q1 = F.relu(self.l2(q1))
            q1 = self.l3(q1)
            q2 = F.relu(self.l4(sa))
            q2 = F.relu(self.l5(q2))
            q2 = self.l6(q2)
            return q1, q2

        def Q1(self, state, action):  # noqa: N802 - the repository's name
            sa = torch.cat([state, action], 1)
            q1 = F.relu(self.l1(sa))
            q1 = F.relu(self.l2(q1))
            return self.l3(q1)

    class TD3(nn.Module):
        def __init__(self):
            super().__init__()
            self.actor = Actor()
            self.critic = Critic()

        def make_targets(self):
            self.actor_target = copy.deepcopy(self.actor)
            self.critic_target = copy.deepcopy(self.critic)

    return TD3()


def train_td3(torch, agent, batches, noises, discount=0.99, tau=0.005, policy_noise=0.2,
              noise_clip=0.5, policy_freq=2):
    """TD3.train: clipped target-policy smoothing, the min of the twin target Qs, delayed actor
    updates through Q1, Polyak averaging by param.data."""
    F = torch.nn.functional
    agent.make_targets()
    actor, critic = agent.actor, agent.critic
    actor_target, critic_target = agent.actor_target, agent.critic_target
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-3)
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=3e-3)
    max_action = actor.max_action
    history = []
    for total_it, ((state, action, next_state, reward, not_done), noise) in enumerate(
            zip(batches, noises), 1):
        with torch.no_grad():
            noise = (noise * policy_noise).clamp(-noise_clip, noise_clip)
            next_action = (actor_target(next_state) + noise).clamp(-max_action, max_action)
            target_Q1, target_Q2 = critic_target(next_state, next_action)
            target_Q = torch.min(target_Q1, target_Q2)
            target_Q = reward + not_done * discount * target_Q
        current_Q1, current_Q2 = critic(state, action)
        critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        actor_loss = None
        if total_it % policy_freq == 0:
            actor_loss = -critic.Q1(state, actor(state)).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()
            for param, target_param in zip(critic.parameters(), critic_target.parameters()):
                target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
            for param, target_param in zip(actor.parameters(), actor_target.parameters()):
                target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
        history.append((critic_loss.item(), None if actor_loss is None else actor_loss.item()))
    return history, [p.detach().numpy().copy() for p in actor_target.parameters()]


def kim_cnn(torch, vocab=15, dim=6, n_filters=3, kernel_sizes=(2, 3), n_classes=2):
    """Kim (2014)'s CNN for sentence classification as Shawn1993/cnn-text-classification writes
    it: Conv2d filters spanning the embedding, max_pool1d over the whole length."""
    nn = torch.nn
    F = nn.functional

    class CNNText(nn.Module):
        def __init__(self):
            super().__init__()
            V, D, C, Ci, Co, Ks = vocab, dim, n_classes, 1, n_filters, kernel_sizes
            self.embed = nn.Embedding(V, D)
            self.convs = nn.ModuleList([nn.Conv2d(Ci, Co, (K, D)) for K in Ks])
            self.dropout = nn.Dropout(0.5)
            self.fc1 = nn.Linear(len(Ks) * Co, C)

        def forward(self, x):
            x = self.embed(x)  # (N, W, D)
            x = x.unsqueeze(1)  # (N, Ci, W, D)
            x = [F.relu(conv(x)).squeeze(3) for conv in self.convs]  # [(N, Co, W), ...]
            x = [F.max_pool1d(i, i.size(2)).squeeze(2) for i in x]  # [(N, Co), ...]
            x = torch.cat(x, 1)
            x = self.dropout(x)
            return self.fc1(x)

    return CNNText()


def train_kim_cnn(torch, model, pretrained, tokens, labels, epochs=3):
    """Embeddings from_pretrained(freeze=False) swapped in, Adam, max-norm renormalisation of the
    classifier rows, the repository's accuracy by (torch.max(logit, 1)[1].view(target.size())
    .data == target.data).sum()."""
    F = torch.nn.functional
    model.embed = torch.nn.Embedding.from_pretrained(pretrained, freeze=False)
    model.dropout.p = 0.0
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = []
    for _ in range(epochs):
        model.train()
        logit = model(tokens)
        loss = F.cross_entropy(logit, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.fc1.weight.data = torch.renorm(model.fc1.weight.data, p=2, dim=0, maxnorm=0.5)
        corrects = (torch.max(logit, 1)[1].view(labels.size()).data == labels.data).sum()
        history.append((loss.item(), corrects.item()))
    return history, model.embed.weight.detach().numpy(), model.fc1.weight.detach().numpy()


def show_attend_tell(torch, vocab=10, emb=6, enc_dim=4, dec_dim=6, att_dim=5):
    """sgrvinod's Show, Attend and Tell decoder: soft attention over encoder pixels, an f_beta
    gate, an LSTMCell stepped over the batch that still has words to decode."""
    nn = torch.nn

    class Attention(nn.Module):
        def __init__(self, encoder_dim, decoder_dim, attention_dim):
            super().__init__()
            self.encoder_att = nn.Linear(encoder_dim, attention_dim)
            self.decoder_att = nn.Linear(decoder_dim, attention_dim)
            self.full_att = nn.Linear(attention_dim, 1)
            self.relu = nn.ReLU()
            self.softmax = nn.Softmax(dim=1)

        def forward(self, encoder_out, decoder_hidden):
            att1 = self.encoder_att(encoder_out)
            att2 = self.decoder_att(decoder_hidden)
            att = self.full_att(self.relu(att1 + att2.unsqueeze(1))).squeeze(2)
            alpha = self.softmax(att)
            attention_weighted_encoding = (encoder_out * alpha.unsqueeze(2)).sum(dim=1)
            return attention_weighted_encoding, alpha

    class DecoderWithAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder_dim = enc_dim
            self.vocab_size = vocab
            self.attention = Attention(enc_dim, dec_dim, att_dim)
            self.embedding = nn.Embedding(vocab, emb)
            self.dropout = nn.Dropout(p=0.0)
            self.decode_step = nn.LSTMCell(emb + enc_dim, dec_dim, bias=True)
            self.init_h = nn.Linear(enc_dim, dec_dim)
            self.init_c = nn.Linear(enc_dim, dec_dim)
            self.f_beta = nn.Linear(dec_dim, enc_dim)
            self.sigmoid = nn.Sigmoid()
            self.fc = nn.Linear(dec_dim, vocab)

        def init_hidden_state(self, encoder_out):
            mean_encoder_out = encoder_out.mean(dim=1)
            return self.init_h(mean_encoder_out), self.init_c(mean_encoder_out)

        def forward(self, encoder_out, encoded_captions, caption_lengths):
            batch_size = encoder_out.size(0)
            encoder_dim = encoder_out.size(-1)
            vocab_size = self.vocab_size
            encoder_out = encoder_out.view(batch_size, -1, encoder_dim)
            num_pixels = encoder_out.size(1)
            caption_lengths, sort_ind = caption_lengths.squeeze(1).sort(dim=0, descending=True)
            encoder_out = encoder_out[sort_ind]
            encoded_captions = encoded_captions[sort_ind]
            embeddings = self.embedding(encoded_captions)
            h, c = self.init_hidden_state(encoder_out)
            decode_lengths = (caption_lengths - 1).tolist()
            predictions = torch.zeros(batch_size, max(decode_lengths), vocab_size,
                                      dtype=encoder_out.dtype)
            alphas = torch.zeros(batch_size, max(decode_lengths), num_pixels,
                                 dtype=encoder_out.dtype)
            for t in range(max(decode_lengths)):
                batch_size_t = sum([ln > t for ln in decode_lengths])
                attention_weighted_encoding, alpha = self.attention(encoder_out[:batch_size_t],
                                                                    h[:batch_size_t])
                gate = self.sigmoid(self.f_beta(h[:batch_size_t]))
                attention_weighted_encoding = gate * attention_weighted_encoding
                h, c = self.decode_step(
                    torch.cat([embeddings[:batch_size_t, t, :], attention_weighted_encoding],
                              dim=1),
                    (h[:batch_size_t], c[:batch_size_t]))
                preds = self.fc(self.dropout(h))
                predictions[:batch_size_t, t, :] = preds
                alphas[:batch_size_t, t, :] = alpha
            return predictions, encoded_captions, decode_lengths, alphas, sort_ind

    return DecoderWithAttention()


def train_show_attend_tell(torch, decoder, encoder_outs, caps, caplens, alpha_c=1.0):
    """The repository's train step: targets caps_sorted[:, 1:], scores and targets packed by
    pack_padded_sequence(batch_first=True).data, the doubly stochastic attention penalty, value
    clipping of the gradients, top-5 accuracy."""
    pack_padded_sequence = torch.nn.utils.rnn.pack_padded_sequence
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(params=filter(lambda p: p.requires_grad,
                                               decoder.parameters()), lr=4e-3)

    def accuracy(scores, targets, k):
        batch_size = targets.size(0)
        _, ind = scores.topk(k, 1, True, True)
        correct = ind.eq(targets.view(-1, 1).expand_as(ind))
        correct_total = correct.view(-1).float().sum()
        return correct_total.item() * (100.0 / batch_size)

    history = []
    for imgs, cap, caplen in zip(encoder_outs, caps, caplens):
        scores, caps_sorted, decode_lengths, alphas, sort_ind = decoder(imgs, cap, caplen)
        targets = caps_sorted[:, 1:]
        scores = pack_padded_sequence(scores, decode_lengths, batch_first=True).data
        targets = pack_padded_sequence(targets, decode_lengths, batch_first=True).data
        loss = criterion(scores, targets)
        loss += alpha_c * ((1. - alphas.sum(dim=1)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        for group in optimizer.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    param.grad.data.clamp_(-0.5, 0.5)
        optimizer.step()
        history.append((loss.item(), accuracy(scores, targets, 5), sort_ind.tolist()))
    return history


def sac(torch, state_dim=3, action_dim=2, hidden=8, log_std_min=-20, log_std_max=2):
    """A Soft Actor-Critic (the pranz24/CleanRL style): a Gaussian policy squashed by tanh with
    the log-probability correction, twin Q networks, a learned temperature log_alpha."""
    import copy

    nn = torch.nn
    F = nn.functional
    Normal = torch.distributions.Normal
    epsilon = 1e-6

    class QNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1 = nn.Linear(state_dim + action_dim, hidden)
            self.linear2 = nn.Linear(hidden, 1)
            self.linear3 = nn.Linear(state_dim + action_dim, hidden)
            self.linear4 = nn.Linear(hidden, 1)

        def forward(self, state, action):
            xu = torch.cat([state, action], 1)
            x1 = self.linear2(F.relu(self.linear1(xu)))
            x2 = self.linear4(F.relu(self.linear3(xu)))
            return x1, x2

    class GaussianPolicy(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1 = nn.Linear(state_dim, hidden)
            self.mean_linear = nn.Linear(hidden, action_dim)
            self.log_std_linear = nn.Linear(hidden, action_dim)
            self.register_buffer("action_scale", torch.tensor(1.0))
            self.register_buffer("action_bias", torch.tensor(0.0))

        def forward(self, state):
            x = F.relu(self.linear1(state))
            mean = self.mean_linear(x)
            log_std = self.log_std_linear(x)
            log_std = torch.clamp(log_std, min=log_std_min, max=log_std_max)
            return mean, log_std

        def sample(self, state):
            mean, log_std = self.forward(state)
            std = log_std.exp()
            normal = Normal(mean, std)
            x_t = normal.rsample()
            y_t = torch.tanh(x_t)
            action = y_t * self.action_scale + self.action_bias
            log_prob = normal.log_prob(x_t)
            log_prob -= torch.log(self.action_scale * (1 - y_t.pow(2)) + epsilon)
            log_prob = log_prob.sum(1, keepdim=True)
            mean = torch.tanh(mean) * self.action_scale + self.action_bias
            return action, log_prob, mean

    class SAC(nn.Module):
        def __init__(self):
            super().__init__()
            self.critic = QNetwork()
            self.policy = GaussianPolicy()
            self.log_alpha = nn.Parameter(torch.zeros(1))

        def make_target(self):
            self.critic_target = copy.deepcopy(self.critic)

    return SAC()


def train_sac(torch, agent, batches, gamma=0.99, tau=0.005, lr=3e-3):
    """update_parameters: soft Bellman targets with the entropy term, twin-Q MSE, the policy's
    min-Q objective, automatic entropy tuning, soft updates by lerp_."""
    F = torch.nn.functional
    agent.make_target()
    critic, policy, critic_target = agent.critic, agent.policy, agent.critic_target
    critic_optim = torch.optim.Adam(critic.parameters(), lr=lr)
    policy_optim = torch.optim.Adam(policy.parameters(), lr=lr)
    alpha_optim = torch.optim.Adam([agent.log_alpha], lr=lr)
    target_entropy = -torch.prod(torch.Tensor([2]).to(agent.log_alpha.device)).item()
    alpha = agent.log_alpha.exp().item()
    history = []
    for state_batch, action_batch, reward_batch, next_state_batch, mask_batch in batches:
        with torch.no_grad():
            next_state_action, next_state_log_pi, _ = policy.sample(next_state_batch)
            qf1_next_target, qf2_next_target = critic_target(next_state_batch, next_state_action)
            min_qf_next_target = torch.min(qf1_next_target, qf2_next_target) \
                - alpha * next_state_log_pi
            next_q_value = reward_batch + mask_batch * gamma * min_qf_next_target
        qf1, qf2 = critic(state_batch, action_batch)
        qf1_loss = F.mse_loss(qf1, next_q_value)
        qf2_loss = F.mse_loss(qf2, next_q_value)
        qf_loss = qf1_loss + qf2_loss
        critic_optim.zero_grad()
        qf_loss.backward()
        critic_optim.step()
        pi, log_pi, _ = policy.sample(state_batch)
        qf1_pi, qf2_pi = critic(state_batch, pi)
        min_qf_pi = torch.min(qf1_pi, qf2_pi)
        policy_loss = ((alpha * log_pi) - min_qf_pi).mean()
        policy_optim.zero_grad()
        policy_loss.backward()
        policy_optim.step()
        alpha_loss = -(agent.log_alpha * (log_pi + target_entropy).detach()).mean()
        alpha_optim.zero_grad()
        alpha_loss.backward()
        alpha_optim.step()
        alpha = agent.log_alpha.exp()
        with torch.no_grad():
            for target_param, param in zip(critic_target.parameters(), critic.parameters()):
                target_param.lerp_(param, tau)
        history.append((qf1_loss.item(), qf2_loss.item(), policy_loss.item(),
                        alpha_loss.item(), alpha.item()))
    return history, [p.detach().numpy().copy() for p in critic_target.parameters()]


def bert_mlm(torch, vocab=12, hidden=8, heads=2, layers=2, max_len=8, pad_id=0):
    """A small BERT for masked-language-model pre-training, as the from-scratch tutorials write
    it: token, position and segment embeddings, LayerNorm(eps=1e-12), a GELU encoder, an MLM
    head tied to the token embedding."""
    nn = torch.nn
    F = nn.functional

    class BertEmbeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=pad_id)
            self.position_embeddings = nn.Embedding(max_len, hidden)
            self.token_type_embeddings = nn.Embedding(2, hidden)
            self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)
            self.dropout = nn.Dropout(0.0)
            self.register_buffer("position_ids", torch.arange(max_len).expand((1, -1)),
                                 persistent=False)

        def forward(self, input_ids, token_type_ids):
            seq_length = input_ids.size(1)
            position_ids = self.position_ids[:, :seq_length]
            embeddings = (self.word_embeddings(input_ids)
                          + self.position_embeddings(position_ids)
                          + self.token_type_embeddings(token_type_ids))
            return self.dropout(self.LayerNorm(embeddings))

    class BertForMaskedLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = BertEmbeddings()
            layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden,
                                               dropout=0.0, activation=F.gelu,
                                               batch_first=True, layer_norm_eps=1e-12)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.transform = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(),
                                           nn.LayerNorm(hidden, eps=1e-12))
            self.decoder = nn.Linear(hidden, vocab, bias=False)
            self.bias = nn.Parameter(torch.zeros(vocab))
            self.decoder.weight = self.embeddings.word_embeddings.weight
            self.apply(self._init_weights)

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if module.padding_idx is not None:
                    module.weight.data[module.padding_idx].zero_()

        def forward(self, input_ids, token_type_ids, attention_mask, labels=None):
            h = self.embeddings(input_ids, token_type_ids)
            h = self.encoder(h, src_key_padding_mask=attention_mask == 0)
            logits = self.decoder(self.transform(h)) + self.bias
            loss = None
            if labels is not None:
                loss = F.cross_entropy(logits.view(-1, vocab), labels.view(-1),
                                       ignore_index=-100)
            return loss, logits

    return BertForMaskedLM()


def train_bert_mlm(torch, model, input_ids, token_type_ids, select, replace, mask_id=1,
                   steps=4, warmup=2):
    """The 80/10/10 masking (its random draws passed in), labels -100 where not selected,
    AdamW with no decay on biases and LayerNorm weights, a linear warm-up and decay LambdaLR,
    clip_grad_norm_."""
    labels = input_ids.clone()
    labels[~select] = -100
    masked = input_ids.clone()
    masked[select & (replace < 0.8)] = mask_id
    random_words = (input_ids * 7 + 3) % 12
    use_random = select & (replace >= 0.8) & (replace < 0.9)
    masked[use_random] = random_words[use_random]
    attention_mask = (input_ids != 0).long()
    no_decay = ["bias", "LayerNorm.weight"]
    grouped = [
        {"params": [p for n, p in model.named_parameters()
                    if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters()
                    if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(grouped, lr=5e-3, eps=1e-6)

    def lr_lambda(current_step):
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        return max(0.0, float(steps - current_step) / float(max(1, steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    history = []
    model.train()
    for _ in range(steps):
        loss, _ = model(masked, token_type_ids, attention_mask, labels=labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        history.append((loss.item(), scheduler.get_last_lr()[0]))
    model.eval()
    with torch.no_grad():
        _, logits = model(masked, token_type_ids, attention_mask)
        predictions = logits.argmax(-1)[select]
    return history, predictions.tolist(), masked.tolist()


def ntk_net(torch):
    """The torch.func "Neural Tangent Kernels" tutorial's small CNN."""
    nn = torch.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, (3, 3))
            self.conv2 = nn.Conv2d(4, 4, (3, 3))
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            x = self.conv1(x)
            x = x.relu()
            x = self.conv2(x)
            x = x.relu()
            x = x.mean(dim=(-2, -1))
            return self.fc(x)

    return CNN()


def empirical_ntk(torch, net, x_train, x_test):
    """Both of the tutorial's methods: the Jacobian contraction (vmap(jacrev) of a
    functional_call, einsum over the flattened parameters) and the NTK-vector products
    (vjp, jvp, vmap over the basis); plus a Hessian-vector product by double backward and by
    torch.autograd.functional.hvp."""
    func = torch.func
    params = {k: v.detach() for k, v in net.named_parameters()}

    def fnet_single(params, x):
        return func.functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

    def ntk_jacobian_contraction(fnet_single, params, x1, x2):
        jac1 = func.vmap(func.jacrev(fnet_single), (None, 0))(params, x1)
        jac1 = jac1.values()
        jac1 = [j.flatten(2) for j in jac1]
        jac2 = func.vmap(func.jacrev(fnet_single), (None, 0))(params, x2)
        jac2 = jac2.values()
        jac2 = [j.flatten(2) for j in jac2]
        result = torch.stack([torch.einsum("Naf,Mbf->NMab", j1, j2)
                              for j1, j2 in zip(jac1, jac2)])
        return result.sum(0)

    def ntk_vps(fnet_single, params, x1, x2):
        def get_ntk(x1, x2):
            def func_x1(params):
                return fnet_single(params, x1)

            def func_x2(params):
                return fnet_single(params, x2)

            output, vjp_fn = func.vjp(func_x1, params)

            def get_ntk_slice(vec):
                vjps = vjp_fn(vec)
                _, jvps = func.jvp(func_x2, (params,), vjps)
                return jvps

            basis = torch.eye(output.numel(), dtype=output.dtype, device=output.device).view(
                output.numel(), -1)
            return func.vmap(get_ntk_slice)(basis)

        result = func.vmap(func.vmap(get_ntk, (None, 0)), (0, None))(x1, x2)
        return result

    ntk_a = ntk_jacobian_contraction(fnet_single, params, x_train, x_test)
    ntk_b = ntk_vps(fnet_single, params, x_train, x_test)

    loss = net(x_train).pow(2).sum()
    grads = torch.autograd.grad(loss, list(net.parameters()), create_graph=True)
    v = [torch.ones_like(g) for g in grads]
    hv = torch.autograd.grad(grads, list(net.parameters()), grad_outputs=v)
    fc_w, fc_b = net.fc.weight.detach(), net.fc.bias.detach()

    def fc_loss(w, b):
        return func.functional_call(net, {**params, "fc.weight": w, "fc.bias": b},
                                    (x_train,)).pow(2).sum()

    _, hvp = torch.autograd.functional.hvp(fc_loss, (fc_w, fc_b),
                                          (torch.ones_like(fc_w), torch.ones_like(fc_b)))
    return ntk_a.numpy(), ntk_b.numpy(), [h.numpy() for h in hv], [h.numpy() for h in hvp]


def mobilenet_v3(torch, num_classes=3):
    """torchvision's MobileNetV3 building blocks in miniature: _make_divisible, inverted
    residuals with depthwise convs, SqueezeExcitation (hardsigmoid scale), Hardswish."""
    nn = torch.nn
    F = nn.functional

    def _make_divisible(v, divisor, min_value=None):
        if min_value is None:
            min_value = divisor
        new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
        if new_v < 0.9 * v:
            new_v += divisor
        return new_v

    class SqueezeExcitation(nn.Module):
        def __init__(self, input_channels, squeeze_channels):
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
            self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
            self.activation = nn.ReLU()
            self.scale_activation = nn.Hardsigmoid()

        def forward(self, input):  # noqa: A002
            scale = self.avgpool(input)
            scale = self.fc1(scale)
            scale = self.activation(scale)
            scale = self.fc2(scale)
            return self.scale_activation(scale) * input

    def conv_bn_act(cin, cout, k, stride=1, groups=1, act=nn.Hardswish):
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)]
        if act is not None:
            layers.append(act(inplace=True))
        return nn.Sequential(*layers)

    class InvertedResidual(nn.Module):
        def __init__(self, cin, k, expanded, cout, use_se, act, stride):
            super().__init__()
            self.use_res_connect = stride == 1 and cin == cout
            layers = []
            if expanded != cin:
                layers.append(conv_bn_act(cin, expanded, 1, act=act))
            layers.append(conv_bn_act(expanded, expanded, k, stride, groups=expanded, act=act))
            if use_se:
                layers.append(SqueezeExcitation(expanded, _make_divisible(expanded // 4, 8)))
            layers.append(conv_bn_act(expanded, cout, 1, act=None))
            self.block = nn.Sequential(*layers)

        def forward(self, input):  # noqa: A002
            result = self.block(input)
            if self.use_res_connect:
                result += input
            return result

    class MobileNetV3(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                conv_bn_act(3, 8, 3, stride=2),
                InvertedResidual(8, 3, 8, 8, True, nn.ReLU, 1),
                InvertedResidual(8, 5, 16, 8, True, nn.Hardswish, 2),
                conv_bn_act(8, 16, 1))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(16, 12), nn.Hardswish(inplace=True),
                                            nn.Dropout(p=0.0, inplace=True),
                                            nn.Linear(12, num_classes))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            x = self.features(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.classifier(x)

    assert _make_divisible(8 // 4, 8) == 8 and F.hardsigmoid is not None
    return MobileNetV3()


def train_classifier(torch, model, images, labels, steps=3):
    """RMSprop as torchvision's reference trains MobileNet (alpha=0.9, eps=0.0316,
    momentum=0.9), label smoothing, an EMA model by optim.swa_utils.AveragedModel with
    get_ema_multi_avg_fn; per-step losses, the EMA's logits and BatchNorm statistics."""
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, eps=0.0316,
                                    momentum=0.9, weight_decay=1e-5)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9),
        use_buffers=True)
    losses = []
    for _ in range(steps):
        model.train()
        loss = criterion(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update_parameters(model)
        losses.append(loss.item())
    ema.eval()
    with torch.no_grad():
        logits = ema(images)
    buffers = {k: v.numpy().copy() for k, v in ema.module.state_dict().items()
               if "running" in k}
    return losses, logits.numpy(), buffers, int(ema.n_averaged)


def convnext(torch, dims=(4, 8), depths=(1, 1), num_classes=3, layer_scale_init_value=1e-6):
    """facebookresearch/ConvNeXt: a channels-first LayerNorm written with F.layer_norm over a
    permuted tensor, 7x7 depthwise convs, inverted-bottleneck Linears, layer scale gamma."""
    nn = torch.nn
    F = nn.functional

    class LayerNorm(nn.Module):
        def __init__(self, normalized_shape, eps=1e-6, data_format="channels_last"):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))
            self.eps = eps
            self.data_format = data_format
            self.normalized_shape = (normalized_shape, )

        def forward(self, x):
            if self.data_format == "channels_last":
                return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]

    class Block(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
            self.norm = LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, 4 * dim)
            self.act = nn.GELU()
            self.pwconv2 = nn.Linear(4 * dim, dim)
            self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim),
                                      requires_grad=True)
            self.drop_path = nn.Identity()

        def forward(self, x):
            input = x  # noqa: A001 - the repository's name
            x = self.dwconv(x)
            x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
            x = self.norm(x)
            x = self.pwconv1(x)
            x = self.act(x)
            x = self.pwconv2(x)
            x = self.gamma * x
            x = x.permute(0, 3, 1, 2)
            return input + self.drop_path(x)

    class ConvNeXt(nn.Module):
        def __init__(self):
            super().__init__()
            self.downsample_layers = nn.ModuleList()
            stem = nn.Sequential(nn.Conv2d(3, dims[0], kernel_size=2, stride=2),
                                 LayerNorm(dims[0], eps=1e-6, data_format="channels_first"))
            self.downsample_layers.append(stem)
            for i in range(len(dims) - 1):
                self.downsample_layers.append(nn.Sequential(
                    LayerNorm(dims[i], eps=1e-6, data_format="channels_first"),
                    nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2)))
            self.stages = nn.ModuleList()
            for i in range(len(dims)):
                self.stages.append(nn.Sequential(*[Block(dim=dims[i]) for _ in range(depths[i])]))
            self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
            self.head = nn.Linear(dims[-1], num_classes)
            self.apply(self._init_weights)
            self.head.weight.data.mul_(1.0)
            self.head.bias.data.mul_(1.0)

        def _init_weights(self, m):
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=.02)
                nn.init.constant_(m.bias, 0)

        def forward_features(self, x):
            for i in range(len(self.stages)):
                x = self.downsample_layers[i](x)
                x = self.stages[i](x)
            return self.norm(x.mean([-2, -1]))

        def forward(self, x):
            return self.head(self.forward_features(x))

    return ConvNeXt()


def swin_block(torch, dim=8, input_resolution=(4, 4), num_heads=2, window_size=2, shift_size=1,
               num_classes=3):
    """microsoft/Swin-Transformer's SwinTransformerBlock: window partition by view/permute,
    a cyclic shift by torch.roll with its attention mask, a relative position bias table indexed
    through a meshgrid-built buffer."""
    nn = torch.nn
    F = nn.functional

    def window_partition(x, window_size):
        B, H, W, C = x.shape
        x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)

    def window_reverse(windows, window_size, H, W):
        B = int(windows.shape[0] / (H * W / window_size / window_size))
        x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)

    class WindowAttention(nn.Module):
        def __init__(self, dim, window_size, num_heads, qkv_bias=True):
            super().__init__()
            self.dim = dim
            self.window_size = window_size
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = head_dim ** -0.5
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads))
            coords_h = torch.arange(self.window_size[0])
            coords_w = torch.arange(self.window_size[1])
            coords = torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))
            coords_flatten = torch.flatten(coords, 1)
            relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
            relative_coords = relative_coords.permute(1, 2, 0).contiguous()
            relative_coords[:, :, 0] += self.window_size[0] - 1
            relative_coords[:, :, 1] += self.window_size[1] - 1
            relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
            relative_position_index = relative_coords.sum(-1)
            self.register_buffer("relative_position_index", relative_position_index)
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)
            nn.init.trunc_normal_(self.relative_position_bias_table, std=.02)
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x, mask=None):
            B_, N, C = x.shape
            qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(
                2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            q = q * self.scale
            attn = (q @ k.transpose(-2, -1))
            relative_position_bias = self.relative_position_bias_table[
                self.relative_position_index.view(-1)].view(
                self.window_size[0] * self.window_size[1],
                self.window_size[0] * self.window_size[1], -1)
            relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
            attn = attn + relative_position_bias.unsqueeze(0)
            if mask is not None:
                nW = mask.shape[0]
                attn = attn.view(B_ // nW, nW, self.num_heads, N, N) \
                    + mask.unsqueeze(1).unsqueeze(0)
                attn = attn.view(-1, self.num_heads, N, N)
            attn = self.softmax(attn)
            x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
            return self.proj(x)

    class SwinTransformerBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_resolution = input_resolution
            self.window_size = window_size
            self.shift_size = shift_size
            self.norm1 = nn.LayerNorm(dim)
            self.attn = WindowAttention(dim, window_size=(window_size, window_size),
                                        num_heads=num_heads)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
            if self.shift_size > 0:
                H, W = self.input_resolution
                img_mask = torch.zeros((1, H, W, 1))
                h_slices = (slice(0, -self.window_size),
                            slice(-self.window_size, -self.shift_size),
                            slice(-self.shift_size, None))
                w_slices = h_slices
                cnt = 0
                for h in h_slices:
                    for w in w_slices:
                        img_mask[:, h, w, :] = cnt
                        cnt += 1
                mask_windows = window_partition(img_mask, self.window_size)
                mask_windows = mask_windows.view(-1, self.window_size * self.window_size)
                attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
                attn_mask = attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(
                    attn_mask == 0, 0.0)
            else:
                attn_mask = None
            self.register_buffer("attn_mask", attn_mask)

        def forward(self, x):
            H, W = self.input_resolution
            B, L, C = x.shape
            shortcut = x
            x = self.norm1(x)
            x = x.view(B, H, W, C)
            if self.shift_size > 0:
                shifted_x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size),
                                       dims=(1, 2))
            else:
                shifted_x = x
            x_windows = window_partition(shifted_x, self.window_size)
            x_windows = x_windows.view(-1, self.window_size * self.window_size, C)
            attn_windows = self.attn(x_windows, mask=self.attn_mask)
            attn_windows = attn_windows.view(-1, self.window_size, self.window_size, C)
            shifted_x = window_reverse(attn_windows, self.window_size, H, W)
            if self.shift_size > 0:
                x = torch.roll(shifted_x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
            else:
                x = shifted_x
            x = x.view(B, H * W, C)
            x = shortcut + x
            return x + self.mlp(self.norm2(x))

    class TinySwin(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, dim, kernel_size=2, stride=2)
            self.blocks = nn.Sequential(SwinTransformerBlock())
            self.norm = nn.LayerNorm(dim)
            self.avgpool = nn.AdaptiveAvgPool1d(1)
            self.head = nn.Linear(dim, num_classes)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)
            x = self.blocks(x)
            x = self.norm(x)
            x = self.avgpool(x.transpose(1, 2))
            return self.head(torch.flatten(x, 1))

    assert F.gelu is not None
    return TinySwin()


def train_swin(torch, model, images, labels, steps=3):
    """AdamW, cross entropy with label smoothing, a cosine schedule stepped per iteration."""
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    losses = []
    for _ in range(steps):
        loss = criterion(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(images)
    return losses, logits.numpy()


def resize_pos_embed(torch, posemb, new_size, num_prefix_tokens=1):
    """timm's resample_abs_pos_embed: the class token kept, the grid of position embeddings
    resized by bicubic interpolation to a new image size (fine-tuning at a higher resolution)."""
    F = torch.nn.functional
    prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    old = int(math.sqrt(posemb.shape[1]))
    posemb = posemb.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    posemb = F.interpolate(posemb, size=new_size, mode="bicubic", antialias=False,
                           align_corners=False)
    posemb = posemb.permute(0, 2, 3, 1).reshape(1, -1, posemb.shape[1])
    return torch.cat([prefix, posemb], dim=1)


def finetune_vit_at_higher_resolution(torch, model, images, labels, steps=2):
    """Load the trained ViT's state into a ViT for 12x12 images: the pos_embed entry resized by
    resize_pos_embed, then a few steps at the new size."""
    state = model.state_dict()
    state["pos_embed"] = resize_pos_embed(torch, state["pos_embed"], (3, 3))
    bigger = vit(torch, image=12).to(state["pos_embed"].dtype)
    bigger.load_state_dict(state)
    optimizer = torch.optim.SGD(bigger.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(bigger(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, bigger.pos_embed.detach().numpy()


def unet3d(torch, c=2, n_classes=2):
    """A 3-D U-Net (Cicek et al.) in miniature: Conv3d + BatchNorm3d + ReLU blocks, MaxPool3d,
    trilinear Upsample(align_corners=True), skip concatenation, a Dice + cross-entropy loss."""
    nn = torch.nn

    def block(cin, cout):
        return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm3d(cout),
                             nn.ReLU(inplace=True))

    class UNet3D(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = block(1, c)
            self.pool = nn.MaxPool3d(2)
            self.enc2 = block(c, 2 * c)
            self.up = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=True)
            self.dec1 = block(3 * c, c)
            self.out = nn.Conv3d(c, n_classes, 1)

        def forward(self, x):
            e1 = self.enc1(x)
            e2 = self.enc2(self.pool(e1))
            d1 = self.dec1(torch.cat([self.up(e2), e1], dim=1))
            return self.out(d1)

    return UNet3D()


def train_unet3d(torch, model, volumes, masks, steps=3):
    F = torch.nn.functional
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        logits = model(volumes)
        probs = F.softmax(logits, dim=1)
        one_hot = F.one_hot(masks, 2).permute(0, 4, 1, 2, 3).to(probs.dtype)
        inter = (probs * one_hot).sum(dim=(2, 3, 4))
        dice = (2 * inter + 1e-5) / (probs.sum(dim=(2, 3, 4)) + one_hot.sum(dim=(2, 3, 4)) + 1e-5)
        loss = F.cross_entropy(logits, masks) + (1 - dice.mean())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        up = F.interpolate(model.eval()(volumes), scale_factor=(1.5, 2, 1), mode="trilinear")
    return losses, up.numpy()


def voxelmorph(torch, inshape=(4, 4, 4), enc=4, int_steps=2):
    """VoxelMorph (voxelmorph/torch): a small 3-D U-Net predicting a velocity field, integrated
    by scaling and squaring (VecInt) through the SpatialTransformer, which warps by 5-D
    grid_sample."""
    nn = torch.nn
    nnf = nn.functional
    Normal = torch.distributions.Normal

    class SpatialTransformer(nn.Module):
        def __init__(self, size, mode="bilinear"):
            super().__init__()
            self.mode = mode
            vectors = [torch.arange(0, s) for s in size]
            grids = torch.meshgrid(vectors, indexing="ij")
            grid = torch.stack(grids)
            grid = torch.unsqueeze(grid, 0)
            grid = grid.type(torch.FloatTensor)
            self.register_buffer("grid", grid, persistent=False)

        def forward(self, src, flow):
            new_locs = self.grid + flow
            shape = flow.shape[2:]
            for i in range(len(shape)):
                new_locs[:, i, ...] = 2 * (new_locs[:, i, ...] / (shape[i] - 1) - 0.5)
            if len(shape) == 2:
                new_locs = new_locs.permute(0, 2, 3, 1)
                new_locs = new_locs[..., [1, 0]]
            elif len(shape) == 3:
                new_locs = new_locs.permute(0, 2, 3, 4, 1)
                new_locs = new_locs[..., [2, 1, 0]]
            return nnf.grid_sample(src, new_locs, align_corners=True, mode=self.mode)

    class VecInt(nn.Module):
        def __init__(self, inshape, nsteps):
            super().__init__()
            self.nsteps = nsteps
            self.scale = 1.0 / (2 ** self.nsteps)
            self.transformer = SpatialTransformer(inshape)

        def forward(self, vec):
            vec = vec * self.scale
            for _ in range(self.nsteps):
                vec = vec + self.transformer(vec, vec)
            return vec

    class ConvBlock(nn.Module):
        def __init__(self, in_channels, out_channels, stride=1):
            super().__init__()
            self.main = nn.Conv3d(in_channels, out_channels, 3, stride, 1)
            self.activation = nn.LeakyReLU(0.2)

        def forward(self, x):
            return self.activation(self.main(x))

    class VxmDense(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = ConvBlock(2, enc)
            self.pool = nn.MaxPool3d(2)
            self.mid = ConvBlock(enc, enc)
            self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
            self.dec = ConvBlock(2 * enc, enc)
            self.flow = nn.Conv3d(enc, 3, kernel_size=3, padding=1)
            self.flow.weight = nn.Parameter(Normal(0, 1e-5).sample(self.flow.weight.shape))
            self.flow.bias = nn.Parameter(torch.zeros(self.flow.bias.shape))
            self.integrate = VecInt(inshape, int_steps)
            self.transformer = SpatialTransformer(inshape)

        def forward(self, source, target):
            x = torch.cat([source, target], dim=1)
            e = self.enc(x)
            d = self.dec(torch.cat([self.upsample(self.mid(self.pool(e))), e], dim=1))
            pos_flow = self.integrate(self.flow(d))
            y_source = self.transformer(source, pos_flow)
            return y_source, pos_flow

    return VxmDense()


def train_voxelmorph(torch, model, sources, targets, lambda_=0.01):
    """The repository's losses: local NCC by conv3d with a box filter, and the l2 gradient
    penalty on the flow's finite differences; Adam."""
    F = torch.nn.functional

    def ncc(y_true, y_pred, win=None):
        Ii, Ji = y_true, y_pred
        ndims = len(list(Ii.size())) - 2
        win = [3] * ndims if win is None else win
        sum_filt = torch.ones([1, 1, *win], dtype=Ii.dtype)
        pad_no = win[0] // 2
        stride, padding = (1,) * ndims, (pad_no,) * ndims
        conv_fn = getattr(F, f"conv{ndims}d")
        I2, J2, IJ = Ii * Ii, Ji * Ji, Ii * Ji
        I_sum = conv_fn(Ii, sum_filt, stride=stride, padding=padding)
        J_sum = conv_fn(Ji, sum_filt, stride=stride, padding=padding)
        I2_sum = conv_fn(I2, sum_filt, stride=stride, padding=padding)
        J2_sum = conv_fn(J2, sum_filt, stride=stride, padding=padding)
        IJ_sum = conv_fn(IJ, sum_filt, stride=stride, padding=padding)
        win_size = np.prod(win)
        u_I, u_J = I_sum / win_size, J_sum / win_size
        cross = IJ_sum - u_J * I_sum - u_I * J_sum + u_I * u_J * win_size
        I_var = I2_sum - 2 * u_I * I_sum + u_I * u_I * win_size
        J_var = J2_sum - 2 * u_J * J_sum + u_J * u_J * win_size
        cc = cross * cross / (I_var * J_var + 1e-5)
        return -torch.mean(cc)

    def grad_loss(y_pred):
        dy = torch.abs(y_pred[:, :, 1:, :, :] - y_pred[:, :, :-1, :, :])
        dx = torch.abs(y_pred[:, :, :, 1:, :] - y_pred[:, :, :, :-1, :])
        dz = torch.abs(y_pred[:, :, :, :, 1:] - y_pred[:, :, :, :, :-1])
        d = torch.mean(dx * dx) + torch.mean(dy * dy) + torch.mean(dz * dz)
        return d / 3.0

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for source, target in zip(sources, targets):
        y_source, flow = model(source, target)
        sim, smooth = ncc(target, y_source), grad_loss(flow)
        loss = sim + lambda_ * smooth
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append((loss.item(), sim.item(), smooth.item()))
    with torch.no_grad():
        moved, flow = model(sources[0], targets[0])
    return history, moved.numpy(), flow.numpy()
