"""Real servers for the tests and benchmarks that grade across machines: a throwaway
PostgreSQL server and a one-node Slurm cluster on this machine, both from Debian's packages,
installed with apt-get when missing (CI runs as root).

Each is a context manager that starts the daemons in a fresh folder under /tmp and stops
every daemon it started on the way out, whatever happened.
"""
from __future__ import annotations

import contextlib
import getpass
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class Unavailable(RuntimeError):
    """A server's packages are missing and cannot be installed here (no root or no apt-get)."""


def run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def apt_install(*packages: str) -> None:
    """Install Debian ``packages``; raises :class:`Unavailable` without root or apt-get."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable(f"{', '.join(packages)} cannot be installed here (needs root and apt-get): "
                          f"run `apt-get install {' '.join(packages)}` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-q", env=env)
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", *packages, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ PostgreSQL

def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent


@contextlib.contextmanager
def postgres_server():
    """A throwaway PostgreSQL server on a Unix socket, with an empty database ``vae_course``;
    yields its SQLAlchemy URL."""
    bindir = postgres_bindir()
    # Under /tmp, which the server's user can reach (pytest's own tmp folders are private).
    base = Path(tempfile.mkdtemp(prefix="vae-postgres-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    # The server refuses to run as root: run it as the package's `postgres` user.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    run(*as_user, str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8")
    run(*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
        "-o", f"-k {sock} -p {port} -c listen_addresses=''", "start")
    try:
        run(*as_user, str(bindir / "createdb"), "-h", str(sock), "-p", str(port), "-U", "postgres",
            "vae_course")
        yield f"postgresql+psycopg2://postgres@/vae_course?host={sock}&port={port}"
    finally:
        run(*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------ Slurm

SLURM_PACKAGES = ("slurm-wlm", "munge")


@dataclass
class SlurmCluster:
    conf: Path      # slurm.conf: clients find it through $SLURM_CONF
    version: str    # e.g. "slurm-wlm 22.05.8"
    base: Path      # the cluster's folder (logs, state, spool)
    start_s: float  # seconds from nothing (installation included) to an idle node

    @property
    def env(self) -> dict[str, str]:
        """What a client (sbatch, squeue, scancel) needs in its environment."""
        return {"SLURM_CONF": str(self.conf)}

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.base.glob("*.log")))


def slurm_installed() -> bool:
    return all(shutil.which(x) for x in ("slurmctld", "slurmd", "sbatch", "munged", "mungekey"))


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


SLURM_CONF = """\
ClusterName=vaetest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool/%n
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/slurmctld.log
SlurmdLogFile={base}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
MinJobAge=3600
KillWait=5
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@contextlib.contextmanager
def slurm_cluster(cpus: int = 2):
    """A one-node Slurm cluster on this machine with ``cpus`` CPUs: ``munged``, ``slurmctld``
    and ``slurmd`` from Debian's ``slurm-wlm`` and ``munge`` (installed when missing), run by
    hand (no systemd) on free ports with their state in a folder under /tmp. Yields a
    :class:`SlurmCluster` once the node is idle; stops all three daemons on the way out.

    Raises :class:`Unavailable` if the packages are missing and cannot be installed, and
    RuntimeError (with the daemons' logs) if the node does not come up within 60 s."""
    start = time.perf_counter()
    if not slurm_installed():
        apt_install(*SLURM_PACKAGES)
    base = Path(tempfile.mkdtemp(prefix="vae-slurm-"))
    (base / "state").mkdir()
    (base / "spool").mkdir()
    host = socket.gethostname().split(".")[0]
    munge_socket = base / "munge.socket"
    key = base / "munge.key"
    run("mungekey", "--create", "--keyfile", str(key))
    key.chmod(0o400)
    conf = base / "slurm.conf"
    conf.write_text(SLURM_CONF.format(host=host, ctld_port=free_port(), d_port=free_port(), base=base,
                                      munge_socket=munge_socket, cpus=cpus,
                                      memory=int(_memory_mb() * 0.8)))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    daemons: list[subprocess.Popen] = []

    def daemon(*cmd: str) -> None:
        log = open(base / f"{Path(cmd[0]).name}.out", "wb")
        daemons.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True))

    try:
        daemon("munged", "--foreground", "--force", f"--socket={munge_socket}", f"--key-file={key}",
               f"--pid-file={base / 'munged.pid'}", f"--log-file={base / 'munged.log'}",
               f"--seed-file={base / 'munged.seed'}")
        _wait(lambda: munge_socket.exists(), 20, "munged did not create its socket", base)
        daemon("slurmctld", "-D", "-i", "-f", str(conf))
        daemon("slurmd", "-D", "-f", str(conf), "-N", host)
        version = run("sinfo", "--version", env=env).stdout.strip()

        def idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=env)
            return out.returncode == 0 and out.stdout.strip() == "idle"

        _wait(idle, 60, "the Slurm node did not become idle", base)
        yield SlurmCluster(conf, version, base, time.perf_counter() - start)
    finally:
        # Jobs still running (a failed test) are cancelled before their daemons stop.
        if len(daemons) == 3:
            subprocess.run(["scancel", "--full", f"--user={getpass.getuser()}"],
                           capture_output=True, env=env)
            time.sleep(2)
        for proc in reversed(daemons):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(daemons):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _wait(ready, seconds: float, what: str, base: Path) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                             for p in sorted(base.glob("*.log")) + sorted(base.glob("*.out")))
            raise RuntimeError(f"{what} within {seconds:.0f} s:\n{logs}")
        time.sleep(0.5)
