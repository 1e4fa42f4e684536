"""Karpathy's nanoGPT ``train.py`` written from memory, run with ``torch`` = PyTorch or chainrule
(test_port14_programs.py) around the GPT of real_programs.py: ``from torch.distributed import
init_process_group, destroy_process_group``, DDP chosen by ``int(os.environ.get('RANK', -1)) !=
-1`` (a world of one process here) with ``model.require_backward_grad_sync`` per micro step,
``torch.backends.cuda.matmul.allow_tf32``, the dtype choice through
``torch.cuda.is_bf16_supported()``, a ``nullcontext`` on the CPU, ``get_batch`` from an
``np.memmap`` of a ``.bin`` file by ``torch.randint`` and ``torch.from_numpy((data[i:i+block_size])
.astype(np.int64))``, ``meta.pkl``, ``torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))``
(disabled without CUDA, with PyTorch's warning), ``configure_optimizers`` (decay only for
parameters with ``dim() >= 2``, ``fused`` looked up in ``inspect.signature(torch.optim.AdamW)``),
``estimate_loss`` under ``@torch.no_grad()`` into ``torch.zeros(eval_iters)``, the warm-up and
cosine ``get_lr``, checkpoints ``{'model': raw_model.state_dict(), 'optimizer': ...,
'best_val_loss': ...}`` by ``torch.save`` and resumed by ``torch.load(map_location=device)`` with
the ``_orig_mod.`` prefix stripped, ``crop_block_size`` (``nn.Parameter(wpe.weight[:block_size])``
and the causal-mask buffers cut), ``scaler.unscale_`` before ``clip_grad_norm_`` and
``zero_grad(set_to_none=True)``. Two adaptations for a CPU: the DDP device stays ``cpu`` and
``device_ids`` is None there (PyTorch refuses CUDA ids for a CPU module).
"""

from __future__ import annotations

import inspect
import math
import os
import pickle
from contextlib import nullcontext

import numpy as np


def configure_optimizers(torch, model, weight_decay, learning_rate, betas, device_type):
    # start with all of the candidate parameters
    param_dict = {pn: p for pn, p in model.named_parameters()}
    # filter out those that do not require grad
    param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
    # create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
    decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
    optim_groups = [
        {'params': decay_params, 'weight_decay': weight_decay},
        {'params': nodecay_params, 'weight_decay': 0.0}
    ]
    num_decay_params = sum(p.numel() for p in decay_params)
    num_nodecay_params = sum(p.numel() for p in nodecay_params)
    # Create AdamW optimizer and use the fused version if it is available
    fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
    use_fused = fused_available and device_type == 'cuda'
    extra_args = dict(fused=True) if use_fused else dict()
    optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
    return optimizer, (num_decay_params, num_nodecay_params, use_fused)


def crop_block_size(torch, model, block_size):
    # model surgery to decrease the block size if necessary
    nn = torch.nn
    model.transformer.wpe.weight = nn.Parameter(model.transformer.wpe.weight[:block_size])
    for block in model.transformer.h:
        if hasattr(block.attn, 'bias'):
            block.attn.bias = block.attn.bias[:, :, :block_size, :block_size]


