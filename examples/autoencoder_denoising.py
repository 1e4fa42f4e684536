"""A denoising autoencoder on MNIST, measured per noise level; optionally, layer-wise pre-training.

The network is an ordinary undercomplete autoencoder (784-256-64 by default); what makes it a
denoising one is the data: every training batch is corrupted afresh (Gaussian noise of sigma 0.1,
0.3 or 0.5, or 25 % / 50 % of the pixels masked to 0) and the target is the clean batch. After
training, the test set is corrupted at each level and the reconstruction's MSE and PSNR are
printed next to those of the noisy input, and a figure shows input / corrupted / reconstruction.

    python examples/autoencoder_denoising.py --data-dir ../shared/data --epochs 5
    python examples/autoencoder_denoising.py --dataset digits --epochs 20      # offline, 8x8
    python examples/autoencoder_denoising.py --data-dir ../shared/data --pretraining

``--pretraining`` instead compares an MLP trained on 1,000 labels from random weights with the same
MLP whose hidden layers were first pre-trained, greedily, as autoencoders of unlabelled images.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from chainrule import generative, optim
from chainrule.data import ArrayDataset, DataLoader, transforms
from chainrule.data.corruptions import NOISE_LEVELS, corrupt, denoising_pair, pair_transform
from chainrule.data.datasets import digits, mnist
from chainrule.models import Autoencoder
from chainrule.ops import mse_loss
from chainrule.train import Trainer


def load(dataset: str, data_dir):
    """Train and test images (N, 1, H, W) in [0, 1] and their labels."""
    if dataset == "digits":
        (x, y), (xt, yt) = digits()
        return x[:, None].astype(np.float32), y, xt[:, None].astype(np.float32), yt
    (x, y), (xt, yt) = mnist(data_dir)
    return transforms.scale(x)[:, None], y, transforms.scale(xt)[:, None], yt


def denoise(args) -> dict:
    x, _, xt, _ = load(args.dataset, args.data_dir)
    x, xt = x[:args.n_train], xt[:args.n_test]
    rng = np.random.default_rng(args.seed)
    size = x[0].size
    model = Autoencoder((size, args.hidden, args.bottleneck), tied=args.tied, rng=rng)
    loader = DataLoader(ArrayDataset(x), args.batch_size, shuffle=True, rng=rng,
                        transform=pair_transform(denoising_pair, noise=NOISE_LEVELS))
    trainer = Trainer(model, mse_loss, optim.Adam(model.parameters(), lr=args.lr),
                      metrics=[generative.psnr])
    start = time.perf_counter()
    history = trainer.fit(loader, epochs=args.epochs, verbose=args.verbose)
    seconds = time.perf_counter() - start
    report = generative.reconstruction_report(model, xt, rng=args.seed + 1)
    print(f"{args.dataset}: {len(x)} training images, {args.epochs} epochs in {seconds:.1f} s "
          f"(final training loss {history.history['loss'][-1]:.4f})")
    print(f"{'noise':13s} {'input MSE':>9s} {'input PSNR':>10s} {'output MSE':>10s} "
          f"{'output PSNR':>11s}")
    for spec, r in report.items():
        print(f"{spec:13s} {r['input_mse']:9.4f} {r['input_psnr']:8.2f} dB {r['mse']:10.4f} "
              f"{r['psnr']:9.2f} dB")
    if args.out:
        out = Path(args.out)
        for spec in NOISE_LEVELS:
            noisy = corrupt(xt[:10], spec, rng=np.random.default_rng(args.seed + 2))
            generative.reconstruction_rows(
                [xt[:10], noisy, generative.reconstruct(model, noisy)],
                out / f"denoising_{spec.replace(':', '-')}.png",
                title=f"{spec}: input / corrupted / reconstruction")
        print(f"figures in {out}")
    return {"noise_levels": report, "seconds": seconds, "epochs": args.epochs}


def pretraining(args) -> dict:
    x, y, xt, yt = load(args.dataset, args.data_dir)
    size = x[0].size
    result = generative.compare_pretraining(
        x[:args.n_train], x[:args.labels], y[:args.labels], xt[:args.n_test], yt[:args.n_test],
        sizes=(size, args.hidden, args.bottleneck, 10), activation="sigmoid",
        pretrain_epochs=args.epochs, finetune_epochs=args.finetune_epochs, seed=args.seed)
    print(f"{args.labels} labels, {result['n_unlabelled']} unlabelled images, MLP "
          f"{'-'.join(map(str, result['sizes']))} (sigmoid)")
    print(f"test accuracy from random weights:        {result['random_init_accuracy']:.4f}")
    print(f"test accuracy after layer-wise pre-training: {result['pretrained_accuracy']:.4f}")
    print(f"seconds: {result['seconds']}")
    return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST files")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--bottleneck", type=int, default=64)
    p.add_argument("--tied", action="store_true", help="tie the decoder's weights to the encoder")
    p.add_argument("--n-train", type=int, default=None, help="use the first N training images")
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for the figures")
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--pretraining", action="store_true",
                   help="compare random init with greedy layer-wise pre-training instead")
    p.add_argument("--labels", type=int, default=1000, help="labelled images (--pretraining)")
    p.add_argument("--finetune-epochs", type=int, default=30)
    args = p.parse_args(argv)
    if args.epochs < 1 or args.hidden < 1 or args.bottleneck < 1:
        p.error("--epochs, --hidden and --bottleneck must be at least 1")
    return pretraining(args) if args.pretraining else denoise(args)


if __name__ == "__main__":
    main()
