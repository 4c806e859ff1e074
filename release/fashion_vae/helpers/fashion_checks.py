"""Stand-ins with known answers for the test cells of the Fashion-MNIST VAE notebook.

That notebook keeps the problem set's interface: ``Encoder``/``Decoder``/``VAE(c1, c2, lat, k)``,
where a VAE has ``encoder``, ``decoder``, ``r_loss(x, y)``, ``kl_loss(mu, sigma)``,
``gaussian(mu, sigma)``, ``forward(x)`` (which stores ``self.loss``) and ``backward()``.
The pieces here replace everything around the code under test, so that each test cell
judges one question only:

- :func:`method_host`, :func:`bare_instance`, :func:`named_layer`, :func:`layers_of` -- reach
  into a student's class;
- :class:`RecordingPart` -- stands in for ``Encoder``/``Decoder`` and records its arguments;
- :class:`StubEncoder`, :class:`StubDecoder`, :class:`ShiftBySigma`, :func:`weighted_squared_error`,
  :func:`quadratic_penalty` -- the pieces around ``VAE.forward``, with known values; none of
  them is a sampler, the binary cross-entropy or the KL divergence;
- :class:`StandInSeedVAE` -- a small model with the seed's interface that decodes the mean,
  for ``train_vae``;
- :class:`StubEmbedder` -- a "trained VAE" whose embeddings are known exactly;
- :func:`with_variances` -- embeddings whose per-dimension sample variances are exact;
- :class:`RecordingDecoder` -- a decoder whose images say which latent vector made them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

IMAGE_SIZE = 28

# ---------------------------------------------------------------- reaching into student classes


def bare_instance(cls: type) -> nn.Module:
    """An instance of the ``nn.Module`` subclass ``cls`` whose own ``__init__`` did not run.

    Methods that do not use the layers (``r_loss``, ``kl_loss``, ``gaussian``) can then be
    tested even when the constructor is unfinished, and other methods can be tested with
    stand-in attributes.
    """
    module = cls.__new__(cls)
    nn.Module.__init__(module)
    return module


def method_host(cls: type, *args) -> nn.Module:
    """An instance of ``cls`` on which to call the methods under test: ``cls(*args)`` when
    the constructor works (so methods may use what it sets up), else :func:`bare_instance`."""
    try:
        return cls(*args)
    except Exception:
        return bare_instance(cls)


def named_layer(module: nn.Module, name: str, kind: type, owner: str) -> nn.Module:
    """``module.<name>``, which must be a ``kind`` layer; otherwise a clear AssertionError."""
    layer = getattr(module, name, None)
    if not isinstance(layer, kind):
        raise AssertionError(f"{owner} should have a layer called self.{name}, an "
                             f"nn.{kind.__name__} (the problem set's name for it).")
    return layer


def layers_of(module: nn.Module, kind: type, count: int, owner: str) -> list[nn.Module]:
    """The ``count`` layers of type ``kind`` inside ``module``; otherwise an AssertionError."""
    found = [m for m in module.modules() if isinstance(m, kind)]
    if len(found) != count:
        raise AssertionError(f"{owner} should have {count} nn.{kind.__name__} layers, "
                             f"found {len(found)}.")
    return found


class RecordingPart(nn.Module):
    """Stands in for ``Encoder`` or ``Decoder`` while a ``VAE`` is constructed.

    It records the constructor's arguments in ``args`` as ``(c1, c2, lat, k)``.
    """

    def __init__(self, c1: int, c2: int, lat: int, k: int) -> None:
        super().__init__()
        self.args = (c1, c2, lat, k)


# ---------------------------------------------------------------- the pieces around VAE.forward


def weighted_squared_error(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Stands in for ``r_loss(x, y)``: the squared error of the output ``y`` against the
    ground truth ``x``, weighted by ``1 + x`` and summed (a 0-d tensor). Known and
    differentiable, and not symmetric, so swapped arguments show; not the binary
    cross-entropy."""
    return ((y - x) ** 2 * (1 + x)).sum()


