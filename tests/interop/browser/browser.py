"""Headless Chromium against examples/echo_server --deflate: echo.html, served by a local
http.server, connects to the echo server, checks that permessage-deflate was negotiated, echoes
text and binary messages of 1 B, 125 B, 126 B, 64 KiB and 1 MiB, closes with 1000 and writes
"PASS ..." or "FAIL reason" into the page. This script reads that line over the DevTools
protocol (--remote-debugging-pipe: no extra package, and it waits for the page's async work in
real time, which --dump-dom with a virtual time budget does not) and exits 0 only on PASS.

The server command comes from the first argument or ECHO_SERVER_CMD, with {port} and
{examples} filled in; the default is "{examples}/echo_server 127.0.0.1:{port} --deflate".
WS_EXPECT_DEFLATE=0 turns the extension check off, for development against a server without
--deflate only: the CI step sets it to 1. 127.0.0.1 only; every wait is bounded."""
import functools
import http.server
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import EXAMPLES, free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CMD = "{examples}/echo_server 127.0.0.1:{port} --deflate"
PAGE_TIMEOUT = 90  # the page's own steps time out after 20 s each
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "chromium")


class EchoServer:
    """The server command on a free port; waits (bounded) for its "listening" line."""

    def __init__(self, template):
        self.port = free_port()
        self.argv = shlex.split(template.format(port=self.port, examples=EXAMPLES))
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.stderr = []
        line = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout=10)
        if not line or "listening" not in line[0]:
            self.stop()
            raise RuntimeError(f"{' '.join(self.argv)} did not start: {line!r} "
                               f"{self.proc.stderr.read()[-500:]!r}")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class PageServer:
    """http.server on 127.0.0.1 serving this directory, in a thread, shut down on exit."""

    def __init__(self):
        handler = functools.partial(Quiet, directory=HERE)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class Cdp:
    """The DevTools protocol over the pipe Chromium opens with --remote-debugging-pipe: it
    reads NUL-terminated JSON on its fd 3 and writes on its fd 4."""

    def __init__(self, to_browser, from_browser):
        self.w, self.r = to_browser, from_browser
        self.buf = b""
        self.next_id = 0

    def call(self, method, params=None, session=None, timeout=10):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {method} in {timeout} s")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe during {method}")
                self.buf += chunk


def run_page(page_url):
    """Opens page_url in headless Chromium; returns the verdict line (bounded in time)."""
    to_r, to_w = os.pipe()      # we write, Chromium reads on its fd 3
    from_r, from_w = os.pipe()  # Chromium writes on its fd 4, we read
    profile = tempfile.mkdtemp(prefix="wsmachine-chromium-")
    log = tempfile.TemporaryFile(mode="w+")
    argv = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--no-proxy-server", "--disable-extensions",
            "--disable-background-networking", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]

    def fds():
        # os.pipe() fds are close-on-exec; the dup2 copies are not, so only 3 and 4 cross exec.
        os.dup2(to_r, 3)
        os.dup2(from_w, 4)

    # Chromium runs in its own process group so that all its children go with it.
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            preexec_fn=fds, close_fds=False, start_new_session=True)
    os.close(to_r)
    os.close(from_w)
    try:
        cdp = Cdp(to_w, from_r)
        cdp.call("Browser.getVersion", timeout=30)
        target = cdp.call("Target.createTarget", {"url": page_url})["targetId"]
        session = cdp.call("Target.attachToTarget",
                           {"targetId": target, "flatten": True})["sessionId"]
        deadline = time.monotonic() + PAGE_TIMEOUT
        line = "RUNNING"
        while time.monotonic() < deadline:
            result = cdp.call("Runtime.evaluate", {
                "expression": "(document.getElementById('verdict') || {}).textContent || ''",
                "returnByValue": True}, session=session)
            line = result.get("result", {}).get("value", "")
            if line and line not in ("RUNNING",):
                return line
            time.sleep(0.2)
        return f"FAIL no verdict in {PAGE_TIMEOUT} s (page says {line!r})"
    except Exception as e:  # noqa: BLE001 - a broken browser run is a FAIL line too
        log.seek(0)
        tail = log.read()[-2000:]
        return f"FAIL driver: {e}; chromium log tail:\n{tail}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        os.close(to_w)
        os.close(from_r)
        shutil.rmtree(profile, ignore_errors=True)


def main():
    signal.alarm(180)  # a hang anywhere ends the script, not the CI job
    template = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ECHO_SERVER_CMD", DEFAULT_CMD)
    expect_deflate = os.environ.get("WS_EXPECT_DEFLATE", "1") != "0"
    start = time.monotonic()
    try:
        server = EchoServer(template)
    except RuntimeError as e:
        print(f"FAIL {e}", flush=True)
        print(f"chromium vs {template}: FAIL (the server did not start)", flush=True)
        sys.exit(1)
    pages = PageServer()
    try:
        url = (f"http://127.0.0.1:{pages.port}/echo.html?ws=ws://127.0.0.1:{server.port}/echo"
               f"&deflate={1 if expect_deflate else 0}")
        verdict = run_page(url)
    finally:
        pages.stop()
        server.stop()
    note = "" if expect_deflate else " (extension check OFF: development only)"
    print(verdict, flush=True)
    if server.stderr:
        print("server stderr:", *server.stderr[-10:], sep="\n  ")
    ok = verdict.startswith("PASS")
    shown = [os.path.basename(server.argv[0]), *server.argv[1:]]
    print(f"chromium vs {' '.join(shown).replace(str(server.port), 'PORT')}: "
          f"{'PASS' if ok else 'FAIL'}{note} in {time.monotonic() - start:.1f} s", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
