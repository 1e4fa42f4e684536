"""Karpathy's minGPT written from memory, run with ``torch`` = PyTorch or chainrule
(test_port14_programs.py): ``mingpt/utils.py``'s ``CfgNode``, ``mingpt/model.py`` (``NewGELU`` by
``torch.pow(x, 3.0)``, the causal mask as a registered buffer, an ``mlpf`` lambda kept on the
block, ``get_default_config`` with ``merge_from_dict`` of a named model type, the init by
``self.apply``, ``configure_optimizers`` sorting parameters into decay and no-decay sets by
module type over ``named_modules()`` with set algebra on the names, ``generate`` with
``torch.topk`` and ``logits[logits < v[:, [-1]]] = -float('Inf')``), ``mingpt/trainer.py``
(callbacks in a ``defaultdict(list)``, a ``DataLoader`` over ``RandomSampler(...,
replacement=True, num_samples=int(1e10))`` read by ``next(data_iter)``, ``zero_grad(set_to_none=
True)``, ``clip_grad_norm_``) and the sorting demo's ``SortDataset`` (``torch.randint(...,
dtype=torch.long)``, a rejection by ``torch.rand(1).item()``, the split by ``hash(pickle.dumps(
inp.tolist()))``, targets masked by ``y[:self.length-1] = -1``).
"""

from __future__ import annotations

import math
import pickle
from collections import defaultdict


class CfgNode:
    """ a lightweight configuration class inspired by yacs """

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def merge_from_dict(self, d):
        self.__dict__.update(d)

    def to_dict(self):
        return {k: v.to_dict() if isinstance(v, CfgNode) else v for k, v in self.__dict__.items()}


CN = CfgNode


def sort_dataset(torch, split, length=4, num_digits=3):
    class SortDataset(torch.utils.data.Dataset):
        """ Dataset for the Sort problem. E.g. for problem length 6:
        Input: 0 0 2 1 0 1 -> Output: 0 0 0 1 1 2 """

        def __init__(self, split, length=6, num_digits=3):
            assert split in {'train', 'test'}
            self.split = split
            self.length = length
            self.num_digits = num_digits

        def __len__(self):
            return 10000  # ...

        def get_vocab_size(self):
            return self.num_digits

        def get_block_size(self):
            # the length of the sequence that will feed into transformer,
            # containing concatenated input and the output, but -1 because
            # the transformer starts making predictions at the last input element
            return self.length * 2 - 1

        def __getitem__(self, idx):
            # use rejection sampling to generate an input example from the desired split
            while True:
                # generate some random integers
                inp = torch.randint(self.num_digits, size=(self.length,), dtype=torch.long)
                # half of the time let's try to boost the number of examples that
                # have a large number of repeats, as this is what the model seems to struggle
                # with later in training, and they are kind of rate
                if torch.rand(1).item() < 0.5:
                    if inp.unique().nelement() > self.length // 2:
                        # too many unqiue digits, re-sample
                        continue
                # figure out if this generated example is train or test based on its hash
                h = hash(pickle.dumps(inp.tolist()))
                inp_split = 'test' if h % 4 == 0 else 'train'  # designate 25% of examples as test
                if inp_split == self.split:
                    break  # ok
            # solve the task: i.e. sort
            sol = torch.sort(inp)[0]
            # concatenate the problem specification and the solution
            cat = torch.cat((inp, sol), dim=0)
            # the inputs to the transformer will be the offset sequence
            x = cat[:-1].clone()
            y = cat[1:].clone()
            # we only want to predict at output locations, mask out the loss at the input
            # locations
            y[:self.length-1] = -1
            return x, y

    return SortDataset(split, length, num_digits)


