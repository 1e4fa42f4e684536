"""Train a GAN on MNIST digits and watch it learn: sample grids, a progress strip, loss curves.

The generator turns noise z ~ N(0, I) into a 28x28 image through tanh; the discriminator says
"real" or "fake". ``GANTrainer.train_step`` takes one discriminator step (real batch vs generated
batch) and then one generator step through the frozen discriminator, with the non-saturating loss
(or the original minimax one, or WGAN-GP's critic and gradient penalty). ``GANMonitor`` draws the
same fixed noise after every epoch. With the conditional GAN (cgan, a conditional DCGAN) you
choose the digit.

    python examples/gan_mnist.py --data-dir ../shared/data --model gan --epochs 5
    python examples/gan_mnist.py --data-dir ../shared/data --model cgan --n-train 20000 \
        --epochs 5
    python examples/gan_mnist.py --data-dir ../shared/data --model dcgan --loss wgan-gp \
        --n-train 6400 --epochs 3 --out runs/wgan
    python examples/gan_mnist.py --dataset digits --model gan --epochs 50 --out runs/digits-gan

The figures go to ``--out`` (default: ``runs/gan_mnist-MODEL`` in the current folder).

``--judge RUN`` (a classifier run folder, e.g. from ``chainrule train lenet5 --dataset mnist``)
adds the LeNet Frechet distance, the classifier's confidence and the class histogram of samples.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from chainrule import generative, models, optim
from chainrule.data import transforms
from chainrule.data.datasets import digits, mnist
from chainrule.experiments.classify import load_model
from chainrule.viz import image_grid


def load(dataset: str, data_dir):
    if dataset == "digits":
        (x, y), (xt, _) = digits()
        return x[:, None].astype(np.float32), y, xt[:, None].astype(np.float32)
    (x, y), (xt, _) = mnist(data_dir)
    return transforms.scale(x)[:, None], y, transforms.scale(xt)[:, None]


def build(name: str, shape, latent_dim: int, width: int, loss: str, rng):
    """The GAN: MLP widths (w, 2w) for G and (2w, w) for D; (c)DCGAN maps (w/4, w/8), reversed."""
    c, h, _ = shape
    g_hidden, d_hidden = (width, 2 * width), (2 * width, width)
    if name == "gan":
        return models.MLPGAN(latent_dim, g_hidden, d_hidden, image_shape=shape, rng=rng)
    norm = "layer" if loss == "wgan-gp" else "batch"
    maps = (max(width // 4, 1), max(width // 8, 1))
    conv = {"g_channels": maps, "d_channels": maps[::-1], "image_channels": c, "image_size": h,
            "d_norm": norm}
    if name == "dcgan":
        return models.DCGAN(latent_dim, rng=rng, **conv)
    return models.ConditionalGAN("dcgan", 10, latent_dim=latent_dim, rng=rng, **conv)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["gan", "dcgan", "cgan"], default="gan")
    p.add_argument("--loss", choices=list(generative.GAN_LOSSES), default="non_saturating")
    p.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument("--width", type=int, default=256, help="network width (see build)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="folder for the figures (default: runs/gan_mnist-MODEL here)")
    p.add_argument("--judge", default=None, help="classifier run folder for the evaluation")
    p.add_argument("--n-eval", type=int, default=1000)
    args = p.parse_args(argv)
    if args.epochs < 1 or args.width < 8:
        p.error("--epochs must be at least 1 and --width at least 8")
    x, y, xt = load(args.dataset, args.data_dir)
    x, y = x[:args.n_train], y[:args.n_train]
    rng = np.random.default_rng(args.seed)
    gan = build(args.model, x.shape[1:], args.latent_dim, args.width, args.loss, rng)
    wgan = args.loss == "wgan-gp"
    lr, betas = (1e-4, (0.5, 0.9)) if wgan else (2e-4, (0.5, 0.999))
    out = Path(args.out or f"runs/gan_mnist-{args.model}")
    print(f"figures go to {out}")
    monitor = generative.GANMonitor(out, seed=args.seed + 1)
    trainer = generative.GANTrainer(
        gan, optim.Adam(gan.generator.parameters(), lr=lr, betas=betas),
        optim.Adam(gan.discriminator.parameters(), lr=lr, betas=betas), loss=args.loss,
        label_smoothing=args.label_smoothing, n_critic=5 if wgan else 1, rng=args.seed + 2,
        callbacks=[monitor])
    data = (x * 2 - 1, y) if gan.conditional else x * 2 - 1  # the generator's tanh range
    start = time.perf_counter()
    history = trainer.fit(data, epochs=args.epochs, batch_size=args.batch_size, rng=args.seed,
                          verbose=2)
    seconds = time.perf_counter() - start
    result = {"model": args.model, "loss": args.loss, "seconds": round(seconds, 1),
              "final": {k: v[-1] for k, v in history.history.items()}, "out": str(out)}
    if gan.conditional:
        sevens = gan.sample(20, rng=np.random.default_rng(0), labels=7).numpy()
        image_grid(sevens, out / "sevens.png", suptitle="asked for a 7")
    if args.judge:
        classifier, _ = load_model(args.judge)
        labels = np.arange(args.n_eval) % 10 if gan.conditional else None
        fake = gan.sample(args.n_eval, rng=np.random.default_rng(1), labels=labels).numpy()
        result["evaluation"] = generative.evaluate_samples(classifier, xt[:args.n_eval], fake,
                                                           labels=labels)
        ev = result["evaluation"]
        generative.class_histogram(ev["class_histogram"], out / "class_histogram.png")
        print(f"LeNet Frechet distance {ev['lenet_frechet_distance']:.2f}, confidence "
              f"{ev['confidence']:.3f}, class histogram {ev['class_histogram']}")
    print(f"trained in {seconds:.1f} s; figures in {out} (samples/, progress.png, losses.png)")
    return result


if __name__ == "__main__":
    main()
