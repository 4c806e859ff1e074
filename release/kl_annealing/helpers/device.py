"""Device choice: the first of cuda, mps and cpu that works here."""
from __future__ import annotations

import torch


def choose_device(prefer: str | None = None) -> torch.device:
    """Return ``cuda`` when a GPU is usable, else ``mps`` (Apple silicon), else ``cpu``.

    ``prefer`` forces a device ("cpu", "cuda", "cuda:1", "mps"); an unavailable one raises
    a ValueError that says which devices this machine has.
    """
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"Device {prefer!r} was asked for, but this machine has no CUDA GPU; "
                             f"use choose_device() or 'cpu'.")
        if device.type == "mps" and not _mps_available():
            raise ValueError(f"Device {prefer!r} was asked for, but MPS is not available here; "
                             f"use choose_device() or 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
