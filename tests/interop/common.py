"""Helpers for the interop checks: free ports, the example binaries, a tiny test runner."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.environ.get("EXAMPLES", os.path.join(ROOT, "target", "release", "examples"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example(name):
    path = os.path.join(EXAMPLES, name)
    if not os.access(path, os.X_OK):
        sys.exit(f"missing {path}: build the release examples first")
    return path


class Server:
    """An example server on a free 127.0.0.1 port, with optional flags, stopped on exit."""

    def __init__(self, name, args=()):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [example(name), f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr = []
        deadline = time.monotonic() + 10
        # Wait for the line saying it listens (the pipe read is bounded by the process).
        reader = threading.Thread(target=lambda: self._first_line(), daemon=True)
        self._line = None
        reader.start()
        reader.join(timeout=max(0, deadline - time.monotonic()))
        line = self._line or ""
        if "listening" not in line:
            self.stop()
            raise RuntimeError(f"{name} did not start: {line!r}")
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _first_line(self):
        self._line = self.proc.stdout.readline()

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run(title, checks):
    """Runs each check (a function), prints one line each and a summary; True if all passed."""
    # A hang anywhere (a pipe read, a socket) ends the script instead of the CI job.
    signal.alarm(180)
    failed = 0
    start = time.monotonic()
    for check in checks:
        t0 = time.monotonic()
        try:
            check()
            print(f"ok   {check.__name__} ({time.monotonic() - t0:.2f} s)", flush=True)
        except Exception:  # noqa: BLE001 - report every failure, go on
            failed += 1
            print(f"FAIL {check.__name__}", flush=True)
            traceback.print_exc()
    print(f"{title}: {len(checks) - failed} passed, {failed} failed "
          f"in {time.monotonic() - start:.1f} s", flush=True)
    return failed == 0
