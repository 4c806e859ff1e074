"""Reference pieces for the hidden tests of ``fashion_vae`` (seed 004).

- :func:`reference_r_loss`, :func:`reference_kl_loss` -- the two loss terms, summed over the
  batch (answer ``VAE.r_loss`` and ``VAE.kl_loss``);
- :class:`TinySeedVAE` -- a small working model with the problem set's interface and a
  correct reparameterisation (answers ``VAE.gaussian``), for the hidden test of ``train_vae``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

IMAGE_SIZE = 28


def reference_r_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the output ``y`` against the ground truth ``x``, summed over
    every pixel of the batch: a 0-d tensor in nats per batch."""
    return F.binary_cross_entropy(y, x, reduction="sum")


def reference_kl_loss(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)), summed over the latent dimensions and the batch: a
    0-d tensor in nats per batch (through ``torch.distributions.kl_divergence``)."""
    from torch.distributions import Normal, kl_divergence
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu), validate_args=False)
    return kl_divergence(Normal(mu, sigma, validate_args=False), prior).sum()


class _MLPEncoder(nn.Module):
    def __init__(self, lat: int, hidden: int) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(IMAGE_SIZE * IMAGE_SIZE, hidden), nn.ReLU())
        self.mean = nn.Linear(hidden, lat)
        self.std = nn.Linear(hidden, lat)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(x)
        return self.mean(h), torch.exp(self.std(h))


class TinySeedVAE(nn.Module):
    """A small MLP VAE with the problem set's interface, so that a test of the training
    loop does not depend on the student's ``VAE``.

    ``forward(x)`` stores ``self.loss`` (summed over the batch, nats) and records
    ``(loss, batch size)`` in ``losses``; :meth:`fixed_loss` gives a noise-free loss per
    image (decoding the means) to compare before and after training.
    """

    def __init__(self, lat: int = 2, hidden: int = 64, seed: int = 0) -> None:
        super().__init__()
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.encoder = _MLPEncoder(lat, hidden)
        self.decoder = nn.Sequential(nn.Linear(lat, hidden), nn.ReLU(),
                                     nn.Linear(hidden, IMAGE_SIZE * IMAGE_SIZE), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, IMAGE_SIZE, IMAGE_SIZE)))
        torch.random.set_rng_state(state)
        self.loss: torch.Tensor | None = None
        self.losses: list[tuple[float, int]] = []

    def r_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return reference_r_loss(x, y)

    def kl_loss(self, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return reference_kl_loss(mu, sigma)

    def gaussian(self, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return torch.distributions.Normal(mu, sigma, validate_args=False).rsample()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, sigma = self.encoder(x)
        y = self.decoder(self.gaussian(mu, sigma))
        self.loss = self.r_loss(x, y) + self.kl_loss(mu, sigma)
        self.losses.append((self.loss.item(), len(x)))
        return y

    def backward(self) -> None:
        self.loss.backward()

    @torch.no_grad()
    def fixed_loss(self, x: torch.Tensor) -> float:
        """The loss per image with ``z = mu`` (no noise): the same number every time."""
        mu, sigma = self.encoder(x)
        return float(self.r_loss(x, self.decoder(mu)) + self.kl_loss(mu, sigma)) / len(x)
