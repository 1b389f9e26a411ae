"""The sandbox: isolation, and each resource limit against a real hostile payload."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest

from hub.infra import sandbox
from hub.infra.sandbox import (
    JOB_MOUNT,
    Limits,
    SandboxUnavailable,
    kernel_env,
    read_job_file,
    run_python,
    run_sandboxed,
)

ROOT = Path(__file__).resolve().parents[3]
MiB = 1024 * 1024
QUICK = Limits(cpu_seconds=10, wall_seconds=60, memory_bytes=512 * MiB)


@pytest.fixture
def job(tmp_path):
    d = tmp_path / "job"
    d.mkdir()
    return d


def _py(code: str) -> str:
    return textwrap.dedent(code)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry))
    return found


def test_runs_python_with_the_framework_and_captures_output(job):
    result = run_python(
        _py(
            """
            import sys, os, framework
            print("hello from", os.getcwd())
            print("warn", file=sys.stderr)
            open("answer.txt", "w").write("42")
            sys.exit(3)
            """
        ),
        job,
        limits=QUICK,
    )
    assert result.exit_code == 3
    assert result.killed_by is None and not result.timed_out
    assert result.stdout_text == f"hello from {JOB_MOUNT}\n"
    assert result.stderr_text == "warn\n"
    assert read_job_file(job, "answer.txt") == b"42"
    assert not result.ok


def test_script_file_in_job_dir_with_args(job):
    (job / "check.py").write_text("import sys\nprint(sys.argv[1:])\n")
    result = run_python(Path("check.py"), job, args=["a", "b"], limits=QUICK)
    assert result.ok, result.stderr_text
    assert result.stdout_text == "['a', 'b']\n"
    with pytest.raises(ValueError, match="not inside"):
        run_python(job.parent / "elsewhere.py", job, limits=QUICK)


def test_cannot_write_outside_the_job_dir_nor_see_the_hub(job, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    targets = ["/usr/evil", "/etc/evil", "/evil", "/root/evil", str(ROOT / "framework" / "evil"),
               str(ROOT / "evil"), sys.prefix + "/evil", str(outside)]
    result = run_python(
        _py(
            f"""
            import os
            for path in {targets!r}:
                try:
                    with open(path, "w") as fh:
                        fh.write("pwned")
                    print("WROTE", path)
                except OSError as exc:
                    print("refused", path, type(exc).__name__)
            print("hub visible:", os.path.exists({str(ROOT / "hub")!r}))
            print("instance visible:", os.path.exists({str(ROOT / "instance")!r}))
            print("outside visible:", os.path.exists({str(outside)!r}))
            print("uid", os.getuid())
            print([l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1])
            open("/tmp/scratch", "w").write("ok")
            """
        ),
        job,
        limits=QUICK,
    )
    assert result.ok, result.stderr_text
    out = result.stdout_text
    assert "WROTE" not in out
    assert out.count("refused") == len(targets)
    assert "hub visible: False" in out
    assert "instance visible: False" in out
    assert "outside visible: False" in out
    assert outside.read_text() == "untouched"
    for path in targets[:-1]:
        assert not os.path.exists(path), path
    if os.geteuid() == 0:
        uid = int(out.split("uid ")[1].split()[0])
        assert sandbox.SANDBOX_UID_RANGE[0] <= uid <= sandbox.SANDBOX_UID_RANGE[1]
    assert out.strip().splitlines()[-1] == "0000000000000000"  # no capabilities


def test_folders_bound_under_tmp_stay_visible_read_only(job):
    # A checkout or virtualenv under /tmp must not be hidden by the sandbox's private /tmp.
    tools = Path(tempfile.mkdtemp(prefix="skiff-tools-", dir="/tmp"))
    tools.chmod(0o755)
    try:
        (tools / "hello.txt").write_text("hello")
        result = run_python(
            _py(
                f"""
                print(open({str(tools / "hello.txt")!r}).read())
                try:
                    open({str(tools / "evil.txt")!r}, "w")
                    print("WROTE")
                except OSError:
                    print("refused")
                open("/tmp/scratch", "w").write("ok")
                """
            ),
            job,
            limits=QUICK,
            ro_binds=[(tools, str(tools))],
        )
        assert result.ok, result.stderr_text
        assert result.stdout_text == "hello\nrefused\n"
        assert not (tools / "evil.txt").exists()
    finally:
        shutil.rmtree(tools)


def test_hub_environment_is_not_passed_on(job, monkeypatch):
    monkeypatch.setenv("SKIFF_SECRET_FOR_TEST", "do-not-leak")
    result = run_python(
        "import os; print(os.environ.get('SKIFF_SECRET_FOR_TEST'), os.environ['EXTRA'])",
        job,
        limits=QUICK,
        env={"EXTRA": "given"},
    )
    assert result.stdout_text == "None given\n"


def test_no_network_but_private_loopback(job):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = run_python(
            _py(
                f"""
                import socket
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=2)
                    print("host port reached")
                except OSError as exc:
                    print("host port refused", type(exc).__name__)
                try:
                    socket.getaddrinfo("pypi.org", 443)
                    print("dns works")
                except OSError as exc:
                    print("dns failed", type(exc).__name__)
                try:
                    socket.create_connection(("1.1.1.1", 53), timeout=2)
                    print("internet reached")
                except OSError as exc:
                    print("internet unreachable", type(exc).__name__)
                # Its own loopback works (notebook kernels talk over it).
                server = socket.socket()
                server.bind(("127.0.0.1", 0))
                server.listen(1)
                client = socket.create_connection(server.getsockname())
                conn, _ = server.accept()
                client.sendall(b"ping")
                print("loopback", conn.recv(4).decode())
                """
            ),
            job,
            limits=QUICK,
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected to the hub's port
    finally:
        listener.close()
    assert result.ok, result.stderr_text
    out = result.stdout_text
    assert "host port refused ConnectionRefusedError" in out
    assert "dns failed" in out
    assert "internet unreachable" in out
    assert "loopback ping" in out


def test_infinite_loop_is_stopped_by_the_cpu_limit(job):
    # The wall clock is generous: on a busy machine one CPU second takes many real ones.
    result = run_python("while True: pass", job, limits=Limits(cpu_seconds=1, wall_seconds=90))
    assert result.killed_by == "cpu"
    assert not result.timed_out
    assert not result.ok


def test_memory_bomb_is_stopped_by_the_memory_limit(job):
    result = run_python(
        _py(
            """
            hoard = []
            while True:
                hoard.append(bytearray(16 * 1024 * 1024))
            """
        ),
        job,
        limits=Limits(memory_bytes=256 * MiB, cpu_seconds=10, wall_seconds=60),
    )
    assert result.exit_code != 0
    assert "MemoryError" in result.stderr_text
    assert not result.timed_out


def test_fork_bomb_is_stopped_by_the_process_limit(job):
    result = run_python(
        _py(
            """
            import os, time
            first = os.getpid()
            children = 0
            while True:
                try:
                    pid = os.fork()
                except OSError as exc:
                    if os.getpid() == first:
                        print("refused after", children, "errno", exc.errno, flush=True)
                    break
                if pid == 0:
                    children = 0  # every child forks on too
                    continue
                children += 1
            time.sleep(0.5)
            """
        ),
        job,
        limits=Limits(processes=16, cpu_seconds=10, wall_seconds=60),
    )
    assert not result.timed_out
    assert "refused after" in result.stdout_text
    assert "errno 11" in result.stdout_text  # EAGAIN
    assert int(result.stdout_text.split("refused after")[1].split()[0]) < 16
    # The hub itself can still start processes.
    assert subprocess.run(["true"]).returncode == 0


def test_huge_file_is_stopped_by_the_file_size_limit(job):
    limits = Limits(file_size_bytes=1 * MiB, tmp_bytes=4 * MiB, cpu_seconds=10, wall_seconds=60)
    result = run_python(
        _py(
            """
            import errno
            try:
                with open("big.bin", "wb") as fh:
                    for _ in range(100):
                        fh.write(b"x" * 1024 * 1024)
            except OSError as exc:
                print("stopped", errno.errorcode[exc.errno])
            try:
                with open("/tmp/fill", "wb") as fh:
                    for _ in range(100):
                        fh.write(b"y" * 512 * 1024)
                        fh.flush()
                        fh2 = open("/tmp/fill-%d" % fh.tell(), "wb")
                        fh2.write(b"z" * 512 * 1024)
                        fh2.close()
            except OSError as exc:
                print("tmp stopped", errno.errorcode[exc.errno])
            """
        ),
        job,
        limits=limits,
    )
    assert "stopped EFBIG" in result.stdout_text, result.stderr_text
    assert "tmp stopped" in result.stdout_text
    assert (job / "big.bin").stat().st_size <= 1 * MiB
    # A program that does not ignore SIGXFSZ is killed by it.
    shell = run_sandboxed(["/bin/sh", "-c", "head -c 5000000 /dev/zero > big2.bin"], job,
                          limits=limits)
    assert shell.killed_by == "file_size"
    assert (job / "big2.bin").stat().st_size <= 1 * MiB


def test_fd_exhaustion_is_stopped_by_the_open_files_limit(job):
    result = run_python(
        _py(
            """
            import errno
            held = []
            try:
                while True:
                    held.append(open("/dev/null"))
            except OSError as exc:
                print(len(held), errno.errorcode[exc.errno])
            """
        ),
        job,
        limits=Limits(open_files=32, cpu_seconds=10, wall_seconds=60),
    )
    assert result.ok, result.stderr_text
    count, code = result.stdout_text.split()
    assert code == "EMFILE"
    assert 20 < int(count) < 32


def test_output_flood_is_capped(job):
    result = run_python(
        _py(
            """
            import sys
            line = "flood " * 1000 + "\\n"
            for _ in range(4000):  # 24 MB on each stream
                sys.stdout.write(line)
                sys.stderr.write(line)
            print("the end")
            """
        ),
        job,
        limits=Limits(output_bytes=10_000, cpu_seconds=30, wall_seconds=120),
    )
    assert result.ok, result.stderr_text[-300:]
    assert result.stdout_truncated and result.stderr_truncated
    assert len(result.stdout) == 10_000
    assert len(result.stderr) == 10_000
    assert result.stdout.startswith(b"flood flood")
    assert b"the end" not in result.stdout


def test_endless_output_is_capped_until_a_limit_stops_it(job):
    result = run_python(
        "import sys\nwhile True: sys.stdout.write('x' * 4096)",
        job,
        limits=Limits(output_bytes=1000, cpu_seconds=1, wall_seconds=8),
    )
    assert result.stdout == b"x" * 1000 and result.stdout_truncated
    assert result.killed_by in ("cpu", "wall_clock")


def test_sleeping_forever_is_killed_at_the_wall_clock_with_its_children(job):
    marker = f"skiff-sandbox-test-{uuid.uuid4().hex}"
    result = run_python(
        _py(
            f"""
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", {marker!r}],
                             start_new_session=True)
            print("started", flush=True)
            time.sleep(1000)
            """
        ),
        job,
        limits=Limits(wall_seconds=4, cpu_seconds=5),
    )
    assert result.timed_out
    assert result.killed_by == "wall_clock"
    assert result.stdout_text == "started\n"
    assert 4 <= result.duration < 20
    assert _processes_with(marker) == []


def test_hub_process_is_unaffected(job):
    before = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
    }
    run_python("while True: pass", job, limits=Limits(cpu_seconds=1, open_files=16,
                                                       processes=4, memory_bytes=128 * MiB))
    after = {name: resource.getrlimit(getattr(resource, name)) for name in before}
    assert after == before
    # And it still opens files and allocates memory freely.
    held = [open(os.devnull) for _ in range(64)]
    for fh in held:
        fh.close()
    assert len(bytearray(200 * MiB)) == 200 * MiB


def test_refuses_to_run_without_a_sandbox(job, monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", str(job / "no-such-bwrap"))
    monkeypatch.setattr(sandbox, "_probe_result", None)
    with pytest.raises(SandboxUnavailable, match="never runs it unsandboxed"):
        run_python("open('ran', 'w').write('yes')", job, limits=QUICK)
    assert not (job / "ran").exists()


def test_refuses_when_bubblewrap_cannot_create_a_sandbox(job, monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "/bin/false")
    monkeypatch.setattr(sandbox, "_probe_result", None)
    assert not sandbox.is_available()
    with pytest.raises(SandboxUnavailable, match="could not create a sandbox"):
        run_sandboxed(["/bin/sh", "-c", "touch ran"], job, limits=QUICK)
    assert not (job / "ran").exists()


def test_read_job_file_refuses_links_out_of_the_job_dir(job):
    result = run_python(
        _py(
            """
            import os
            os.symlink("/etc/hostname", "leak")
            os.mkdir("sub")
            os.symlink("/etc", "sub/etc")
            open("sub/ok.txt", "w").write("fine")
            """
        ),
        job,
        limits=QUICK,
    )
    assert result.ok, result.stderr_text
    assert read_job_file(job, "sub/ok.txt") == b"fine"
    with pytest.raises(OSError):
        read_job_file(job, "leak")
    with pytest.raises(OSError):
        read_job_file(job, "sub/etc/hostname")
    with pytest.raises(ValueError):
        read_job_file(job, "../outside")
    with pytest.raises(ValueError, match="larger than"):
        read_job_file(job, "sub/ok.txt", max_bytes=2)


def test_limits_are_validated():
    with pytest.raises(ValueError):
        Limits(memory_bytes=0)
    with pytest.raises(ValueError):
        Limits(wall_seconds=-1)


def test_notebook_runs_in_the_sandbox_with_a_python3_kernel(job):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import framework\nanswer = 6 * 7"),
        nbformat.v4.new_code_cell("print('answer', answer)"),
    ]
    nbformat.write(nb, job / "lesson.ipynb")
    runner = _py(
        """
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read("lesson.ipynb", as_version=4)
        NotebookClient(nb, kernel_name="python3", timeout=30).execute()
        nbformat.write(nb, "executed.ipynb")
        """
    )
    result = run_python(runner, job, env=kernel_env(),
                        limits=Limits(memory_bytes=1024 * MiB, processes=32, wall_seconds=60))
    assert result.ok, result.stderr_text
    executed = nbformat.reads(read_job_file(job, "executed.ipynb").decode(), as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "answer 42\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="as an ordinary user every test above already "
                    "runs the sandbox unprivileged")
@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"),
                    reason="needs Debian's /usr/bin/python3, which an unprivileged user can run")
def test_unprivileged_hub_gets_the_same_sandbox():
    """The hub run by an ordinary user: bubblewrap makes a user namespace, limits still hold."""
    import json
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="skiff-unpriv-", dir="/tmp"))
    try:
        base.chmod(0o755)
        shutil.copy(sandbox.__file__, base / "sandbox.py")
        job = base / "job"
        job.mkdir()
        os.chown(job, 65534, 65534)
        probe = _py(
            """
            import json, sys
            sys.path.insert(0, sys.argv[1])
            import sandbox as sb
            fork = (
                "import os, time\\n"
                "n = 0\\n"
                "while True:\\n"
                "    try: pid = os.fork()\\n"
                "    except OSError: break\\n"
                "    if pid == 0: time.sleep(1); os._exit(0)\\n"
                "    n += 1\\n"
                "print(n)\\n"
            )
            forks = sb.run_sandboxed(["/usr/bin/python3", "-c", fork], sys.argv[2],
                                     limits=sb.Limits(processes=12, wall_seconds=20))
            writes = sb.run_sandboxed(
                ["/bin/sh", "-c", "echo ok > /job/ok; echo no > /usr/no; id -u"], sys.argv[2],
                limits=sb.Limits(wall_seconds=20))
            print(json.dumps({"forks": forks.stdout_text, "writes": writes.stdout_text,
                              "errors": writes.stderr_text, "uid": __import__("os").getuid()}))
            """
        )
        (base / "probe.py").write_text(probe)
        out = subprocess.run(
            ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "/usr/bin/python3", str(base / "probe.py"), str(base), str(job)],
            capture_output=True, text=True, timeout=60, cwd=base,
        )
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["uid"] == 65534
        assert int(report["forks"]) < 12  # the process limit holds inside the user namespace
        assert (job / "ok").read_text() == "ok\n"
        assert "Read-only file system" in report["errors"]
        assert not Path("/usr/no").exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_filling_the_disk_through_the_job_dir_is_stopped(job):
    (job / "input.bin").write_bytes(b"i" * (3 * MiB))  # what the hub put there does not count
    result = run_python(
        _py(
            """
            for i in range(100_000):
                with open(f"part-{i}.bin", "wb") as fh:
                    fh.write(b"d" * 1024 * 1024)
            print("filled the disk")
            """
        ),
        job,
        limits=Limits(job_dir_bytes=16 * MiB, file_size_bytes=2 * MiB, wall_seconds=60),
    )
    assert result.killed_by == "disk"
    assert "filled the disk" not in result.stdout_text
    assert len(list(job.glob("part-*.bin"))) < 100_000


def test_flooding_the_job_dir_with_files_is_stopped(job):
    result = run_python(
        _py(
            """
            import os
            for i in range(1_000_000):
                os.mkdir(f"d{i}")
            print("made them all")
            """
        ),
        job,
        limits=Limits(job_dir_files=500, wall_seconds=60),
    )
    assert result.killed_by == "disk"
    assert "made them all" not in result.stdout_text
    assert len(os.listdir(job)) < 1_000_000


def test_shared_memory_is_private_and_limited(job):
    result = run_python(
        _py(
            """
            import errno, multiprocessing
            lock = multiprocessing.Lock()  # needs a writable /dev/shm
            with lock:
                print("locked")
            for path in ("/dev/evil", "/evil"):
                try:
                    open(path, "w")
                except OSError as exc:
                    print("refused", path, errno.errorcode[exc.errno])
            try:
                with open("/dev/shm/fill", "wb") as fh:
                    for _ in range(64):
                        fh.write(b"s" * 1024 * 1024)
                        fh.flush()
            except OSError as exc:
                print("shm full", errno.errorcode[exc.errno])
            """
        ),
        job,
        limits=Limits(tmp_bytes=8 * MiB, wall_seconds=60),
    )
    assert result.ok, result.stderr_text
    out = result.stdout_text
    assert "locked" in out
    assert "refused /dev/evil EROFS" in out
    assert "refused /evil EROFS" in out
    assert "shm full ENOSPC" in out


def test_no_new_user_namespaces_but_threads_and_processes_work(job):
    result = run_python(
        _py(
            """
            import ctypes, multiprocessing, subprocess, threading
            libc = ctypes.CDLL(None, use_errno=True)
            print("unshare", libc.unshare(0x10000000), ctypes.get_errno())  # CLONE_NEWUSER
            tool = subprocess.run(["unshare", "--user", "--map-root-user", "true"],
                                  capture_output=True, text=True)
            print("unshare tool", tool.returncode)
            print(subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip())
            t = threading.Thread(target=print, args=("thread",))
            t.start()
            t.join()
            p = multiprocessing.Process(target=print, args=("process",))
            p.start()
            p.join()
            """
        ),
        job,
        limits=QUICK,
    )
    assert result.ok, result.stderr_text
    lines = result.stdout_text.splitlines()
    assert "unshare -1 1" in lines  # EPERM: no user namespace, so no private unlimited tmpfs
    assert "unshare tool 1" in lines
    assert {"child", "thread", "process"} <= set(lines)


def test_seccomp_program_shape():
    program = sandbox.seccomp_program("x86_64")
    assert program is not None and len(program) % 8 == 0
    assert sandbox.seccomp_program("aarch64") is not None
    assert sandbox.seccomp_program("some-other-arch") is None


@pytest.mark.parametrize("bad", ["/", "/tmp", str(ROOT), str(ROOT / "hub"), sys.prefix])
def test_job_dir_must_be_a_folder_of_its_own(bad):
    with pytest.raises(ValueError):
        run_sandboxed(["/bin/true"], bad, limits=QUICK)


def test_job_dir_may_not_be_the_app_instance(app, tmp_path):
    with app.app_context():
        with pytest.raises(ValueError, match="contains"):
            run_sandboxed(["/bin/true"], app.instance_path, limits=QUICK)
        inside = Path(app.instance_path) / "sandbox-jobs" / "job-1"
        inside.mkdir(parents=True)
        assert run_sandboxed(["/bin/true"], inside, limits=QUICK).ok