def gpt(torch, vocab_size=3, block_size=7, pdrop=0.0):
    nn = torch.nn
    F = torch.nn.functional

    class NewGELU(nn.Module):
        def forward(self, x):
            return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                               * (x + 0.044715 * torch.pow(x, 3.0))))

    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            # key, query, value projections for all heads, but in a batch
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
            # output projection
            self.c_proj = nn.Linear(config.n_embd, config.n_embd)
            # regularization
            self.attn_dropout = nn.Dropout(config.attn_pdrop)
            self.resid_dropout = nn.Dropout(config.resid_pdrop)
            # causal mask to ensure that attention is only applied to the left in the input
            # sequence
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size,
                                                               config.block_size))
                                 .view(1, 1, config.block_size, config.block_size))
            self.n_head = config.n_head
            self.n_embd = config.n_embd

        def forward(self, x):
            B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            y = self.resid_dropout(self.c_proj(y))
            return y

    class Block(nn.Module):
        """ an unassuming Transformer block """

        def __init__(self, config):
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = nn.LayerNorm(config.n_embd)
            self.mlp = nn.ModuleDict(dict(
                c_fc=nn.Linear(config.n_embd, 4 * config.n_embd),
                c_proj=nn.Linear(4 * config.n_embd, config.n_embd),
                act=NewGELU(),
                dropout=nn.Dropout(config.resid_pdrop),
            ))
            m = self.mlp
            self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))  # MLP forward

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlpf(self.ln_2(x))
            return x

    class GPT(nn.Module):
        """ GPT Language Model """

        @staticmethod
        def get_default_config():
            C = CN()
            # either model_type or (n_layer, n_head, n_embd) must be given in the config
            C.model_type = 'gpt'
            C.n_layer = None
            C.n_head = None
            C.n_embd = None
            # these options must be filled in externally
            C.vocab_size = None
            C.block_size = None
            # dropout hyperparameters
            C.embd_pdrop = 0.1
            C.resid_pdrop = 0.1
            C.attn_pdrop = 0.1
            return C

        def __init__(self, config):
            super().__init__()
            assert config.vocab_size is not None
            assert config.block_size is not None
            self.block_size = config.block_size
            type_given = config.model_type is not None
            params_given = all([config.n_layer is not None, config.n_head is not None,
                                config.n_embd is not None])
            assert type_given ^ params_given  # exactly one of these (XOR)
            if type_given:
                # translate from model_type to detailed configuration
                config.merge_from_dict({
                    'gpt-nano': dict(n_layer=3, n_head=3, n_embd=48),
                    'gpt-pico': dict(n_layer=2, n_head=2, n_embd=8),
                }[config.model_type])
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.embd_pdrop),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd),
            ))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            # init all weights, and apply a special scaled init to the residual projections,
            # per GPT-2 paper
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith('c_proj.weight'):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))
            # report number of parameters (note we don't count the decoder parameters in lm_head)
            self.n_params = sum(p.numel() for p in self.transformer.parameters())

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                torch.nn.init.zeros_(module.bias)
                torch.nn.init.ones_(module.weight)

        def configure_optimizers(self, train_config):
            # separate out all parameters to those that will and won't experience regularizing
            # weight decay
            decay = set()
            no_decay = set()
            whitelist_weight_modules = (torch.nn.Linear, )
            blacklist_weight_modules = (torch.nn.LayerNorm, torch.nn.Embedding)
            for mn, m in self.named_modules():
                for pn, p in m.named_parameters():  # noqa: B007
                    fpn = '%s.%s' % (mn, pn) if mn else pn  # full param name  # noqa: UP031
                    # random note: because named_modules and named_parameters are recursive
                    # we will see the same tensors p many many times. but doing it this way
                    # allows us to know which parent module any tensor p belongs to...
                    if pn.endswith('bias'):
                        # all biases will not be decayed
                        no_decay.add(fpn)
                    elif pn.endswith('weight') and isinstance(m, whitelist_weight_modules):
                        # weights of whitelist modules will be weight decayed
                        decay.add(fpn)
                    elif pn.endswith('weight') and isinstance(m, blacklist_weight_modules):
                        # weights of blacklist modules will NOT be weight decayed
                        no_decay.add(fpn)
            # validate that we considered every parameter
            param_dict = {pn: p for pn, p in self.named_parameters()}
            inter_params = decay & no_decay
            union_params = decay | no_decay
            assert len(inter_params) == 0, "parameters %s made it into both decay/no_decay sets!" % (str(inter_params), )  # noqa: E501, UP031
            assert len(param_dict.keys() - union_params) == 0, "parameters %s were not separated into either decay/no_decay set!" % (str(param_dict.keys() - union_params), )  # noqa: E501, UP031
            # create the pytorch optimizer object
            optim_groups = [
                {"params": [param_dict[pn] for pn in sorted(list(decay))],  # noqa: C414
                 "weight_decay": train_config.weight_decay},
                {"params": [param_dict[pn] for pn in sorted(list(no_decay))],  # noqa: C414
                 "weight_decay": 0.0},
            ]
            optimizer = torch.optim.AdamW(optim_groups, lr=train_config.learning_rate,
                                          betas=train_config.betas)
            return optimizer

        def forward(self, idx, targets=None):
            device = idx.device
            b, t = idx.size()
            assert t <= self.block_size, f"Cannot forward sequence of length {t}, block size " \
                f"is only {self.block_size}"
            pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0)  # (1, t)
            # forward the GPT model itself
            tok_emb = self.transformer.wte(idx)  # token embeddings of shape (b, t, n_embd)
            pos_emb = self.transformer.wpe(pos)  # position embeddings of shape (1, t, n_embd)
            x = self.transformer.drop(tok_emb + pos_emb)
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            logits = self.lm_head(x)
            # if we are given some desired targets also calculate the loss
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                       ignore_index=-1)
            return logits, loss

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
            for _ in range(max_new_tokens):
                # if the sequence context is growing too long we must crop it at block_size
                idx_cond = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size:]
                # forward the model to get the logits for the index in the sequence
                logits, _ = self(idx_cond)
                # pluck the logits at the final step and scale by desired temperature
                logits = logits[:, -1, :] / temperature
                # optionally crop the logits to only the top k options
                if top_k is not None:
                    v, _ = torch.topk(logits, top_k)
                    logits[logits < v[:, [-1]]] = -float('Inf')
                # apply softmax to convert logits to (normalized) probabilities
                probs = F.softmax(logits, dim=-1)
                # either sample from the distribution or take the most likely element
                if do_sample:
                    idx_next = torch.multinomial(probs, num_samples=1)
                else:
                    _, idx_next = torch.topk(probs, k=1, dim=-1)
                # append sampled index to the running sequence and continue
                idx = torch.cat((idx, idx_next), dim=1)
            return idx

    model_config = GPT.get_default_config()
    model_config.model_type = 'gpt-pico'
    model_config.vocab_size = vocab_size
    model_config.block_size = block_size
    model_config.embd_pdrop = model_config.resid_pdrop = model_config.attn_pdrop = pdrop
    return GPT(model_config)


