"""``ImageFolder`` and ``DatasetFolder``: a dataset from files sorted into one folder per class,
as torchvision's (``root/dog/xxx.png``, ``root/cat/123.jpg``...)."""

from __future__ import annotations

import os

from ..data.dataset import Dataset

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "default_loader", "find_classes",
           "has_file_allowed_extension", "make_dataset", "pil_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions) -> bool:
    """Whether ``filename`` ends with one of ``extensions`` (case-insensitive)."""
    extensions = (extensions,) if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(tuple(e.lower() for e in extensions))


def find_classes(directory) -> tuple[list[str], dict[str, int]]:
    """The sub-folder names of ``directory`` (sorted) and their indices."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"find_classes: {directory} is not a folder")
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """``(path, class index)`` of every accepted file under each class folder, in sorted order
    (sub-folders included)."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:  # else no sample and no error (torchvision's ValueError)
        raise ValueError("make_dataset: class_to_idx must have at least one entry to collect any "
                         "samples")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("make_dataset: pass exactly one of extensions and is_valid_file")
    if is_valid_file is None:
        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)
    samples, found = [], set()
    for name in sorted(class_to_idx):
        index = class_to_idx[name]
        folder = os.path.join(directory, name)
        if not os.path.isdir(folder):
            continue
        for root, _, names in sorted(os.walk(folder, followlinks=True)):
            for fname in sorted(names):
                path = os.path.join(root, fname)
                if is_valid_file(path):
                    samples.append((path, index))
                    found.add(name)
    empty = sorted(set(class_to_idx) - found)
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(empty)}. "
        if extensions is not None:
            shown = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {shown}"
        raise FileNotFoundError(message)
    return samples


def pil_loader(path):
    """The image at ``path`` as an RGB PIL image (needs Pillow)."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError('ImageFolder: reading image files needs Pillow: pip install '
                          '"chainrule[viz]" (or pass loader= to DatasetFolder)') from e
    with open(path, "rb") as f:
        try:
            return Image.open(f).convert("RGB")
        except OSError as e:  # a truncated file's "image file is truncated" named no file
            raise type(e)(f"pil_loader: cannot read the image file {os.fspath(path)!r}: "
                          f"{e}") from e


default_loader = pil_loader


class DatasetFolder(Dataset):
    """Samples ``loader(path)`` of the files under ``root/<class>/``, with the class index.

    Args:
        root: the folder holding one sub-folder per class.
        loader: reads one file (``path -> sample``).
        extensions: the accepted file endings (or pass ``is_valid_file``).
        transform, target_transform: applied to each sample and each class index.
        is_valid_file: ``path -> bool``, instead of ``extensions``.
        allow_empty: accept class folders without a valid file.

    Attributes:
        classes, class_to_idx, samples (``(path, index)`` pairs), targets (the indices).
    """

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty: bool = False):
        for name, fn in (("loader", loader), ("transform", transform),
                         ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{type(self).__name__}: {name} must be callable, got "
                                f"{type(fn).__name__}")
        self.root = os.path.expanduser(os.fspath(root))
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, self.class_to_idx, extensions, is_valid_file,
                                         allow_empty)
        self.loader, self.extensions = loader, extensions
        self.transform, self.target_transform = transform, target_transform
        self.targets = [index for _, index in self.samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None,
                     allow_empty: bool = False):
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory):
        return find_classes(directory)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target


class ImageFolder(DatasetFolder):
    """Images (RGB PIL images, read with Pillow) under ``root/<class>/``, as torchvision's
    ``ImageFolder(root, transform=None, target_transform=None, loader=default_loader,
    is_valid_file=None, allow_empty=False)``; ``imgs`` is ``samples``."""

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader,
                 is_valid_file=None, allow_empty: bool = False):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
