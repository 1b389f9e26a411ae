"""Run untrusted code (notebooks, model validation, exercise checks) in a bubblewrap sandbox.

What the sandboxed program gets:

* a read-only view of the system (``/usr`` and the ``/lib``, ``/bin`` links, a few files of
  ``/etc``), of the hub's Python (the interpreter, the virtualenv) and of the ``framework``
  package, so ``import framework`` works; nothing else of the host, in particular not the
  hub's code, instance folder, database or secrets;
* exactly one writable folder, the *job directory*, mounted at ``/job`` (also the working
  directory), whose growth is watched, and a private, size-limited ``/tmp`` and
  ``/dev/shm``; the rest of the file system is read-only;
* its own network namespace: only its own loopback interface, so no route anywhere, while
  ZeroMQ between a notebook runner and its kernel over ``127.0.0.1`` still works;
* its own PID, IPC, UTS and cgroup namespaces; it dies with the hub; a seccomp filter
  refuses new user namespaces and a few kernel interfaces no sandboxed program needs;
* resource limits set with setrlimit (through ``prlimit``) before the program starts:
  address space, CPU seconds, processes, file size and open files; and a wall-clock
  timeout after which the whole sandbox is killed;
* stdout and stderr captured up to a size cap each (read incrementally, the rest discarded).

When the hub runs as root (servers, CI) the program runs under its own unprivileged user id
(a fresh one from :data:`SANDBOX_UID_RANGE` per run), so that the process limit is enforced
(the kernel never enforces it for root) and file permissions protect the host as well as the
read-only mounts do. The job directory is handed to that user before the run. Run by an
ordinary user, bubblewrap creates a user namespace instead, in which the process limit counts
only the sandbox's own processes.

If bubblewrap is missing or a sandbox cannot be created, :class:`SandboxUnavailable` is
raised: untrusted code is never run without the sandbox. The check runs once per process.

Example::

    from hub.infra.sandbox import Limits, run_python

    result = run_python("print(6 * 7)", job_dir, limits=Limits(cpu_seconds=5))
    assert result.ok and result.stdout_text == "42\\n"

Reading results back: a sandboxed program may leave symbolic links in the job directory that
point at host files. Read its outputs with :func:`read_job_file`, which refuses links and
anything that is not a regular file inside the job directory.
"""

from __future__ import annotations

import fcntl
import os
import random
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BWRAP = "/usr/bin/bwrap"
PRLIMIT = "/usr/bin/prlimit"
SETPRIV = "/usr/bin/setpriv"

#: Where the job directory appears inside the sandbox (also the working directory).
JOB_MOUNT = "/job"

#: User ids the sandboxed programs get when the hub runs as root (one per run).
SANDBOX_UID_RANGE = (200_000, 299_999)

#: The repository's ``framework`` package, mounted read-only at the same path.
FRAMEWORK_DIR = Path(__file__).resolve().parents[2] / "framework"

MiB = 1024 * 1024

