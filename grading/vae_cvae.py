"""Reference pieces for the hidden tests of ``vae_cvae`` (seed 000, 10.2-10.6).

- :func:`reference_vae_loss` -- the negative ELBO per image (answers 10.3a);
- :class:`TinyVAE` -- a small MLP (C)VAE with the course's interface and a correct
  reparameterisation (answers 10.2a), so that loop tests judge only the loop.
"""
from __future__ import annotations

import torch
from torch import nn

from helpers.checks import one_hot_checked, test_seed


def reference_vae_loss(recon_x, x, mean_z, logvar_z):
    """Negative ELBO per image: ``(loss, reconstruction, KL)``, each a 0-d tensor in nats
    per image.

    ``recon_x`` and ``x``: ``(batch, 1, 28, 28)`` in [0, 1]; ``mean_z`` and ``logvar_z``:
    ``(batch, latent)``. The reconstruction term is the binary cross-entropy summed over the
    pixels; the KL to N(0, I) is summed over the latent dimensions (Kingma and Welling 2014,
    appendix B, through ``torch.distributions``); both are averaged over the batch.
    """
    from torch.distributions import Normal, kl_divergence
    recon = nn.functional.binary_cross_entropy(recon_x, x, reduction="sum") / len(x)
    q = Normal(mean_z, torch.exp(0.5 * logvar_z))
    p = Normal(torch.zeros_like(mean_z), torch.ones_like(mean_z))
    kl = kl_divergence(q, p).sum(dim=-1).mean()
    return recon + kl, recon, kl


class TinyVAE(nn.Module):
    """A small MLP VAE with the course's interface (``encode``, ``sample_latent``,
    ``decode``, ``forward``); with ``num_classes`` > 0 a conditional VAE whose ``encode`` and
    ``decode`` take one-hot labels ``(batch, num_classes)``. Built from its own seed
    (``test_seed()`` by default), leaving torch's global generator as it was."""

    def __init__(self, latent_size: int = 2, num_classes: int = 0, seed: int | None = None,
                 deterministic: bool = False) -> None:
        super().__init__()
        self.deterministic = deterministic  # decode the mean: log-variance reaches only the KL
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(test_seed() if seed is None else seed)
        self.latent_size, self.num_classes = latent_size, num_classes
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(784 + num_classes, 64), nn.ReLU())
        self.mean = nn.Linear(64, latent_size)
        self.logvar = nn.Linear(64, latent_size)
        self.out = nn.Sequential(nn.Linear(latent_size + num_classes, 64), nn.ReLU(),
                                 nn.Linear(64, 784))
        torch.random.set_rng_state(generator_state)

    def _hidden(self, x, y=None):
        h = x.reshape(len(x), -1)
        if self.num_classes:
            h = torch.cat([h, one_hot_checked(y, self.num_classes, len(x))], dim=1)
        return self.hidden(h)

    def encode(self, x, *y):
        h = self._hidden(x, *y)
        return self.mean(h), self.logvar(h)

    def sample_latent(self, mean_z, logvar_z):
        if self.deterministic:
            return mean_z
        return torch.distributions.Normal(mean_z, torch.exp(0.5 * logvar_z)).rsample()

    def decode(self, z, *y):
        z = z.reshape(-1, self.latent_size)
        if self.num_classes:
            z = torch.cat([z, one_hot_checked(y[0], self.num_classes, len(z))], dim=1)
        return torch.sigmoid(self.out(z)).reshape(-1, 1, 28, 28)

    def forward(self, x, *y):
        mean_z, logvar_z = self.encode(x, *y)
        return self.decode(self.sample_latent(mean_z, logvar_z), *y), mean_z, logvar_z

