"""Unit tests of the helpers package the notebooks import."""
from __future__ import annotations

import contextlib
import io
import math
import os

import numpy as np
import pytest
import torch
from scipy.stats import chi2, norm

import helpers
from helpers import checks, data, plotting
from helpers.batches import BatchIterator
from helpers.progress import LossPlot, ProgressLine

SHARED = os.environ.get("VAE_DATA_FALLBACK", "")


def test_choose_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert helpers.choose_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(helpers.device, "_mps_available", lambda: True)
    assert helpers.choose_device().type == "mps"
    monkeypatch.setattr(helpers.device, "_mps_available", lambda: False)
    assert helpers.choose_device().type == "cpu"
    with pytest.raises(ValueError, match="no CUDA GPU"):
        helpers.choose_device("cuda")


def test_batch_iterator_covers_every_item_once_per_pass_and_reshuffles():
    x = torch.arange(10).float().reshape(10, 1)
    it = BatchIterator(x, torch.arange(10), batch_size=4, seed=1)
    assert len(it) == 3
    first = torch.cat([xb for xb, _ in it]).flatten().tolist()
    second = torch.cat([xb for xb, _ in it]).flatten().tolist()
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second, "each pass is shuffled anew"
    for xb, yb in it:
        assert torch.equal(xb.flatten().long(), yb), "images and labels stay paired"
    ordered = BatchIterator(x, torch.arange(10), batch_size=4, shuffle=False)
    assert [len(b[0]) for b in ordered] == [4, 4, 2]
    with pytest.raises(ValueError, match="must match"):
        BatchIterator(x, torch.arange(9))


