"""Reference pieces for the hidden tests of ``kl_annealing`` (seed 003, 11.x).

- :func:`reference_kl_divergence`, :class:`ReferenceKLDivergence` -- the KL to N(0, I) per
  image (answers 11.2b);
- :class:`TinyMLPVAE` -- a small VAE with the lab's interface and a correct
  reparameterisation (answers 11.2a), so that loop tests judge only the loop.
"""
from __future__ import annotations

import torch
from torch import nn

from helpers.annealing_checks import flat_batch


def reference_kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL from ``N(mu, exp(log_var))`` to N(0, I), nats per image: summed over dim 1 (the
    latent dimensions), averaged over dim 0 (the batch). ``mu``, ``log_var``:
    ``(batch, latent)``; returns a 0-d tensor (Kingma and Welling 2014, appendix B)."""
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
    """A small MLP VAE with the lab's interface (``forward(x) -> (x_hat, mu, log_var)`` on
    ``(batch, 784)``, ``encode``, ``reconstruct``, ``device``).

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
        return flat_batch(x, self.device)

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