#: Pipe buffer size for the program's stdout and stderr (Linux allows 1 MiB unprivileged).
PIPE_BYTES = 1 * MiB


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be created here; untrusted code must not run."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run.

    ``memory_bytes`` is the address-space limit of each process (RLIMIT_AS), ``cpu_seconds``
    the CPU time of each process (RLIMIT_CPU: SIGXCPU, then SIGKILL a second later),
    ``processes`` the number of processes and threads of the sandbox user (RLIMIT_NPROC),
    ``file_size_bytes`` the largest file it may write (RLIMIT_FSIZE), ``open_files`` its
    file descriptors (RLIMIT_NOFILE), ``wall_seconds`` the real time after which the whole
    sandbox is killed, ``output_bytes`` how much of stdout and of stderr is kept,
    ``tmp_bytes`` the size of the private ``/tmp`` (and of ``/dev/shm``), and
    ``job_dir_bytes`` / ``job_dir_files`` how much disk space and how many new files the
    program may add to the job directory (checked several times a second; past either the
    sandbox is killed).
    """

    memory_bytes: int = 1024 * MiB
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    processes: int = 64
    file_size_bytes: int = 256 * MiB
    open_files: int = 256
    output_bytes: int = 1 * MiB
    tmp_bytes: int = 256 * MiB
    job_dir_bytes: int = 1024 * MiB
    job_dir_files: int = 10_000

    def __post_init__(self) -> None:
        for name in (
            "memory_bytes",
            "cpu_seconds",
            "processes",
            "file_size_bytes",
            "open_files",
            "output_bytes",
            "tmp_bytes",
            "job_dir_bytes",
            "job_dir_files",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, not {value!r}")
        if not self.wall_seconds > 0:
            raise ValueError("Limits.wall_seconds must be positive")


@dataclass
class SandboxResult:
    """What happened in one sandboxed run.

    ``exit_code`` is the program's exit status (``128 + n`` when signal ``n`` ended it);
    ``killed_by`` names what stopped it early: ``"wall_clock"`` (the timeout; ``timed_out``
    is then true), ``"cpu"`` (the CPU limit), ``"file_size"`` (the file-size limit's signal),
    ``"disk"`` (the job directory grew past its limits) or ``"signal:SIGNAME"``; ``None``
    when it exited by itself. Python programs hitting the memory, file-size or open-file
    limits see ``MemoryError`` / ``OSError`` and exit normally with an error status.
    """

    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    killed_by: str | None
    duration: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    argv: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the program exited with status 0 within its limits."""
        return self.exit_code == 0 and self.killed_by is None

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Building the bubblewrap command line


def _python_dirs() -> list[Path]:
    """The folders the interpreter needs: the virtualenv and the base installation."""
    dirs: list[Path] = []
    for candidate in (
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(os.path.realpath(sys.executable)).parent.parent,
    ):
        real = Path(os.path.realpath(candidate))
        for d in (candidate, real):
            if d not in dirs and d != Path("/usr") and not _under(d, Path("/usr")):
                dirs.append(d)
    return dirs


def _under(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
        return True
    except ValueError:
        return False


def venv_python() -> str:
    """The interpreter sandboxed Python code runs with: the hub's own (virtualenv) Python."""
    return str(Path(sys.prefix) / "bin" / "python")


# /etc files programs commonly need and that hold nothing secret.
_ETC_FILES = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/nsswitch.conf",
)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _base_env() -> dict[str, str]:
    venv_bin = str(Path(sys.prefix) / "bin")
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",  # caches and dotfiles go to the private /tmp, not the job's results
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        # One thread per math library: threads count against the process limit and memory.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
    }


