"""The live loss plot and progress line under nbclient (grading, PDF export): the in-place
updates collapse into one final figure and one final line, with nothing on stderr.
(In JupyterLab itself, tests/test_browser.py watches them update while a loop runs.)"""
from __future__ import annotations

import re

import nbformat
from nbclient import NotebookClient

LOOP = """%matplotlib inline
from helpers.progress import LossPlot, ProgressLine
plot = LossPlot(legend=["train loss", "test loss"], xlim=(1, 3), title="Check")
progress = ProgressLine(num_epochs=3, batches_per_epoch=4, every=2)
for epoch in range(1, 4):
    for batch in range(4):
        progress.step(epoch, 100.0 / epoch, 32)
    plot.add(epoch, [100.0 / epoch, 110.0 / epoch])
progress.done("trained 3 epochs")"""


def test_progress_and_loss_plot_collapse_to_final_outputs_under_nbclient(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOP)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs
    assert [o.output_type for o in outputs] == ["display_data", "display_data"], \
        f"expected one progress line and one figure, got {[o.output_type for o in outputs]}"
    line, figure = outputs
    assert re.fullmatch(r"trained 3 epochs in \d+\.\d s \| epoch 3/3 \| batch 4/4 \| loss 33\.3 \| [\d,]+ img/s",
                        line.data["text/plain"].strip("'")), line.data["text/plain"]
    assert "image/png" in figure.data, f"the loss figure should be a PNG, got {list(figure.data)}"