def train(torch, model, data_dir, out_dir, init_from='scratch', max_iters=6, eval_interval=3,
          eval_iters=2, gradient_accumulation_steps=2, batch_size=2, block_size=6,
          learning_rate=1e-2, warmup_iters=2, lr_decay_iters=6, min_lr=1e-3, backend='gloo',
          grad_clip=1.0, crop_to=None):
    init_process_group = torch.distributed.init_process_group
    destroy_process_group = torch.distributed.destroy_process_group
    DDP = torch.nn.parallel.DistributedDataParallel
    weight_decay, beta1, beta2 = 1e-1, 0.9, 0.95
    decay_lr, always_save_checkpoint, eval_only, log_interval = True, True, False, 1
    device = 'cpu'
    # various inits, derived attributes, I/O setup
    ddp = int(os.environ.get('RANK', -1)) != -1  # is this a ddp run?
    if ddp:
        init_process_group(backend=backend)
        ddp_rank = int(os.environ['RANK'])
        ddp_local_rank = int(os.environ['LOCAL_RANK'])
        ddp_world_size = int(os.environ['WORLD_SIZE'])
        device = f'cuda:{ddp_local_rank}' if torch.cuda.is_available() else 'cpu'
        master_process = ddp_rank == 0  # this process will do logging, checkpointing etc.
        seed_offset = ddp_rank  # each process gets a different seed
        assert gradient_accumulation_steps % ddp_world_size == 0
        gradient_accumulation_steps //= ddp_world_size
    else:
        # if not ddp, we are running on a single gpu, and one process
        master_process = True
        seed_offset = 0
        ddp_world_size = 1
    tokens_per_iter = gradient_accumulation_steps * ddp_world_size * batch_size * block_size
    if master_process:
        os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1337 + seed_offset)
    torch.backends.cuda.matmul.allow_tf32 = True  # allow tf32 on matmul
    torch.backends.cudnn.allow_tf32 = True  # allow tf32 on cudnn
    device_type = 'cuda' if 'cuda' in device else 'cpu'  # for later use in torch.autocast
    dtype = 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() \
        else 'float16'
    ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16,
               'float16': torch.float16}[dtype]
    ctx = nullcontext() if device_type == 'cpu' else torch.amp.autocast(device_type=device_type,
                                                                          dtype=ptdtype)

    # poor man's data loader
    def get_batch(split):
        # We recreate np.memmap every batch to avoid a memory leak
        data = np.memmap(os.path.join(data_dir, f'{split}.bin'), dtype=np.uint16, mode='r')
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([torch.from_numpy((data[i:i+block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i+1:i+1+block_size]).astype(np.int64))
                         for i in ix])
        if device_type == 'cuda':
            x, y = x.pin_memory().to(device, non_blocking=True), \
                y.pin_memory().to(device, non_blocking=True)
        else:
            x, y = x.to(device), y.to(device)
        return x, y

    iter_num = 0
    best_val_loss = 1e9
    meta_path = os.path.join(data_dir, 'meta.pkl')
    meta_vocab_size = None
    if os.path.exists(meta_path):
        with open(meta_path, 'rb') as f:
            meta = pickle.load(f)
        meta_vocab_size = meta['vocab_size']
    model_args = dict(n_layer=2, n_head=2, n_embd=8, block_size=block_size, bias=True,
                      vocab_size=meta_vocab_size, dropout=0.0)
    checkpoint = None
    if init_from == 'resume':
        ckpt_path = os.path.join(out_dir, 'ckpt.pt')
        checkpoint = torch.load(ckpt_path, map_location=device)
        checkpoint_model_args = checkpoint['model_args']
        for k in ['n_layer', 'n_head', 'n_embd', 'block_size', 'bias', 'vocab_size']:
            model_args[k] = checkpoint_model_args[k]
        state_dict = checkpoint['model']
        # fix the keys of the state dictionary :(
        unwanted_prefix = '_orig_mod.'
        for k, v in list(state_dict.items()):  # noqa: B007
            if k.startswith(unwanted_prefix):
                state_dict[k[len(unwanted_prefix):]] = state_dict.pop(k)
        model.load_state_dict(state_dict)
        iter_num = checkpoint['iter_num']
        best_val_loss = checkpoint['best_val_loss']
    if crop_to is not None and crop_to < block_size:
        crop_block_size(torch, model, crop_to)
        # so that the checkpoint will have the right value
        model_args['block_size'] = block_size = crop_to
    model.to(device)
    # initialize a GradScaler. If enabled=False scaler is a no-op
    scaler = torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))
    optimizer, counts = configure_optimizers(torch, model, weight_decay, learning_rate,
                                             (beta1, beta2), device_type)
    if init_from == 'resume':
        optimizer.load_state_dict(checkpoint['optimizer'])
    checkpoint = None  # free up memory
    if ddp:
        model = DDP(model, device_ids=[ddp_local_rank] if device_type == 'cuda' else None)

    # helps estimate an arbitrarily accurate loss over either split using many batches
    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ['train', 'val']:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                with ctx:
                    logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    # learning rate decay scheduler (cosine with warmup)
    def get_lr(it):
        # 1) linear warmup for warmup_iters steps
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        # 2) if it > lr_decay_iters, return min learning rate
        if it > lr_decay_iters:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff ranges 0..1
        return min_lr + coeff * (learning_rate - min_lr)

    log, evals = [], []
    X, Y = get_batch('train')  # fetch the very first batch
    raw_model = model.module if ddp else model  # unwrap DDP container if needed
    while True:
        # determine and set the learning rate for this iteration
        lr = get_lr(iter_num) if decay_lr else learning_rate
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        # evaluate the loss on train/val sets and write checkpoints
        if iter_num % eval_interval == 0 and master_process:
            losses = estimate_loss()
            evals.append((iter_num, float(losses['train']), float(losses['val'])))
            if losses['val'] < best_val_loss or always_save_checkpoint:
                best_val_loss = losses['val']
                if iter_num > 0:
                    checkpoint = {
                        'model': raw_model.state_dict(),
                        'optimizer': optimizer.state_dict(),
                        'model_args': model_args,
                        'iter_num': iter_num,
                        'best_val_loss': best_val_loss,
                        'config': {'learning_rate': learning_rate},
                    }
                    torch.save(checkpoint, os.path.join(out_dir, 'ckpt.pt'))
        if iter_num == 0 and eval_only:
            break
        # forward backward update, with optional gradient accumulation to simulate larger batch
        # size and using the GradScaler if data type is float16
        for micro_step in range(gradient_accumulation_steps):
            if ddp:
                # in DDP training we only need to sync gradients at the last micro step.
                model.require_backward_grad_sync = (micro_step == gradient_accumulation_steps - 1)
            with ctx:
                logits, loss = model(X, Y)
                # scale the loss to account for gradient accumulation
                loss = loss / gradient_accumulation_steps
            # immediately async prefetch next batch while model is doing the forward pass
            X, Y = get_batch('train')
            # backward pass, with gradient scaling if training in fp16
            scaler.scale(loss).backward()
        # clip the gradient
        if grad_clip != 0.0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        # step the optimizer and scaler if training in fp16
        scaler.step(optimizer)
        scaler.update()
        # flush the gradients as soon as we can, no need for this memory anymore
        optimizer.zero_grad(set_to_none=True)
        if iter_num % log_interval == 0 and master_process:
            # get loss as float. note: this is a CPU-GPU sync point
            # scale up to undo the division above, approximating the true total loss
            lossf = loss.item() * gradient_accumulation_steps
            log.append((iter_num, lossf, lr))
        iter_num += 1
        # termination conditions
        if iter_num > max_iters:
            break
    if ddp:
        destroy_process_group()
    return log, evals, tokens_per_iter, counts, scaler.is_enabled(), \
        {k: v.detach().numpy().copy() for k, v in raw_model.state_dict().items()}
