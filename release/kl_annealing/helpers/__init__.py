"""The student kit: the code the VAE course notebooks import, shipped in every release folder.

The notebooks hold the exercises; this package holds what they reuse. Nothing in it may
answer a graded question (``tests/test_release.py`` checks every shipped file, and the
catalogue's cheat family checks that calling any of it earns no points); the grader's
reference answers live in the grader-only package ``grading/``.

- :mod:`helpers.device`   -- choosing cuda, then mps, then cpu;
- :mod:`helpers.data`     -- MNIST / Fashion-MNIST through torchvision, with an offline fallback;
- :mod:`helpers.batches`  -- a fast in-memory batch iterator;
- :mod:`helpers.budget`   -- the small training budget used while nbgrader grades;
- :mod:`helpers.plotting` -- image grids as arrays, and figures built from them;
- :mod:`helpers.progress` -- a live loss plot and a progress line for training loops;
- :mod:`helpers.checks`   -- utilities for the notebooks' test cells;
- :mod:`helpers.pdf`      -- the PDF print for submission, and :mod:`helpers.notebook_format`,
  which brings notebooks saved by Colab, VS Code or older Jupyter to nbformat 4.5 first;
- :mod:`helpers.annealing_checks`, :mod:`helpers.fashion_checks` -- stand-ins and stubs for
  the tests of the ``kl_annealing`` and ``fashion_vae`` notebooks (each shipped only with its
  own assignment).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# The names a notebook uses as ``helpers.X``, and the module each comes from. They are
# imported on first use (PEP 562), so that ``import helpers.environment`` or
# ``python -m helpers.check_notebook`` does not import torch (seconds) first.
_EXPORTS = {
    "BatchIterator": "batches",
    "Dataset": "data",
    "choose_device": "device",
    "grading_mode": "budget",
    "load_fashion_mnist": "data",
    "load_mnist": "data",
    "scaled": "budget",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for editors and type checkers; also how the release finds the kit's modules
    from .batches import BatchIterator
    from .budget import grading_mode, scaled
    from .data import Dataset, load_fashion_mnist, load_mnist
    from .device import choose_device


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
