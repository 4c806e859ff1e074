"""Reference pieces and stand-ins for the test cells of the KL-annealing notebook.

The notebook's MLP VAE follows the lab's interface: ``VAE(encoder, decoder, device)`` with
``forward(x) -> (x_hat, mu, log_var)``, ``encode(x) -> mu`` and ``reconstruct(z) -> x_hat``
on flattened images ``(batch, 784)``. The tests swap these stand-ins in for the student's
pieces, so that a mistake in one question costs points in that question only:

- :func:`monte_carlo_kl` estimates ``KL(q || p)`` of two normals by sampling, with its
  standard error;
- :class:`ReferenceKLDivergence` is the KL loss to N(0, I) (sum over latent dimensions, mean
  over the batch);
- :class:`TinyMLPVAE` is a small VAE with the lab's interface, optionally deterministic;
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


def reference_kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL from ``N(mu, exp(log_var))`` to N(0, I): summed over dim 1, averaged over the batch."""
    return (-0.5 * (1 + log_var - mu ** 2 - log_var.exp())).sum(dim=1).mean()


class ReferenceKLDivergence:
    """Drop-in replacement for the notebook's ``KLDivergence`` class."""

    def __call__(self, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        return reference_kl_divergence(mu, log_var)


class _MLPEncoder(nn.Module):
    def __init__(self, latent_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 32), nn.LeakyReLU())
        self.mu = nn.Linear(32, latent_size)
        self.log_var = nn.Linear(32, latent_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x)
        return self.mu(h), self.log_var(h)


class TinyMLPVAE(nn.Module):
    """A small MLP VAE with the lab's interface, so loop tests do not use the student's model.

    With ``deterministic=True`` the noise ``eps`` is zero, so ``forward`` decodes the mean
    and every loss it produces can be recomputed exactly by the test.
    """

    def __init__(self, latent_size: int = 2, device: torch.device | str = "cpu",
                 deterministic: bool = False, seed: int = 0) -> None:
        super().__init__()
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.encoder = _MLPEncoder(latent_size)
        self.decoder = nn.Sequential(nn.Linear(latent_size, 32), nn.LeakyReLU(),
                                     nn.Linear(32, 784), nn.Sigmoid())
        torch.random.set_rng_state(state)
        self.deterministic = deterministic
        self.to(device)
        self.device = next(self.parameters()).device  # e.g. cuda:0 for "cuda"

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if x.device != self.device:
            raise RuntimeError(f"The batch is on {x.device} but the model is on {self.device}: "
                               f"move it with .to(vae.device).")
        if x.dim() != 2 or x.shape[1] != 784:
            raise RuntimeError(f"The model takes flattened images of shape (batch, 784), got "
                               f"{tuple(x.shape)}: use x.view(x.shape[0], -1).")
        return x

    def sample_eps(self, sample_shape: tuple) -> torch.Tensor:
        if self.deterministic:
            return torch.zeros(sample_shape, device=self.device)
        return torch.randn(sample_shape, device=self.device)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, log_var = self.encoder(self._check(x))
        z = mu + self.sample_eps(mu.shape) * torch.exp(0.5 * log_var)
        return self.decoder(z), mu, log_var

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.encoder(self._check(x))[0]

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
