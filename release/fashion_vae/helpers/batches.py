"""A fast in-memory batch iterator (no DataLoader workers, no per-image transforms)."""
from __future__ import annotations

from typing import Iterator

import torch


class BatchIterator:
    """Iterate over ``(x, y)`` mini-batches of tensors held in memory.

    The whole dataset is moved to ``device`` once, so a training step costs one index
    operation instead of a DataLoader round trip. Each pass over the data is shuffled
    with its own ``torch.Generator`` (seeded by ``seed``), so runs are repeatable and do
    not disturb the global random state. It can be iterated any number of times, and
    ``len()`` gives the number of batches, like a DataLoader.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64,
                 shuffle: bool = True, device: torch.device | str | None = None,
                 seed: int = 0) -> None:
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} items but y has {len(y)}; they must match.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
        self.x = x.to(device) if device is not None else x
        self.y = y.to(device) if device is not None else y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        if self.shuffle:
            order = torch.randperm(n, generator=self._generator).to(self.x.device)
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                yield self.x[idx], self.y[idx]
        else:
            for start in range(0, n, self.batch_size):
                yield self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]

    @property
    def dataset_size(self) -> int:
        """Number of items (images) in one pass."""
        return len(self.x)
