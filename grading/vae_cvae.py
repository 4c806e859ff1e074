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



def mislabelled_ticks(fig, n: int = 31, low: float = -2.0, high: float = 2.0, size: int = 28) -> list[str]:
    """The tick labels of a latent-grid figure that do not name the z value at their place.

    The figure shows ``n x n`` decoded images of ``size`` pixels, column ``j`` decoded from
    ``z[0] = linspace(low, high, n)[j]`` and row ``i`` from ``z[1]`` counted down from
    ``high`` (as ``plot_latent`` draws it). Each numeric tick label shown on the image's
    axes is read as a z value and compared with the z of the column (row) under the tick,
    whatever the image's ``extent``. Invariant: a label is right when it is within half a
    grid step (the tick may sit anywhere in its cell or on a cell's edge) plus 0.05 (labels
    rounded to one decimal) of that z; labels that are no number are not judged, and axes
    without ticks claim nothing. Neither do matplotlib's own labels of an image drawn in
    pixel coordinates (no ``extent``, no ``plt.xticks``): they count pixels, not z, so a grid
    shown without z labels is not wrong. Returns one sentence per wrong label (empty: all
    right).
    """
    from matplotlib.ticker import ScalarFormatter

    axes = [a for a in fig.axes if a.images]
    if not axes:
        return []
    ax = axes[0]
    if not ax.axison:  # axes switched off show no labels
        return []
    image = ax.images[0]
    left, right, bottom, top = image.get_extent()
    rows, cols = image.get_array().shape[:2]
    step = (high - low) / (n - 1)
    tolerance = step / 2 + 0.05 + 1e-9
    wrong = []
    for axis, name, (a, b), pixels, upwards in ((ax.xaxis, "z[0]", (left, right), cols, False),
                                               (ax.yaxis, "z[1]", (top, bottom), rows, True)):
        if not axis.get_visible():
            continue
        if isinstance(axis.get_major_formatter(), ScalarFormatter) and \
                sorted((a, b)) == [-0.5, pixels - 0.5]:
            continue  # matplotlib's pixel numbers: no claim about z
        lo, hi = sorted(axis.get_view_interval())
        locs = list(axis.get_majorticklocs())
        texts = axis.get_major_formatter().format_ticks(locs)
        for loc, text in zip(locs, texts):
            try:
                value = float(str(text).replace("\u2212", "-").strip("$ "))
            except ValueError:
                continue
            if not lo <= loc <= hi:
                continue
            pixel = (loc - a) / (b - a) * pixels - 0.5  # pixel k's centre is at k
            cell = (pixel - (size - 1) / 2) / size
            z = min(max(high - step * cell if upwards else low + step * cell, low), high)
            if abs(value - z) > tolerance:
                wrong.append(f"the {name} axis has a tick labelled {text} where the images are decoded "
                             f"from {name} = {z:.2f}")
    return wrong
