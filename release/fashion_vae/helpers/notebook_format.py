"""Notebooks saved by other editors (Colab, VS Code, Notebook 7, JupyterLab 3 and 4), brought
to the current format, nbformat 4.5, so that nbconvert, nbgrader and ``helpers.pdf`` read
them all alike.

    nb = nbformat.read("fashion_vae.ipynb", as_version=4)
    normalise(nb)   # ["upgraded nbformat 4.0 to 4.5", "added cell ids to 51 cells", ...]

Only the notebook's format and the editors' own metadata change: every cell's source and
outputs, its nbgrader metadata, the kernelspec and language_info stay as they are.
"""
from __future__ import annotations

import copy
import warnings

import nbformat
from nbformat import v4
from nbformat.validator import ValidationError, normalize

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# What editors record about themselves, not about the work: Colab's provenance, GPU choice and
# per-cell run records (executionInfo, with the account's name), VS Code's interpreter and
# cell language, an old kernel record. Nothing reads them, and Colab's copy of the cell id
# (metadata.id) only duplicates the real one. Jupyter's own run timings (metadata.execution,
# also written by nbgrader's kernel) are in the schema and stay, unless they break it.
EDITOR_NOTEBOOK_KEYS = ("colab", "accelerator", "gpuClass", "vscode", "kernel_info")
EDITOR_CELL_KEYS = ("colab", "executionInfo", "outputId", "id", "vscode")


class NotebookFormatError(ValueError):
    """The notebook cannot be made a valid nbformat 4.5 notebook; the message says why."""


def normalise(nb) -> list[str]:
    """Make ``nb`` (a NotebookNode read with ``as_version=4``) a valid nbformat 4.5 notebook,
    in place, and return what was changed, one short sentence each (empty: nothing).

    In order: widget state that nbconvert cannot render (Colab's, without the ``state``
    map) is removed, so its widgets print as their text; editor metadata
    (``EDITOR_NOTEBOOK_KEYS``, ``EDITOR_CELL_KEYS``) is removed; nbformat 4.0-4.4 is
    upgraded to 4.5 by ``nbformat.v4.upgrade`` (which gives every cell a new id); then
    ``nbformat.validator.normalize`` adds missing cell ids, renames duplicate ones and drops
    metadata that breaks the schema.

    Raises NotebookFormatError, leaving ``nb`` unchanged, when it is not nbformat 4 or is
    still invalid after these repairs (for example an output without its required fields).
    """
    if nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise NotebookFormatError(f"it is not an nbformat 4 notebook (nbformat "
                                  f"{nb.get('nbformat')!r}, or no list of cells)")
    fixed = copy.deepcopy(nb)
    changes = _drop_widget_state(fixed) + _drop_editor_metadata(fixed) + _upgrade(fixed)
    changes += _repair(fixed)
    try:
        nbformat.validate(fixed)
    except ValidationError as err:
        where = "/".join(str(part) for part in err.absolute_path) or "the top level"
        raise NotebookFormatError(f"it is not a valid nbformat 4.5 notebook even after repair: "
                                  f"{err.message} (at {where})") from None
    nb.clear()
    nb.update(fixed)
    return changes


def _drop_widget_state(nb) -> list[str]:
    """Remove ``metadata.widgets`` unless nbconvert can read it: it looks up
    ``widgets[WIDGET_STATE]["state"]`` (a KeyError otherwise; Colab saves the models without
    that map)."""
    if "widgets" not in nb.metadata:
        return []
    saved = nb.metadata["widgets"]
    if isinstance(saved, dict) and isinstance(saved.get(WIDGET_STATE), dict) and \
            isinstance(saved[WIDGET_STATE].get("state"), dict):
        return []
    del nb.metadata["widgets"]
    return ["removed widget state that nbconvert cannot render (widgets show as text)"]


def _drop_editor_metadata(nb) -> list[str]:
    """Remove the editors' own metadata keys from the notebook and its cells."""
    removed = set()
    for meta, keys in [(nb.metadata, EDITOR_NOTEBOOK_KEYS)] + \
            [(cell.get("metadata", {}), EDITOR_CELL_KEYS) for cell in nb.cells]:
        for key in set(keys) & set(meta):
            del meta[key]
            removed.add(key)
    return [f"removed editor metadata: {', '.join(sorted(removed))}"] if removed else []


def _upgrade(nb) -> list[str]:
    """nbformat 4.0-4.4 to 4.5 with nbformat's own upgrade (which sets every cell's id)."""
    minor = nb.setdefault("nbformat_minor", 0)
    if minor >= v4.nbformat_minor:
        return []
    missing = sum("id" not in cell for cell in nb.cells)
    v4.upgrade(nb, from_version=4, from_minor=minor)
    nb.metadata.pop("orig_nbformat_minor", None)  # nbformat drops it on writing anyway
    changes = [f"upgraded nbformat 4.{minor} to 4.{v4.nbformat_minor}"]
    return changes + ([f"added cell ids to {missing} cells"] if missing else [])


def _repair(nb) -> list[str]:
    """Missing and duplicate cell ids and schema-breaking metadata, by
    ``nbformat.validator.normalize``."""
    ids = [cell.get("id") for cell in nb.cells]
    keys = [set(cell.get("metadata", {})) for cell in nb.cells]
    notebook_keys = set(nb.metadata)
    with warnings.catch_warnings():  # it warns about each id it adds or renames
        warnings.simplefilter("ignore")
        count, fixed = normalize(nb, 4, v4.nbformat_minor, strip_invalid_metadata=True)
    if not count:
        return []
    nb.update(fixed)
    changes = []
    added = sum(old is None for old in ids)
    renamed = sum(old is not None and old != cell.id for old, cell in zip(ids, nb.cells))
    if added:
        changes.append(f"added cell ids to {added} cells")
    if renamed:
        changes.append(f"renamed {renamed} duplicate cell ids")
    dropped = notebook_keys - set(nb.metadata)
    for before, cell in zip(keys, nb.cells):
        dropped |= before - set(cell.metadata)
    if dropped:
        changes.append(f"removed metadata that breaks the notebook schema: {', '.join(sorted(dropped))}")
    return changes
