"""Stand-ins for the test cells of the KL-annealing notebook (answer-free).

The notebook's MLP VAE follows the lab's interface: ``VAE(encoder, decoder, device)`` with
``forward(x) -> (x_hat, mu, log_var)``, ``encode(x) -> mu`` and ``reconstruct(z) -> x_hat``
on flattened images ``(batch, 784)``. The tests swap these stand-ins in for the student's
pieces, so that a mistake in one question costs points in that question only:

- :func:`monte_carlo_kl` estimates ``KL(q || p)`` of two normals by sampling, with its
  standard error;
- :class:`QuadraticPenalty` stands in for ``KLDivergence`` with a known value that is not
  the KL;
- :class:`StandInMLPVAE` is a small model with the lab's interface that decodes the mean (no
  reparameterisation), so every loss it produces is exact;
- :class:`FixedPosterior` is an encoder whose mean and log-variance are known parameters;
- :class:`GridStubVAE` encodes an image to itself and reconstructs ``1 - z``;
- :func:`tiny_dataset` wraps a few images in a :class:`helpers.Dataset`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .data import MNIST_CLASSES, Dataset


def monte_carlo_kl(mu_q: float, sigma_q: float, mu_p: float, sigma_p: float, n: int,
                   seed: int) -> tuple[float, float]:
    """Estimate ``KL(q || p) = E_{x~q}[log q(x) - log p(x)]`` for ``q = N(mu_q, sigma_q**2)``
    and ``p = N(mu_p, sigma_p**2)`` from ``n`` draws of ``q`` (a fixed generator, float64).

    Returns ``(estimate, standard_error)``; the standard error is the sample standard
    deviation of the log-ratios divided by ``sqrt(n)``.
    """
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn(n, generator=generator, dtype=torch.float64)
    x = mu_q + sigma_q * eps

    def log_density(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
        return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)

    log_ratio = log_density(x, mu_q, sigma_q) - log_density(x, mu_p, sigma_p)
    return float(log_ratio.mean()), float(log_ratio.std() / math.sqrt(n))


def flat_batch(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` if it is a batch of flattened images ``(batch, 784)`` on ``device``; else a
    RuntimeError that says what to do (the lab's model takes flattened images)."""
    if x.device != device:
        raise RuntimeError(f"The batch is on {x.device} but the model is on {device}: "
                           f"move it with .to(vae.device).")
    if x.dim() != 2 or x.shape[1] != 784:
        raise RuntimeError(f"The model takes flattened images of shape (batch, 784), got "
                           f"{tuple(x.shape)}: use x.view(x.shape[0], -1).")
    return x


class QuadraticPenalty:
    """Drop-in for the notebook's ``KLDivergence`` while a loop is judged:
    ``0.5 * mean(mu**2 + log_var**2)`` over all entries, a 0-d tensor. Differentiable and
    predictable, but not the KL divergence."""

    def __call__(self, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        return 0.5 * (mu ** 2 + log_var ** 2).mean()


class StandInMLPVAE(nn.Module):
    """A small model with the lab's interface, to stand in for the student's ``VAE`` in loop
    tests: ``forward(x) -> (x_hat, mu, log_var)`` on ``(batch, 784)``, ``encode``,
    ``reconstruct`` and ``device``, with clear errors for a batch on the wrong device or
    not flattened.

    ``forward`` decodes the mean itself (no noise), so every loss computed from its outputs
    can be recomputed exactly by a test. Built from ``seed``, leaving torch's global
    generator as it was.
    """

    def __init__(self, latent_size: int = 2, device: torch.device | str = "cpu", seed: int = 0) -> None:
        super().__init__()
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.hidden = nn.Sequential(nn.Linear(784, 32), nn.Tanh())
        self.heads = nn.Linear(32, 2 * latent_size)
        self.decoder = nn.Sequential(nn.Linear(latent_size, 784), nn.Sigmoid())
        torch.random.set_rng_state(state)
        self.to(device)
        self.device = next(self.parameters()).device  # e.g. cuda:0 for "cuda"

    def encoder(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_var = self.heads(self.hidden(flat_batch(x, self.device))).chunk(2, dim=1)
        return mu, log_var

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, log_var = self.encoder(x)
        return self.decoder(mu), mu, log_var

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.encoder(x)[0]

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.decoder(z)


class FixedPosterior(nn.Module):
    """An encoder that ignores its input and returns the parameters ``mu`` and ``log_var``
    (one row per latent dimension's value), repeated for every image of the batch."""

    def __init__(self, mu: torch.Tensor, log_var: torch.Tensor) -> None:
        super().__init__()
        self.mu = nn.Parameter(mu.detach().clone().float())
        self.log_var = nn.Parameter(log_var.detach().clone().float())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[0]
        return self.mu.expand(n, -1), self.log_var.expand(n, -1)


class GridStubVAE(nn.Module):
    """A stand-in whose answers are known: ``encode(x)`` is ``x`` itself (a 784-dimensional
    "latent code"), ``reconstruct(z)`` is ``1 - z``; ``forward`` adds noise to the code.

    It counts the images it encodes and raises a clear error for a batch on the wrong device
    or not flattened to ``(batch, 784)``.
    """

    def __init__(self, device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1, device=device))
        self.device = self.anchor.device
        self.encoded = 0
        self.reconstructed = 0
        self.forward_calls = 0

    def _check(self, x: torch.Tensor, name: str) -> torch.Tensor:
        x = torch.as_tensor(x)
        if x.device != self.device:
            raise RuntimeError(f"{name} is on {x.device} but the model is on {self.device}: "
                               f"move it with .to(vae.device).")
        if x.dim() != 2 or x.shape[1] != 784:
            raise RuntimeError(f"{name} should have shape (batch, 784), got {tuple(x.shape)}: "
                               f"flatten the images with x.view(x.shape[0], -1).")
        return x.float()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check(x, "The batch of images")
        self.encoded += len(x)
        return x.clone()

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        z = self._check(z, "The latent batch z")
        self.reconstructed += len(z)
        return 1 - z

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self._check(x, "The batch of images")
        self.forward_calls += 1
        mu, log_var = x.clone(), torch.zeros_like(x)
        return (1 - (mu + torch.randn_like(mu))).clamp(0, 1) + 0 * self.anchor, mu, log_var


def tiny_dataset(n: int, seed: int = 0, binary: bool = True) -> Dataset:
    """``n`` 28x28 training images (and 10 test images) as a :class:`helpers.Dataset`.

    ``binary=True``: copies of 4 random black-and-white patterns, so a model can learn them
    within a few steps; ``binary=False``: independent uniform grey levels.
    """
    generator = torch.Generator().manual_seed(seed)
    if binary:
        patterns = torch.rand(4, 1, 28, 28, generator=generator).round()
        x = patterns[torch.randint(0, 4, (n + 10,), generator=generator)]
    else:
        x = torch.rand(n + 10, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (n + 10,), generator=generator)
    return Dataset("random test images", f"generated with seed {seed}", x[:n], y[:n],
                   x[n:], y[n:], MNIST_CLASSES)
