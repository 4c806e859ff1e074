"""The kernel manager of every grading kernel: nbclient's, with its kernels launched by the
sandbox's provisioner (:mod:`.provisioner`), chosen the documented way, by the
``kernel_provisioner`` stanza of the kernel spec."""
from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager

from instructor import names

from .availability import check, enabled
from .provisioner import RECORD, Record, SandboxProvisioner  # noqa: F401 (re-exported)

MANAGER = "instructor.sandbox.SandboxKernelManager"


class SandboxKernelManager(AsyncKernelManager):
    """nbclient's kernel manager whose kernel spec names the sandbox's provisioner
    (``{"kernel_provisioner": {"provisioner_name": names.SANDBOX_PROVISIONER}}`` in its
    metadata), so that jupyter_client's provisioner factory launches the kernel with
    :class:`~instructor.sandbox.provisioner.SandboxProvisioner`. With ``SANDBOX=off`` the
    spec is left as it is: the kernel runs without isolation."""

    def __init__(self, **kwargs):
        self._sandboxed = enabled()
        super().__init__(**kwargs)
        if self._sandboxed:
            check()

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None and getattr(self, "_sandboxed", True):
            spec.metadata["kernel_provisioner"] = {"provisioner_name": names.SANDBOX_PROVISIONER}
        return spec
