"""Progress for training loops: a live loss plot and a one-line progress report.

:class:`LossPlot` plays the role of d2l's ``Animator`` (same ``add(x, ys)`` call), and
:class:`ProgressLine` reports epoch, loss and images per second. In JupyterLab both update
in place; under nbclient/nbconvert (grading, PDF export) the updates collapse into the
final figure and line, and nothing is written to stderr. Outside IPython they print.
"""
from __future__ import annotations

import time
from typing import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _display():
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    return display if get_ipython() is not None else None


class LossPlot:
    """A live line plot of training curves: ``plot.add(epoch, (loss_a, loss_b, ...))``."""

    def __init__(self, legend: Sequence[str], xlabel: str = "epoch",
                 ylabel: str = "loss per image (nats)", title: str = "Training curves",
                 xlim: tuple[float, float] | None = None, logy: bool = False,
                 figsize: tuple[float, float] = (7.0, 4.0)) -> None:
        self.legend = list(legend)
        self.xs: list[float] = []
        self.ys: list[list[float]] = [[] for _ in self.legend]
        # A bare Figure (not pyplot), so the inline backend does not show it a second time.
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.axes = self.figure.add_subplot()
        self._labels = (xlabel, ylabel, title, xlim, logy)
        self._display = _display()
        self._handle = None

    def add(self, x: float, ys: Sequence[float]) -> None:
        """Append one point per curve and redraw."""
        if len(ys) != len(self.legend):
            raise ValueError(f"add() got {len(ys)} values for {len(self.legend)} curves "
                             f"({', '.join(self.legend)}).")
        self.xs.append(float(x))
        for series, y in zip(self.ys, ys):
            series.append(float(y))
        self._draw()

    def _draw(self) -> None:
        xlabel, ylabel, title, xlim, logy = self._labels
        ax = self.axes
        ax.clear()
        for label, series in zip(self.legend, self.ys):
            style = "--" if label.startswith("test") else "-"
            ax.plot(self.xs, series, style, marker="o", markersize=3, label=label)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # epochs: 1, 2, 3, not 1.5
        if xlim is not None:
            # A margin, so that the first and last points are not cut by the frame.
            pad = 0.03 * (xlim[1] - xlim[0]) if xlim[1] > xlim[0] else 0.5
            ax.set_xlim(xlim[0] - pad, xlim[1] + pad)
        if logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", ncol=2)
        if self._display is None:
            return
        if self._handle is None:
            self._handle = self._display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)


class ProgressLine:
    """``epoch 3/10 | batch 120/125 | loss 161.2 | 9,800 img/s``, updated in place."""

    def __init__(self, num_epochs: int, batches_per_epoch: int, every: int = 25) -> None:
        self.num_epochs = num_epochs
        self.batches_per_epoch = batches_per_epoch
        self.every = every
        self._display = _display()
        self._handle = None
        self._start = time.perf_counter()
        self._images = 0
        self._epoch = None
        self._batch = 0
        self._status = ""
        self.text = ""

    def step(self, epoch: int, loss: float, batch_size: int) -> None:
        """Call once per batch; redraws every ``every`` batches and at an epoch's end."""
        if epoch != self._epoch:
            self._epoch, self._batch = epoch, 0
        self._batch += 1
        self._images += batch_size
        if self._batch % self.every and self._batch != self.batches_per_epoch:
            return
        rate = self._images / max(time.perf_counter() - self._start, 1e-9)
        self._status = (f"epoch {epoch}/{self.num_epochs} | batch {self._batch}/"
                        f"{self.batches_per_epoch} | loss {loss:.1f} | {rate:,.0f} img/s")
        self._show(self._status)

    def done(self, message: str) -> None:
        """Replace the line with a final message followed by the last epoch, loss and speed
        (printed outside Jupyter)."""
        elapsed = time.perf_counter() - self._start
        summary = f"{message} in {elapsed:.1f} s"
        self._show(f"{summary} | {self._status}" if self._status else summary, final=True)

    def _show(self, text: str, final: bool = False) -> None:
        self.text = text
        if self._display is None:
            if final:
                print(text)
            return
        from IPython.display import Pretty
        if self._handle is None:
            self._handle = self._display(Pretty(text), display_id=True)
        else:
            self._handle.update(Pretty(text))
