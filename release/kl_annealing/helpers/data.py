"""MNIST and Fashion-MNIST through torchvision, with a documented offline fallback.

Loading follows the normal torchvision path: the dataset is read from the data root
(``$VAE_DATA``, default ``data/``) and downloaded there when it is missing. When the
download fails (no network), the folders listed in ``$VAE_DATA_FALLBACK`` (separated by
``os.pathsep``) are tried; each must hold torchvision's layout, ``MNIST/raw/*-ubyte``.
Fashion-MNIST has no offline copy on the course machines, so offline it falls back to the
MNIST folders as a stand-in and says so loudly. Without any of these, loading stops with
one sentence saying what to do.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from .environment import DATA, DATA_FALLBACK

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass
class Dataset:
    """Images as float tensors ``(N, 1, 28, 28)`` in [0, 1] and integer labels ``(N,)``."""

    name: str
    origin: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]

    def describe(self) -> str:
        """One line naming the data actually loaded, for the notebook's output."""
        return (f"{self.name}: {len(self.train_x):,} training and {len(self.test_x):,} test "
                f"images ({self.origin})")


class DataUnavailableError(RuntimeError):
    """The dataset is neither on disk nor downloadable, and no fallback is configured."""


def data_root() -> Path:
    """The folder datasets are read from and downloaded to (``$VAE_DATA`` or ``data/``)."""
    return Path(os.environ.get(DATA, "data"))


def fallback_roots() -> list[Path]:
    """Offline copies to use when downloading fails (``$VAE_DATA_FALLBACK``)."""
    value = os.environ.get(DATA_FALLBACK, "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def load_mnist(root: str | Path | None = None, limit_train: int | None = None,
               limit_test: int | None = None) -> Dataset:
    """Load MNIST (downloading it to ``root`` if needed); see the module docstring."""
    from torchvision import datasets
    return _load(datasets.MNIST, "MNIST", MNIST_CLASSES, root, limit_train, limit_test,
                 stand_in=None)


def load_fashion_mnist(root: str | Path | None = None, limit_train: int | None = None,
                       limit_test: int | None = None) -> Dataset:
    """Load Fashion-MNIST; offline, MNIST digits from ``$VAE_DATA_FALLBACK`` stand in."""
    from torchvision import datasets
    return _load(datasets.FashionMNIST, "Fashion-MNIST", FASHION_CLASSES, root, limit_train,
                 limit_test, stand_in=datasets.MNIST)


def _load(cls, name, classes, root, limit_train, limit_test, stand_in) -> Dataset:
    root = Path(root) if root is not None else data_root()
    try:
        train, test = _torchvision_pair(cls, root, download=True)
        origin = f"from {root}"
    except Exception as error:  # no network, or a half-downloaded folder
        reason = _one_line(error)
        for fallback in fallback_roots():
            for candidate, label in ((cls, name), (stand_in, "MNIST")):
                if candidate is None:
                    continue
                try:
                    train, test = _torchvision_pair(candidate, fallback, download=False)
                except Exception:
                    continue
                if candidate is cls:
                    origin = f"offline copy at {fallback}; download failed: {reason}"
                    return _dataset(name, origin, train, test, classes, limit_train, limit_test)
                origin = (f"{name} could not be downloaded ({reason}), so MNIST digits from "
                          f"the offline copy at {fallback} stand in for it")
                return _dataset(f"MNIST digits standing in for {name}", origin, train, test,
                                MNIST_CLASSES, limit_train, limit_test)
        raise DataUnavailableError(
            f"{name} is not in '{root}' and could not be downloaded ({reason}). Connect to the "
            f"internet and re-run this cell, or copy torchvision's {name.replace('-', '')} "
            f"folder into '{root}', or set VAE_DATA_FALLBACK to a folder holding MNIST/raw."
        ) from None
    return _dataset(name, origin, train, test, classes, limit_train, limit_test)


def _torchvision_pair(cls, root: Path, download: bool):
    # torchvision prints each mirror it tries; keep that out of the notebook's output.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        train = cls(str(root), train=True, download=download)
        test = cls(str(root), train=False, download=download)
    return train, test


def _dataset(name, origin, train, test, classes, limit_train, limit_test) -> Dataset:
    def images(ds, limit):
        return (ds.data[:limit].float() / 255.0).unsqueeze(1)

    def labels(ds, limit):
        return torch.as_tensor(ds.targets[:limit], dtype=torch.long)

    return Dataset(name, origin, images(train, limit_train), labels(train, limit_train),
                   images(test, limit_test), labels(test, limit_test), classes)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    network = re.search(r"<urlopen error ([^>]*)>", text)
    if network:
        return f"network error: {network.group(1)}"
    return (text[:160] + ("..." if len(text) > 160 else "")) or type(error).__name__