def quadratic_penalty(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Stands in for ``kl_loss``: ``mean(mu**2 + (sigma - 1)**2)`` over all entries (a 0-d
    tensor). Known and differentiable, and not symmetric, so swapped arguments show; not the
    KL divergence."""
    return (mu ** 2 + (sigma - 1) ** 2).mean()


class ShiftBySigma:
    """Stands in for ``gaussian``: returns ``mu + sigma`` (its "noise" is always 1, so it
    is no sampler) and keeps every call's ``(mu, sigma, z)`` in ``calls``."""

    def __init__(self) -> None:
        self.calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def __call__(self, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        z = mu + sigma
        self.calls.append((mu, sigma, z))
        return z


def _check_device(t: torch.Tensor, anchor: torch.Tensor, name: str) -> None:
    if t.device != anchor.device:
        raise AssertionError(f"{name} is on {t.device} but the model is on {anchor.device}: "
                             f"move it with .to(device).")


class StubEncoder(nn.Module):
    """An encoder with a known answer: ``mu = scale * x[:, :lat]`` (the first ``lat`` pixels
    of each image) and ``sigma = exp(log_sigma)``, one per latent dimension. Both are
    parameters, so gradients can be checked; ``images`` counts the images encoded."""

    def __init__(self, lat: int, device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.lat = lat
        self.scale = nn.Parameter(torch.linspace(0.5, 2.0, lat, device=device))
        self.log_sigma = nn.Parameter(torch.linspace(-1.0, 0.5, lat, device=device))
        self.images = 0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_device(x, self.scale, "x")
        self.images += len(x)
        mu = self.scale * x.reshape(len(x), -1)[:, :self.lat].float()
        sigma = torch.exp(self.log_sigma).repeat(len(x), 1)
        return mu, sigma


class StubDecoder(nn.Module):
    """A decoder with a known answer, ``sigmoid(z W + b)`` as ``(b, 1, 28, 28)`` images;
    every ``z`` it receives is kept in ``inputs``."""

    def __init__(self, lat: int, device: torch.device | str = "cpu", seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        pixels = IMAGE_SIZE * IMAGE_SIZE
        self.lat = lat
        self.weight = nn.Parameter((0.5 * torch.randn(lat, pixels, generator=generator)).to(device))
        self.bias = nn.Parameter((0.1 * torch.randn(pixels, generator=generator)).to(device))
        self.inputs: list[torch.Tensor] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_device(z, self.weight, "z")
        self.inputs.append(z)
        h = z.reshape(-1, self.lat) @ self.weight + self.bias
        return torch.sigmoid(h).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)


# ---------------------------------------------------------------- a stand-in model for train_vae


class StandInSeedVAE(nn.Module):
    """A small model with the problem set's interface, to stand in for the student's ``VAE``
    while ``train_vae`` is judged.

    ``forward(x)`` decodes the encoder's mean (no noise), stores ``self.loss`` =
    :func:`weighted_squared_error` + :func:`quadratic_penalty` (summed over the batch: a known,
    differentiable loss that is not the ELBO) and records ``(loss, batch size)`` in
    ``losses``; ``backward()`` backpropagates it.
    """

    def __init__(self, lat: int = 2, seed: int = 0) -> None:
        super().__init__()
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        pixels = IMAGE_SIZE * IMAGE_SIZE
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 2 * lat))
        self.decoder = nn.Sequential(nn.Linear(lat, pixels), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, IMAGE_SIZE, IMAGE_SIZE)))
        torch.random.set_rng_state(state)
        self.loss: torch.Tensor | None = None
        self.losses: list[tuple[float, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, log_sigma = self.encoder(x).chunk(2, dim=1)
        y = self.decoder(mu)
        self.loss = weighted_squared_error(x, y) + quadratic_penalty(mu, log_sigma.exp()) * len(x)
        self.losses.append((self.loss.item(), len(x)))
        return y

    def backward(self) -> None:
        self.loss.backward()


# ---------------------------------------------------------------- feature selection


class StubEmbedder(nn.Module):
    """Stands in for a trained VAE in ``embed(vae, images)``.

    ``encoder`` is a :class:`StubEncoder`; ``gaussian(mu, sigma)`` returns ``mu + sigma / 2``
    (its "noise" is always 1/2, so a test can compute the embeddings from the encoder's
    parameters, and ``gaussian(sigma, mu)`` gives other values) and counts its calls in
    ``gaussian_calls``.
    """

    def __init__(self, lat: int, device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.encoder = StubEncoder(lat, device)
        self.gaussian_calls = 0

    def gaussian(self, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.gaussian_calls += 1
        return mu + sigma / 2


def with_variances(variances: Sequence[float], means: Sequence[float], n: int = 500,
                   seed: int = 0) -> torch.Tensor:
    """``n`` embeddings whose dimension ``j`` has sample mean ``means[j]`` and sample
    variance ``variances[j]`` exactly (up to float32 rounding)."""
    generator = torch.Generator().manual_seed(seed)
    r = torch.randn(n, len(variances), generator=generator, dtype=torch.float64)
    r = (r - r.mean(dim=0)) / r.std(dim=0)
    scale = torch.tensor(variances, dtype=torch.float64).sqrt()
    return (torch.tensor(means, dtype=torch.float64) + r * scale).float()


# ---------------------------------------------------------------- latent traversals


class RecordingDecoder(nn.Module):
    """Stands in for ``vae.decoder`` in the traversal questions.

    Every latent vector it decodes gets the next serial number (0, 1, 2, ...) and is kept
    in ``latents``; its image is 28x28 pixels all equal to that number. So a grid built
    from its images tells which latent vector was decoded into each cell
    (:meth:`cell_latents`). It accepts one vector ``(lat,)`` or a batch ``(b, lat)`` of
    float32 on its device, like the real decoder.
    """

    def __init__(self, lat: int, device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.lat = lat
        self.anchor = nn.Parameter(torch.zeros(1, device=device))
        self.latents: list[torch.Tensor] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise AssertionError(f"The decoder needs a tensor, got {type(z).__name__}: "
                                 f"use torch.tensor(..., dtype=torch.float32, device=device).")
        _check_device(z, self.anchor, "z")
        if z.dtype != torch.float32:
            raise AssertionError(f"z should hold float32 values like the decoder's weights, "
                                 f"got {z.dtype}: use dtype=torch.float32 (norm.ppf returns float64).")
        if z.shape[-1] != self.lat:
            raise AssertionError(f"Each latent vector should have lat = {self.lat} entries; "
                                 f"the decoder got a tensor of shape {tuple(z.shape)}.")
        batch = z.detach().reshape(-1, self.lat)
        start = len(self.latents)
        self.latents.extend(batch.cpu())
        ids = torch.arange(start, start + len(batch), dtype=torch.float32, device=self.anchor.device)
        images = ids[:, None, None, None].expand(len(batch), 1, IMAGE_SIZE, IMAGE_SIZE)
        return images + 0 * self.anchor

    def cell_latents(self, grid, rows: int, cols: int) -> torch.Tensor:
        """The latent vectors drawn in a ``rows x cols`` grid of this decoder's images,
        as a ``(rows, cols, lat)`` tensor; an AssertionError if the grid is malformed."""
        if isinstance(grid, torch.Tensor):
            grid = grid.detach().cpu().numpy()
        grid = np.asarray(grid, dtype=np.float64)
        if grid.ndim != 2:
            grid = grid.squeeze()
        expected = (rows * IMAGE_SIZE, cols * IMAGE_SIZE)
        if grid.shape != expected:
            raise AssertionError(f"The grid should be an array of {rows} x {cols} images, shape "
                                 f"{expected}, got {grid.shape}.")
        cells = []
        for i in range(rows):
            for j in range(cols):
                block = grid[i * IMAGE_SIZE:(i + 1) * IMAGE_SIZE, j * IMAGE_SIZE:(j + 1) * IMAGE_SIZE]
                serial = int(round(block[0, 0]))
                if not (np.allclose(block, block[0, 0]) and 0 <= serial < len(self.latents)
                        and abs(block[0, 0] - serial) < 1e-6):
                    raise AssertionError(f"The image in row {i}, column {j} of the grid is not "
                                         f"one image from the decoder: put the decoder's "
                                         f"images into the grid unchanged (image_grid).")
                cells.append(self.latents[serial])
        return torch.stack(cells).reshape(rows, cols, self.lat)
