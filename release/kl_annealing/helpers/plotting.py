"""Image grids as plain arrays (so tests can inspect them), and figures built from them."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def to_image(x: torch.Tensor | np.ndarray, size: int = 28) -> np.ndarray:
    """One image as a ``(size, size)`` float array on the CPU, whatever its batch dims."""
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.size != size * size:
        raise ValueError(f"Expected one {size}x{size} image ({size * size} values), "
                         f"got an array of shape {x.shape}.")
    return x.reshape(size, size)


def image_grid(images: Sequence | torch.Tensor | np.ndarray, ncols: int,
               size: int = 28) -> np.ndarray:
    """Tile images (any shape holding ``size*size`` values each) row by row into one array."""
    images = list(images)
    if not images:
        raise ValueError("image_grid() needs at least one image.")
    nrows = (len(images) + ncols - 1) // ncols
    grid = np.zeros((nrows * size, ncols * size), dtype=np.float32)
    for k, image in enumerate(images):
        r, c = divmod(k, ncols)
        grid[r * size:(r + 1) * size, c * size:(c + 1) * size] = to_image(image, size)
    return grid


def show_grid(grid: np.ndarray, title: str, figsize: float = 8.0, xlabel: str | None = None,
              ylabel: str | None = None, ax=None):
    """Show a grid array in grey levels with a title; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt
    if ax is None:
        height, width = grid.shape
        _, ax = plt.subplots(figsize=(figsize, figsize * height / width + 0.6))
    ax.imshow(grid, cmap="Greys_r", vmin=0.0, vmax=1.0)
    ax.set_title(title)
    if xlabel or ylabel:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(xlabel or "")
        ax.set_ylabel(ylabel or "")
    else:
        ax.axis("off")
    return ax