def kernel_env() -> dict[str, str]:
    """Environment for running Jupyter (nbclient and an IPython kernel) inside the sandbox.

    Jupyter keeps its connection files, data and IPython profile under these folders; the
    sandbox's ``/tmp`` is private and writable. The ``python3`` kernel is ipykernel's own
    kernelspec, which starts the sandbox's Python (the hub's virtualenv), so no kernelspec
    needs installing. Pass it as ``env=kernel_env()`` to :func:`run_sandboxed` or
    :func:`run_python`, with ``Limits`` leaving room for the kernel's threads and memory
    (``processes=32`` and ``memory_bytes=1024 * MiB`` or more; the defaults suffice).
    """
    return {
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter/runtime",
        "JUPYTER_DATA_DIR": "/tmp/jupyter/data",
        "JUPYTER_CONFIG_DIR": "/tmp/jupyter/config",
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": "/tmp/ipython",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


# ---------------------------------------------------------------------------------------------
# A seccomp filter: no new user namespaces (which would let the program mount its own,
# unlimited tmpfs), and none of the kernel interfaces sandboxes never need.

# (audit architecture, syscall numbers, whether x32 syscall numbers exist)
_SECCOMP_ARCHES = {
    "x86_64": (0xC000003E, {"unshare": 272, "setns": 308, "clone": 56, "clone3": 435,
                            "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
                            "perf_event_open": 298, "userfaultfd": 323}, True),
    "aarch64": (0xC00000B7, {"unshare": 97, "setns": 268, "clone": 220, "clone3": 435,
                             "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280,
                             "perf_event_open": 241, "userfaultfd": 282}, False),
}
_BPF_LD_ABS, _BPF_JEQ, _BPF_JGE, _BPF_JSET, _BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_CLONE_NEWUSER = 0x10000000


def _ret_errno(number: int) -> int:
    return 0x00050000 | number


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The classic-BPF seccomp filter bubblewrap loads (``--seccomp``), or ``None`` when this
    machine's architecture is not known here (the other protections still apply).

    It refuses ``unshare``, ``setns`` and ``clone`` with ``CLONE_NEWUSER``; ``clone3`` says
    "not implemented" so the C library falls back to ``clone``; it refuses the kernel keyring,
    ``bpf``, ``perf_event_open`` and ``userfaultfd``; syscalls of another ABI kill the process.
    """
    import errno
    import platform
    import struct

    arch = _SECCOMP_ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, numbers, has_x32 = arch
    prog: list[tuple[int, int, int, int]] = [
        (_BPF_LD_ABS, 0, 0, 4),  # seccomp_data.arch
        (_BPF_JEQ, 1, 0, audit_arch),
        (_BPF_RET, 0, 0, _RET_KILL_PROCESS),
        (_BPF_LD_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if has_x32:
        prog += [(_BPF_JGE, 0, 1, 0x40000000), (_BPF_RET, 0, 0, _ret_errno(errno.ENOSYS))]
    for name in ("unshare", "setns", "keyctl", "add_key", "request_key", "bpf",
                 "perf_event_open", "userfaultfd"):
        prog += [(_BPF_JEQ, 0, 1, numbers[name]), (_BPF_RET, 0, 0, _ret_errno(errno.EPERM))]
    prog += [
        (_BPF_JEQ, 0, 1, numbers["clone3"]),
        (_BPF_RET, 0, 0, _ret_errno(errno.ENOSYS)),
        (_BPF_JEQ, 0, 3, numbers["clone"]),
        (_BPF_LD_ABS, 0, 0, 16),  # low 32 bits of the flags argument
        (_BPF_JSET, 0, 1, _CLONE_NEWUSER),
        (_BPF_RET, 0, 0, _ret_errno(errno.EPERM)),
        (_BPF_RET, 0, 0, _RET_ALLOW),
    ]
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


def _mkdirs_args(dest: Path, made: set[str]) -> list[str]:
    """``--dir`` arguments creating dest's parents 0755 (bubblewrap would make them 0700)."""
    args: list[str] = []
    for parent in reversed(dest.parents):
        p = str(parent)
        if p == "/" or p in made:
            continue
        made.add(p)
        args += ["--perms", "0755", "--dir", p]
    return args


def build_command(
    argv: Sequence[str],
    job_dir: Path,
    limits: Limits,
    env: Mapping[str, str],
    *,
    uid: int | None,
    ro_binds: Sequence[tuple[str, str]] = (),
    seccomp_fd: int | None = None,
) -> list[str]:
    """The full command line: bwrap, then prlimit, then (as root) setpriv, then ``argv``."""
    cmd = [
        BWRAP,
        "--die-with-parent",
        "--new-session",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
    ]
    if uid is None:
        # Unprivileged: bubblewrap needs a user namespace; no further ones inside.
        cmd += ["--unshare-user", "--disable-userns"]
    made: set[str] = set()
    cmd += ["--ro-bind", "/usr", "/usr"]
    made.add("/usr")
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += ["--perms", "0755", "--dir", "/etc"]
    made.add("/etc")
    for path in _ETC_FILES:
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    cmd += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # Size-limited shared memory (Python's multiprocessing needs it), then /dev itself
        # read-only: bubblewrap's /dev is an unlimited tmpfs the sandbox user may own.
        "--perms",
        "1777",
        "--size",
        str(limits.tmp_bytes),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(limits.tmp_bytes),
        "--tmpfs",
        "/tmp",
    ]
    made.add("/tmp")
    # The interpreter, the framework and the callers' folders are bound after the private
    # /tmp is mounted, so that one living under /tmp (a checkout or virtualenv there) is
    # not hidden by it.
    binds = [(str(d), str(d)) for d in _python_dirs()]
    if FRAMEWORK_DIR.is_dir():
        binds.append((str(FRAMEWORK_DIR), str(FRAMEWORK_DIR)))
    binds += [(str(src), str(dest)) for src, dest in ro_binds]
    for src, dest in binds:
        cmd += _mkdirs_args(Path(dest), made)
        made.add(dest)
        cmd += ["--ro-bind", src, dest]
    cmd += [
        "--bind",
        str(job_dir),
        JOB_MOUNT,
        # The root is a tmpfs too: nothing may be written there.
        "--remount-ro",
        "/",
        "--chdir",
        JOB_MOUNT,
        "--clearenv",
    ]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    if uid is not None:
        # setpriv (still root inside) needs these to switch to the sandbox user; it then
        # drops every capability, for good.
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    cmd += [
        PRLIMIT,
        f"--as={limits.memory_bytes}",
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_size_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]
    if uid is not None:
        cmd += [
            SETPRIV,
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
    cmd += list(argv)
    return cmd


# ---------------------------------------------------------------------------------------------
# Checking once that a sandbox can be created

_probe_lock = threading.Lock()
_probe_result: str | None = None  # "" when the sandbox works, else the reason it does not


def _probe() -> str:
    for tool in (BWRAP, PRLIMIT) + ((SETPRIV,) if _running_as_root() else ()):
        if not os.access(tool, os.X_OK):
            return f"{tool} is not installed (Debian packages: bubblewrap, util-linux)"
    with tempfile.TemporaryDirectory(prefix="skiff-sandbox-probe-") as tmp:
        try:
            result = _run(
                ["/bin/sh", "-c", "echo ok > /job/probe"],
                Path(tmp),
                Limits(wall_seconds=30, cpu_seconds=10),
                _base_env(),
                ro_binds=(),
            )
        except OSError as exc:
            return f"bubblewrap could not start: {exc}"
        written = Path(tmp, "probe")
        if result.exit_code != 0 or not written.is_file():
            detail = result.stderr_text.strip() or f"exit status {result.exit_code}"
            return f"bubblewrap could not create a sandbox: {detail}"
    return ""


def check_available() -> None:
    """Raise :class:`SandboxUnavailable` unless sandboxes can be created (checked once)."""
    global _probe_result
    with _probe_lock:
        if _probe_result is None:
            _probe_result = _probe()
    if _probe_result:
        raise SandboxUnavailable(
            f"untrusted code cannot run here: {_probe_result}. Skiff never runs it unsandboxed."
        )


def is_available() -> bool:
    """Whether sandboxes can be created here (see :func:`check_available`)."""
    try:
        check_available()
    except SandboxUnavailable:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Running


def _hand_over(job_dir: Path, uid: int) -> None:
    """Give the job directory (and what the caller put in it) to the sandbox user."""
    os.chown(job_dir, uid, uid, follow_symlinks=False)
    for root, dirs, files in os.walk(job_dir):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _run(
    argv: Sequence[str],
    job_dir: Path,
    limits: Limits,
    env: Mapping[str, str],
    *,
    ro_binds: Sequence[tuple[str, str]],
) -> SandboxResult:
    uid = random.randint(*SANDBOX_UID_RANGE) if _running_as_root() else None
    if uid is not None:
        _hand_over(job_dir, uid)
    seccomp_fd = None
    program = seccomp_program()
    if program is not None:
        seccomp_fd = os.memfd_create("skiff-seccomp", 0)
        os.write(seccomp_fd, program)
        os.lseek(seccomp_fd, 0, os.SEEK_SET)
    cmd = build_command(argv, job_dir, limits, env, uid=uid, ro_binds=ro_binds,
                        seccomp_fd=seccomp_fd)
    baseline = _job_dir_usage(job_dir, max_files=None)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # one process group to kill on timeout
            close_fds=True,
            pass_fds=(seccomp_fd,) if seccomp_fd is not None else (),
        )
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
    captured = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    truncated = dict.fromkeys(captured, False)
    timed_out = False
    disk_exceeded = False
    deadline = started + limits.wall_seconds
    next_disk_check = started + DISK_CHECK_SECONDS
    sel = selectors.DefaultSelector()
    scratch = bytearray(PIPE_BYTES)
    scratch_view = memoryview(scratch)
    try:
        for f in (proc.stdout, proc.stderr):
            os.set_blocking(f.fileno(), False)
            try:  # bigger pipes: fewer wake-ups when a program floods its output
                fcntl.fcntl(f.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass
            sel.register(f.fileno(), selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not timed_out:
                timed_out = True
                _kill_group(proc)
            if timed_out and remaining < -10:
                break  # the pipes should have closed when the sandbox died; stop waiting
            now = time.monotonic()
            if not (timed_out or disk_exceeded) and now >= next_disk_check:
                next_disk_check = now + DISK_CHECK_SECONDS
                if _job_dir_grew_too_much(job_dir, baseline, limits):
                    disk_exceeded = True
                    _kill_group(proc)
            wait = min(max(remaining, 0.05), DISK_CHECK_SECONDS)
            events = sel.select(timeout=wait if not timed_out else 1.0)
            for key, _ in events:
                fd = key.fd
                try:
                    n = os.readv(fd, [scratch])  # one reused buffer: no allocation per read
                except BlockingIOError:
                    continue
                if not n:
                    sel.unregister(fd)
                    continue
                buf = captured[fd]
                room = limits.output_bytes - len(buf)
                if room > 0:
                    buf += scratch_view[: min(n, room)]
                if n > room:
                    truncated[fd] = True  # keep draining so the program is not blocked
        returncode = _wait(proc, deadline if not timed_out else time.monotonic() + 5)
        if returncode is None:
            timed_out = True
            _kill_group(proc)
            returncode = proc.wait()
    finally:
        sel.close()
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    duration = time.monotonic() - started

    exit_code = returncode if returncode >= 0 else 128 - returncode
    killed_by = None
    if timed_out:
        killed_by = "wall_clock"
    elif disk_exceeded:
        killed_by = "disk"
    elif exit_code > 128:
        name = _signal_name(exit_code - 128)
        killed_by = {"SIGXCPU": "cpu", "SIGXFSZ": "file_size"}.get(name, f"signal:{name}")
        if name == "SIGKILL":
            # The CPU hard limit ends a program that ignores SIGXCPU with SIGKILL.
            killed_by = "cpu" if duration >= limits.cpu_seconds else killed_by
    stdout_buf, stderr_buf = list(captured.values())
    stdout_trunc, stderr_trunc = list(truncated.values())
    return SandboxResult(
        exit_code=exit_code,
        stdout=bytes(stdout_buf),
        stderr=bytes(stderr_buf),
        timed_out=timed_out,
        killed_by=killed_by,
        duration=duration,
        stdout_truncated=stdout_trunc,
        stderr_truncated=stderr_trunc,
        argv=list(argv),
    )


#: How often the job directory's growth is measured while a program runs.
DISK_CHECK_SECONDS = 0.2


def _job_dir_usage(job_dir: Path, max_files: int | None) -> tuple[int, int]:
    """Bytes on disk and entries under ``job_dir``; stops counting past ``max_files``.

    Symbolic links are counted, never followed.
    """
    used = files = 0
    stack = [str(job_dir)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    files += 1
                    if max_files is not None and files > max_files:
                        return used, files
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    used += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return used, files


def _job_dir_grew_too_much(job_dir: Path, baseline: tuple[int, int], limits: Limits) -> bool:
    base_bytes, base_files = baseline
    used, files = _job_dir_usage(job_dir, max_files=base_files + limits.job_dir_files)
    return used - base_bytes > limits.job_dir_bytes or files - base_files > limits.job_dir_files


def _wait(proc: subprocess.Popen, deadline: float) -> int | None:
    try:
        return proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        return None


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill bubblewrap's process group; its PID namespace, and so every process, goes too."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_sandboxed(
    argv: Sequence[str],
    job_dir: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    env: Mapping[str, str] | None = None,
    ro_binds: Sequence[tuple[str | os.PathLike[str], str]] = (),
) -> SandboxResult:
    """Run ``argv`` in a sandbox whose only writable folder is ``job_dir`` (seen as ``/job``).

    ``env`` adds to (or overrides) the small default environment; nothing of the hub's own
    environment is passed on. ``ro_binds`` are extra ``(host_path, sandbox_path)`` pairs
    mounted read-only. Raises :class:`SandboxUnavailable` when no sandbox can be created.
    """
    check_available()
    job = Path(job_dir)
    if not job.is_dir() or job.is_symlink():
        raise ValueError(f"the job directory {job} must be an existing folder")
    _check_job_dir(job.resolve())
    if not argv:
        raise ValueError("nothing to run: argv is empty")
    full_env = _base_env()
    for key, value in (env or {}).items():
        if not key or "=" in key or "\0" in key or "\0" in str(value):
            raise ValueError(f"bad environment variable name or value: {key!r}")
        full_env[key] = str(value)
    binds = [(os.fspath(src), dest) for src, dest in ro_binds]
    for src, dest in binds:
        if not os.path.isabs(dest) or dest in {"/", JOB_MOUNT, "/tmp"}:
            raise ValueError(f"cannot mount {src} on {dest}")
    return _run(
        [os.fspath(a) for a in argv],
        job.resolve(),
        limits or Limits(),
        full_env,
        ro_binds=binds,
    )


def _check_job_dir(job: Path) -> None:
    """Refuse job directories that would expose or hand over (chown) what is not the job's.

    A job directory may not be, or contain, the repository, the instance folder or the Python
    installation, nor lie inside the code (``framework``, ``hub``, the Python installation).
    """
    if len(job.parts) < 3:
        raise ValueError(f"{job} is too close to the root to be a job directory")
    code = [*_python_dirs()]
    points = []
    if FRAMEWORK_DIR.is_dir():
        repo = FRAMEWORK_DIR.parent
        code += [FRAMEWORK_DIR, repo / "hub"]
        points.append(repo)
    try:
        from flask import current_app

        points.append(Path(current_app.instance_path).resolve())
    except (ImportError, RuntimeError):  # no Flask, or no app context
        pass
    for path in code:
        if path == job or _under(path, job) or _under(job, path):
            raise ValueError(f"{job} overlaps {path}: use a folder of its own for each job")
    for path in points:
        if path == job or _under(path, job):
            raise ValueError(f"{job} contains {path}: use a folder of its own for each job")


def run_python(
    code_or_path: str | os.PathLike[str],
    job_dir: str | os.PathLike[str],
    *,
    args: Sequence[str] = (),
    limits: Limits | None = None,
    env: Mapping[str, str] | None = None,
    ro_binds: Sequence[tuple[str | os.PathLike[str], str]] = (),
) -> SandboxResult:
    """Run Python code in the sandbox with the hub's interpreter (``import framework`` works).

    ``code_or_path`` is source text, or a :class:`os.PathLike` naming a ``.py`` file inside
    ``job_dir``. ``args`` become ``sys.argv[1:]``.
    """
    python = venv_python()
    if isinstance(code_or_path, os.PathLike):
        script = Path(code_or_path)
        job = Path(job_dir).resolve()
        if not script.is_absolute():
            script = job / script
        try:
            relative = script.resolve().relative_to(job)
        except ValueError:
            raise ValueError(f"{script} is not inside the job directory {job}") from None
        argv = [python, f"{JOB_MOUNT}/{relative.as_posix()}", *args]
    else:
        argv = [python, "-c", str(code_or_path), *args]
    return run_sandboxed(argv, job_dir, limits=limits, env=env, ro_binds=ro_binds)


def read_job_file(
    job_dir: str | os.PathLike[str], name: str, *, max_bytes: int = 64 * MiB
) -> bytes:
    """Read a file a sandboxed program wrote, safely.

    Refuses symbolic links anywhere on the way, anything that is not a regular file, names
    that leave the job directory, and files larger than ``max_bytes``.
    """
    job = Path(job_dir).resolve()
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts:
        raise ValueError(f"not a file name inside the job directory: {name!r}")
    dir_fd = os.open(job, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{name!r} is not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"{name!r} is larger than {max_bytes} bytes")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{name!r} is larger than {max_bytes} bytes")
    return data


def new_job_dir(parent: str | os.PathLike[str] | None = None) -> Path:
    """Create an empty job directory (under ``parent``, default the system temp folder)."""
    return Path(tempfile.mkdtemp(prefix="skiff-job-", dir=parent))


def remove_job_dir(job_dir: str | os.PathLike[str]) -> None:
    """Delete a job directory and everything the sandboxed program left in it."""
    shutil.rmtree(job_dir, ignore_errors=True)