def train(torch, model, train_dataset, max_iters=6, batch_size=4, learning_rate=5e-3):
    class Trainer:
        @staticmethod
        def get_default_config():
            C = CN()
            # device to train on
            C.device = 'auto'
            # dataloder parameters
            C.num_workers = 4
            # optimizer parameters
            C.max_iters = None
            C.batch_size = 64
            C.learning_rate = 3e-4
            C.betas = (0.9, 0.95)
            C.weight_decay = 0.1  # only applied on matmul weights
            C.grad_norm_clip = 1.0
            return C

        def __init__(self, config, model, train_dataset):
            self.config = config
            self.model = model
            self.optimizer = None
            self.train_dataset = train_dataset
            self.callbacks = defaultdict(list)
            # determine the device we'll train on
            if config.device == 'auto':
                self.device = 'cuda' if torch.cuda.is_available() else 'cpu'
            else:
                self.device = config.device
            self.model = self.model.to(self.device)
            self.iter_num = 0

        def add_callback(self, onevent: str, callback):
            self.callbacks[onevent].append(callback)

        def trigger_callbacks(self, onevent: str):
            for callback in self.callbacks.get(onevent, []):
                callback(self)

        def run(self):
            model, config = self.model, self.config
            # setup the optimizer
            self.optimizer = model.configure_optimizers(config)
            # setup the dataloader
            train_loader = torch.utils.data.DataLoader(
                self.train_dataset,
                sampler=torch.utils.data.RandomSampler(self.train_dataset, replacement=True,
                                                       num_samples=int(1e10)),
                shuffle=False,
                pin_memory=True,
                batch_size=config.batch_size,
                num_workers=config.num_workers,
            )
            model.train()
            self.iter_num = 0
            data_iter = iter(train_loader)
            while True:
                # fetch the next batch (x, y) and re-init iterator if needed
                try:
                    batch = next(data_iter)
                except StopIteration:
                    data_iter = iter(train_loader)
                    batch = next(data_iter)
                batch = [t.to(self.device) for t in batch]
                x, y = batch
                # forward the model
                logits, self.loss = model(x, y)
                # backprop and update the parameters
                model.zero_grad(set_to_none=True)
                self.loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_norm_clip)
                self.optimizer.step()
                self.trigger_callbacks('on_batch_end')
                self.iter_num += 1
                # termination conditions
                if config.max_iters is not None and self.iter_num >= config.max_iters:
                    break

    train_config = Trainer.get_default_config()
    train_config.learning_rate = learning_rate
    train_config.max_iters = max_iters
    train_config.batch_size = batch_size
    train_config.num_workers = 0
    trainer = Trainer(train_config, model, train_dataset)
    losses = []
    trainer.add_callback('on_batch_end', lambda t: losses.append(t.loss.item()))
    trainer.run()
    groups = [len(g['params']) for g in trainer.optimizer.param_groups]
    n = train_dataset.length
    inp = torch.tensor([[0, 2, 1, 2][:n]], dtype=torch.long)
    with torch.no_grad():
        cat = model.generate(inp, n, do_sample=False)
    return losses, groups, model.n_params, cat.tolist(), \
        {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