def test_scaled_budget_follows_nbgrader_execution(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert helpers.scaled(10, 1) == 10 and not helpers.grading_mode()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert helpers.scaled(10, 1) == 1 and helpers.grading_mode()


@pytest.mark.skipif(not SHARED, reason="needs an offline MNIST copy in VAE_DATA_FALLBACK")
def test_mnist_offline_fallback_names_the_data(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA", str(tmp_path / "empty"))
    d = helpers.load_mnist(limit_train=100)
    assert d.train_x.shape == (100, 1, 28, 28) and d.train_x.dtype == torch.float32
    assert 0 <= d.train_x.min() and d.train_x.max() <= 1 and d.train_x.max() > 0.9
    assert d.train_y.dtype == torch.long and set(d.train_y.tolist()) <= set(range(10))
    assert SHARED in d.describe() and "MNIST" in d.describe()
    f = helpers.load_fashion_mnist(limit_train=10)
    assert "standing in for Fashion-MNIST" in f.describe()


def test_missing_dataset_offline_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("VAE_DATA_FALLBACK", str(tmp_path / "also-nothing"))

    class Offline:
        def __init__(self, *a, **k):
            raise RuntimeError("Error downloading: <urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr("torchvision.datasets.MNIST", Offline)
    with pytest.raises(data.DataUnavailableError) as info:
        helpers.load_mnist()
    message = str(info.value)
    assert "could not be downloaded" in message and "VAE_DATA_FALLBACK" in message
    assert "Name or service not known" in message


def test_image_grid_places_images_row_by_row():
    images = torch.stack([torch.full((1, 28, 28), float(k)) for k in range(6)])
    grid = plotting.image_grid(images, ncols=4)
    assert grid.shape == (56, 112)
    assert checks.grid_cell(grid, 0, 3).mean() == 3 and checks.grid_cell(grid, 1, 1).mean() == 5
    assert checks.grid_cell(grid, 1, 3).mean() == 0, "unused cells stay blank"
    with pytest.raises(ValueError, match="28x28"):
        plotting.to_image(torch.zeros(27, 27))


def test_normal_bounds_have_the_stated_false_failure_probability():
    n, mean, std, p = 1000, 1.0, 2.0, 1e-9
    b = checks.normal_bounds(n, mean, std, p)
    half = (b["mean"][1] - mean) / (std / math.sqrt(n))
    assert math.isclose(2 * norm.sf(half), p / 2, rel_tol=1e-6)
    lo, hi = (v * (n - 1) / std ** 2 for v in b["var"])
    assert math.isclose(chi2.cdf(lo, n - 1) + chi2.sf(hi, n - 1), p / 2, rel_tol=1e-6)


def test_normal_bounds_reject_the_seeds_wrong_samplers():
    torch.manual_seed(0)
    n = 100_000
    b = checks.normal_bounds(n, 1.0, math.exp(0.5), 1e-10)
    right = 1 + torch.randn(n) * math.exp(0.5)
    wrong_scale = 1 + torch.randn(n) * math.exp(1.0)  # mean + eps * exp(logvar)
    no_scale = 1 + torch.randn(n)  # mean + eps
    assert b["var"][0] < right.var() < b["var"][1]
    assert not b["var"][0] < wrong_scale.var() < b["var"][1]
    assert not b["var"][0] < no_scale.var() < b["var"][1]


def _loop(model, batches, zero=True, rebuild=False, train_mode=True):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, _ in batches:
        if rebuild:
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
        if train_mode:
            model.train()
        if zero:
            opt.zero_grad()
        model(x)[0].mean().backward()
        opt.step()


@pytest.mark.parametrize("zero,rebuild,stale,optimizers", [(True, False, 0, 1), (False, False, 2, 1), (True, True, 0, 3)])
def test_training_probe_sees_missing_zero_grad_and_rebuilt_optimizers(zero, rebuild, stale, optimizers):
    model = checks.StandInVAE()
    x = torch.rand(4, 1, 28, 28)
    with checks.TrainingProbe(model) as probe:
        batches = checks.FixedBatches([(x, torch.zeros(4))], repeats=3, probe=probe)
        _loop(model, batches, zero=zero, rebuild=rebuild)
    assert probe.steps == 3
    assert probe.stale_steps == stale
    assert len(probe.optimizers) == optimizers
    assert probe.calls_in("train") and all(c.training for c in probe.calls_in("train"))


def test_training_probe_records_eval_and_no_grad():
    model = checks.StandInVAE()
    with checks.TrainingProbe(model) as probe:
        batches = checks.FixedBatches([(torch.rand(2, 1, 28, 28), torch.zeros(2))], phase="test", probe=probe)
        model.eval()
        with torch.no_grad():
            for x, _ in batches:
                model(x)
    calls = probe.calls_in("test")
    assert calls and not any(c.training or c.grad_enabled for c in calls)


def test_stub_cvae_refuses_labels_that_are_not_one_hot():
    stub = checks.StubCVAE()
    with pytest.raises(AssertionError, match="one-hot"):
        stub.decode(torch.zeros(1, 2), torch.tensor([3]))
    out = stub.decode(torch.tensor([[0.5, -1.0]]), torch.nn.functional.one_hot(torch.tensor([7]), 10).float())
    assert out[0, 0, 0, 0] == 0.5 and out[0, 0, 15, 0] == -1.0 and out[0, 0, 25, 0] == 7


def test_captured_figures_returns_the_image_and_scatter():
    import matplotlib.pyplot as plt
    with checks.captured_figures() as shown:
        plt.figure()
        plt.imshow(np.eye(3))
        plt.show()
        plt.figure()
        plt.scatter([1, 2], [3, 4], c=[0, 1])
        plt.show()
    assert np.array_equal(shown.image(0), np.eye(3))
    points, colours = shown.scatter(1)
    assert np.array_equal(points, [[1, 3], [2, 4]]) and list(colours) == [0, 1]
    assert not plt.get_fignums(), "captured figures are closed"


def test_quietly_keeps_warnings_and_stderr_out_of_stderr():
    import warnings
    import sys
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        with checks.quietly():
            warnings.warn("noise")
            print("to stderr", file=sys.stderr)
    assert err.getvalue() == "" and "to stderr" in out.getvalue()


def test_progress_and_loss_plot_work_outside_jupyter(capsys):
    plot = LossPlot(legend=["train loss", "test loss"], xlim=(1, 1))
    plot.add(1, (3.0, 4.0))
    assert plot.axes.get_title() == "Training curves" and plot.axes.get_xlabel() == "epoch"
    with pytest.raises(ValueError, match="2 curves"):
        plot.add(2, (1.0,))
    line = ProgressLine(num_epochs=2, batches_per_epoch=2, every=1)
    line.step(1, 10.0, 32)
    assert line.text.startswith("epoch 1/2 | batch 1/2 | loss 10.0")
    line.done("finished")
    captured = capsys.readouterr()
    assert "finished" in captured.out and captured.err == ""
