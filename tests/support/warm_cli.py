"""A warm `accessctl` for tests that run it many times through a shell (the workflow tests).

Each `accessctl` process spends about half a second importing (pydantic models, requests,
ruamel.yaml) before it does anything; a workflow test runs it twenty times. `WarmCli` starts one
server per test session (per xdist worker) that imports the whole package once, and writes an
`accessctl` into a folder the test puts first on PATH. That `accessctl` is a small client
(`python -IS`, a few milliseconds): it hands its stdin, stdout and stderr (the file
descriptors themselves), its arguments, environment and working folder to the server, which
forks. The child is a process of its own, exactly as if exec'd: the client's descriptors as 0, 1
and 2, fresh `sys.std*` streams over them, the client's environment in `os.environ` (and so in
anything it starts), its folder, `sys.argv`; it runs `reconciler.cli.main` and the client exits
with its exit code (a traceback prints and exits 1 as the interpreter would).

What differs from a cold start is only what the interpreter reads from the environment at start
(PYTHON*, locale variables): when those differ from the server's, the client runs the real
`accessctl` instead. Tests whose point is the process itself (start-up time, signals, a terminal,
the installed entry point) keep running the real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent

# Read by the interpreter at start-up: a client whose values differ runs the real accessctl.
STARTUP_PREFIXES = ("PYTHON", "LC_")
STARTUP_NAMES = ("LANG", "LANGUAGE")
HANDLED = ("PYTHONUNBUFFERED",)  # the child applies it to its streams

CLIENT = """\
#!{python} -IS
import array, os, signal, socket, struct, sys
real = {real!r}
names = [k for k in os.environ if k.startswith({prefixes!r}) or k in {names!r}]
startup = {{k: os.environ[k] for k in names if k not in {handled!r}}}
if startup != {startup!r}:
    os.execv(real, [real, *sys.argv[1:]])
child = None


def forward(signum, _frame):
    if child is None:
        os._exit(128 + signum)  # the server's child sees the hang-up and stops too
    os.kill(child, signum)


for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, forward)
fields = [os.getcwd(), str(len(sys.argv)), real, *sys.argv[1:]]
fields += [k + "=" + v for k, v in os.environ.items()]
data = b"\\0".join(os.fsencode(f) for f in fields)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.connect({socket!r})
fds = array.array("i", [0, 1, 2])
server.sendmsg([struct.pack("!Q", len(data))], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
server.sendall(data)
reply = server.makefile("rb")
child = int(reply.readline())
code = reply.readline()
sys.exit(int(code) if code else 1)
"""

SERVER = r"""
import array, atexit, gc, io, os, pkgutil, signal, socket, struct, sys, tempfile, threading
import importlib, traceback

sys.path[0] = os.path.dirname(sys.argv[2])  # as for the accessctl script (`-c` put "" there)

import reconciler
from reconciler.cli import cli, main

cli.commands  # every command module
for module in pkgutil.walk_packages(reconciler.__path__, "reconciler."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
gc.collect()
gc.freeze()  # shared with the children, never copied by a collection


def receive(conn):
    size = struct.calcsize("!Q")
    data, ancillary, _, _ = conn.recvmsg(size, socket.CMSG_SPACE(3 * array.array("i").itemsize))
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    (length,) = struct.unpack("!Q", data)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise EOFError
        body += chunk
    return list(fds), [os.fsdecode(f) for f in body.split(b"\0")]


def stream(fd, mode, encoding, errors, line_buffering):
    # As the interpreter opens sys.std*: over the descriptor, line-buffered on a terminal,
    # not buffered at all with PYTHONUNBUFFERED.
    raw = io.FileIO(fd, mode, closefd=False)
    if mode == "r":
        return io.TextIOWrapper(io.BufferedReader(raw), encoding, errors)
    if os.environ.get("PYTHONUNBUFFERED"):
        return io.TextIOWrapper(raw, encoding, errors, write_through=True)
    buffered = io.BufferedWriter(raw)
    return io.TextIOWrapper(buffered, encoding, errors, line_buffering=line_buffering)


def watch(conn):
    # The client is gone (killed, even with SIGKILL): so is this process, as an exec'd one would be.
    conn.recv(1)
    os.kill(os.getpid(), signal.SIGKILL)


def run(conn, listener):
    listener.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fds, fields = receive(conn)
    conn.sendall(b"%d\n" % os.getpid())  # the client forwards SIGTERM, SIGINT and SIGHUP here
    threading.Thread(target=watch, args=(conn,), daemon=True).start()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    cwd, count = fields[0], int(fields[1])
    argv, env = fields[2 : 2 + count], fields[2 + count :]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(item.split("=", 1) for item in env)
    sys.argv = argv
    tempfile.tempdir = None  # found again from TMPDIR
    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = sys.__stdin__ = stream(0, "r", encoding, errors, False)
    sys.stdout = sys.__stdout__ = stream(1, "w", encoding, errors, os.isatty(1))
    sys.stderr = sys.__stderr__ = stream(2, "w", encoding, "backslashreplace", True)
    code = 0
    try:
        main()
    except SystemExit as stop:
        if stop.code is None:
            code = 0
        elif isinstance(stop.code, int):
            code = stop.code
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        conn.sendall(b"%d\n" % code)
        os._exit(code)


listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
listener.listen(64)


def reap(_signum, _frame):
    # Waited for, not ignored: their CPU time then counts in the test run's own (`time make test`).
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


signal.signal(signal.SIGCHLD, reap)
print("ready", flush=True)
while True:
    conn, _ = listener.accept()
    if os.fork() == 0:
        run(conn, listener)
    conn.close()
"""


def _startup(environ: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in environ.items() if k.startswith(STARTUP_PREFIXES) or k in STARTUP_NAMES
    }


class WarmCli:
    """`start(folder)` starts the server and writes `folder/bin/accessctl`; `bin` is that folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.bin = folder / "bin"
        self._server: subprocess.Popen[str] | None = None

    def start(self) -> WarmCli:
        self.bin.mkdir(parents=True, exist_ok=True)
        path = self.folder / "accessctl.sock"  # AF_UNIX: keep the folder's path short
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCESSCTL_", "GITHUB_"))}
        with (self.folder / "server.log").open("w") as log:
            self._server = subprocess.Popen(
                [sys.executable, "-c", SERVER, str(path), str(BIN / "accessctl")],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self._server.stdout is not None
        if self._server.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError((self.folder / "server.log").read_text())
        client = self.bin / "accessctl"
        client.write_text(
            CLIENT.format(
                python=sys.executable,
                real=str(BIN / "accessctl"),
                prefixes=STARTUP_PREFIXES,
                names=STARTUP_NAMES,
                handled=HANDLED,
                startup={k: v for k, v in _startup(dict(os.environ)).items() if k not in HANDLED},
                socket=str(path),
            )
        )
        client.chmod(0o755)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.kill()
            self._server.wait()
            if self._server.stdout is not None:
                self._server.stdout.close()
            self._server = None
