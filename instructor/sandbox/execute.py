"""nbgrader's ``Execute`` preprocessor with each kernel in the sandbox, and a kernel that dies
costing only the cells it did not run."""
from __future__ import annotations

import signal

from instructor import names

from .availability import WARNING, SandboxUnavailable, check, enabled
from .kernel import SandboxKernelManager
from .limits import SandboxLimits, legacy_variables
from .provisioner import SandboxProvisioner


def _error(ename: str, evalue: str):
    from nbformat import NotebookNode
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def describe_death(record: dict | None) -> str:
    """One sentence saying why a kernel stopped early, from its :class:`Record`."""
    if not record:
        return "the kernel died"
    if record.get("killed_for_time"):
        return f"the kernel was stopped at the wall-time limit ({record['limits']['wall_s']:.0f} s)"
    code = record.get("exit_code")
    if code is None:
        return "the kernel died"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = {"SIGSEGV": "crashed (segmentation fault)", "SIGKILL": "was killed (SIGKILL)",
                "SIGABRT": "aborted", "SIGBUS": "crashed (bus error)",
                "SIGXFSZ": "was killed for writing a file over the size limit"}.get(name, f"was killed by {name}")
        return f"the kernel {what}"
    if code >= 128:  # bwrap reports a child killed by a signal as 128 + signal
        return describe_death({**record, "exit_code": -(code - 128)})
    return f"the kernel exited with status {code} (sys.exit/os._exit in the notebook?)"


try:
    from nbgrader.preprocessors import Execute as _Execute
except ImportError:  # pragma: no cover - nbgrader is in requirements.txt
    _Execute = object


class GuardedExecute(_Execute):
    """nbgrader's ``Execute`` with each kernel in the sandbox (unless ``SANDBOX=off``), and a
    kernel that dies (crash, ``os._exit``, time limit) costing the cells it did not run
    rather than the whole submission: those cells get an error output saying why, so
    their tests score 0, and grading goes on with the next submission."""

    def __init__(self, *args, **kwargs):
        if enabled():
            check()
            kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)
        if not enabled():
            self.log.warning(WARNING)
            return
        legacy = legacy_variables()
        if legacy:
            raise SandboxUnavailable(legacy)
        # The limits every kernel will get (each provisioner reads the same config): a value
        # that is not valid stops nbgrader here, before the first notebook.
        limits = SandboxLimits(parent=self).limits()
        self.log.debug("sandbox limits: %s", limits)

    def preprocess(self, nb, resources=None, km=None):
        self._death = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        from nbclient.exceptions import DeadKernelError
        if cell.cell_type != "code":
            return cell, resources
        if self._death:
            cell.outputs = [_error(names.NOT_RUN, f"not run because {self._death} in an earlier cell")]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except Exception as err:  # the kernel died or stopped answering: its state is lost
            provisioner = getattr(self.km, "provisioner", None)
            sandboxed = isinstance(provisioner, SandboxProvisioner)
            if sandboxed and not isinstance(err, DeadKernelError):
                try:
                    provisioner.kill_now()
                except Exception:
                    pass
            record = provisioner.record(from_process=True) if sandboxed else None
            self._death = describe_death(record) if isinstance(err, DeadKernelError) else (
                f"the kernel stopped answering ({type(err).__name__}) and was killed")
            cell.outputs.append(_error(names.KERNEL_DIED, self._death))
            return cell, self.resources
