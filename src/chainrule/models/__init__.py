"""The lecture's models, each citing its source, and the registry the CLI and checkpoints use."""

from .autoencoder import Autoencoder, ConvAutoencoder, TiedLinear
from .charcnn import CharCNN
from .gan import (
    DCGAN,
    GAN,
    MLPGAN,
    ConditionalGAN,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)
from .lenet import LeNet5, SmallCNN
from .madry import MadryCNN
from .mlp import MLP
from .ngram import FastText, NGramLogistic
from .perceptron import Perceptron
from .registry import ModelInfo, available, build, build_from_config, config_of, register
from .textattn import CharTransformer
from .textrnn import CharLM, TextRNN
from .wong import WongCNN

__all__ = [
    "CharCNN",
    "CharLM",
    "CharTransformer",
    "TextRNN",
    "Autoencoder",
    "ConditionalGAN",
    "ConvAutoencoder",
    "DCGAN",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "GAN",
    "MLPDiscriminator",
    "MLPGAN",
    "MLPGenerator",
    "TiedLinear",
    "MLP",
    "FastText",
    "NGramLogistic",
    "LeNet5",
    "MadryCNN",
    "ModelInfo",
    "Perceptron",
    "SmallCNN",
    "available",
    "build",
    "build_from_config",
    "config_of",
    "register",
    "WongCNN",
]
