"""wss:// interop: the `websockets` client, with an `ssl` context trusting a throwaway CA, against
`echo_server` and `tokio_echo` started with `--tls-cert CERT --tls-key KEY`: text, binary and
1 MiB echoes by host name and by IP literal (its IP SAN), a clean close; a client trusting
another CA, or expecting another host name, fails with a certificate error on the Python side;
a plain ws:// client on the TLS port is refused; the server keeps serving after each. Then
examples/client (`client wss://HOST:PORT/ --ca CA`) against a `websockets` server with an `ssl`
context: lines echoed by name and IP literal, exit 0; another CA, exit 1 saying "unknown CA".

The certificates are made at run time by `tests/tls.rs` (`WSMACHINE_WRITE_TEST_PKI=DIR cargo
test --all-features --test tls write_test_pki_when_asked`: the features of CI's test step, so
its build is reused), or taken from `WSMACHINE_TEST_PKI=DIR` if set
(`DIR/{ca,cert,key}.pem` and `DIR/other/ca.pem`). `TLS_SERVERS=echo_server` limits the servers,
`TLS_CLIENT=0` skips the client checks.
127.0.0.1 only, random free ports, every wait bounded."""
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from websockets.exceptions import InvalidHandshake, InvalidMessage
from websockets.sync.client import connect
from websockets.sync.server import serve

from common import ROOT, example, free_port, run

TIMEOUT = 10


def make_pki():
    """The PKI directory: given, or written by the Rust test helper into a temporary one."""
    given = os.environ.get("WSMACHINE_TEST_PKI")
    if given:
        return given, None
    tmp = tempfile.mkdtemp(prefix="wsmachine-tls-interop-")
    env = dict(os.environ, WSMACHINE_WRITE_TEST_PKI=tmp)
    cargo = os.environ.get("CARGO", "cargo")
    proc = subprocess.run(
        [cargo, "test", "--quiet", "--all-features", "--test", "tls", "write_test_pki_when_asked",
         "--", "--exact"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not os.path.exists(os.path.join(tmp, "other", "ca.pem")):
        sys.exit(f"could not write the test PKI:\n{proc.stdout}\n{proc.stderr}")
    return tmp, tmp


class TlsServer:
    """An example server on a free 127.0.0.1 port with --tls-cert/--tls-key, stopped on exit."""

    def __init__(self, name, pki):
        self.name = name
        self.port = free_port()
        cert, key = os.path.join(pki, "cert.pem"), os.path.join(pki, "key.pem")
        self.proc = subprocess.Popen(
            [example(name), f"127.0.0.1:{self.port}", "--tls-cert", cert, "--tls-key", key],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr = []
        line = {}
        reader = threading.Thread(target=lambda: line.update(first=self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout=10)
        if "listening" not in line.get("first", ""):
            self.stop()
            raise RuntimeError(f"{name} did not start with TLS: {line.get('first')!r} "
                               f"{self.proc.stderr.read() if self.proc.poll() is not None else ''}")
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def url(self, host="localhost", scheme="wss"):
        return f"{scheme}://{host}:{self.port}/echo"

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def context(cafile):
    # Python's default verification: the CA, the host name or IP SAN, strict X.509 (3.13+).
    return ssl.create_default_context(cafile=cafile)


def wss(url, ctx, **kwargs):
    return connect(url, ssl=ctx, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None,
                   max_size=None, **kwargs)


def echo(c):
    for message in ["hello over TLS", "", "été ✓ 𝄞", "z" * 65536]:
        c.send(message)
        assert c.recv(timeout=TIMEOUT) == message
    for message in [b"\x00\xff\x80", b"", bytes(range(256)) * 300]:
        c.send(message)
        assert c.recv(timeout=TIMEOUT) == message


def checks(server, pki):
    good = context(os.path.join(pki, "ca.pem"))
    other = context(os.path.join(pki, "other", "ca.pem"))

    def text_and_binary_by_name():
        with wss(server.url("localhost"), good) as c:
            echo(c)
            c.close()
            assert c.close_code == 1000, c.close_code

    def by_ip_literal():
        with wss(server.url("127.0.0.1"), good) as c:
            echo(c)

    def one_mebibyte():
        data = os.urandom(1 << 20)
        with wss(server.url(), good) as c:
            c.send(data)
            assert c.recv(timeout=TIMEOUT) == data

    def wrong_ca_is_a_certificate_error():
        try:
            wss(server.url(), other).close()
        except ssl.SSLCertVerificationError as e:
            assert "certificate verify failed" in str(e), e
        else:
            raise AssertionError("a client trusting another CA got through")
        still_serving()

    def wrong_name_is_a_certificate_error():
        try:
            wss(server.url(), good, server_hostname="example.com").close()
        except ssl.SSLCertVerificationError as e:
            assert "mismatch" in str(e) or "match" in str(e), e
        else:
            raise AssertionError("a certificate for localhost passed as example.com")
        still_serving()

    def plain_client_is_refused():
        t0 = time.monotonic()
        try:
            connect(server.url(scheme="ws"), open_timeout=TIMEOUT, proxy=None).close()
        except (InvalidHandshake, InvalidMessage, EOFError, OSError) as e:
            assert time.monotonic() - t0 < TIMEOUT, "refused only by the timeout"
            print(f"     plain client: {type(e).__name__}: {e}", flush=True)
        else:
            raise AssertionError("a plain ws:// client got through the TLS port")
        still_serving()
        # The server said why, on stderr.
        deadline = time.monotonic() + 2
        while not any("not TLS" in line for line in server.stderr):
            assert time.monotonic() < deadline, server.stderr[-5:]
            time.sleep(0.05)

    def still_serving():
        with wss(server.url(), good) as c:
            c.send("still here")
            assert c.recv(timeout=TIMEOUT) == "still here"

    return [text_and_binary_by_name, by_ip_literal, one_mebibyte,
            wrong_ca_is_a_certificate_error, wrong_name_is_a_certificate_error,
            plain_client_is_refused]


class WssServer:
    """A `websockets` echo server with TLS on a free port, in a thread."""

    def __init__(self, pki):
        self.port = free_port()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(pki, "cert.pem"), os.path.join(pki, "key.pem"))
        self.closes = []

        def handler(ws):
            for message in ws:
                ws.send(message)
            self.closes.append(ws.close_code)

        self.server = serve(handler, "127.0.0.1", self.port, ssl=ctx, compression=None,
                            open_timeout=TIMEOUT, close_timeout=TIMEOUT)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(TIMEOUT)


def client_checks(pki):
    client = example("client")

    def run_client(url, ca, lines):
        """Each line written, its echo read back before the next (a close sent right after
        the last line would overtake echoes on their way); then stdin ends."""
        proc = subprocess.Popen([client, url, "--ca", ca], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        echoed = []
        try:
            for line in lines:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                echoed.append(proc.stdout.readline())
            out, err = proc.communicate(timeout=2 * TIMEOUT)
        except BrokenPipeError:
            out, err = proc.communicate(timeout=2 * TIMEOUT)
        finally:
            proc.kill()
        return proc.returncode, "".join(echoed) + out, err

    def client_echoes_over_wss():
        with WssServer(pki) as server:
            for host in ["localhost", "127.0.0.1"]:
                url = f"wss://{host}:{server.port}/chat"
                # One line: a close right after several could overtake their echoes.
                lines = ["hello ✓", "x" * 100_000, "last"]
                code, out, err = run_client(url, os.path.join(pki, "ca.pem"), lines)
                assert code == 0, err
                assert out == "".join(f"{x}\n" for x in lines), out[:100]
            time.sleep(0.2)
            assert server.closes == [1000, 1000], server.closes

    def client_with_another_ca_fails():
        with WssServer(pki) as server:
            url = f"wss://localhost:{server.port}/"
            code, out, err = run_client(url, os.path.join(pki, "other", "ca.pem"), ["x"])
            assert code == 1, (code, err)
            assert "unknown CA" in err, err
            assert out == "", out

    return [client_echoes_over_wss, client_with_another_ca_fails]


if __name__ == "__main__":
    pki, tmp = make_pki()
    names = os.environ.get("TLS_SERVERS", "echo_server tokio_echo").split()
    results = []
    try:
        for name in names:
            with TlsServer(name, pki) as server:
                results.append(run(f"websockets wss:// client vs {name}", checks(server, pki)))
                for line in server.stderr:
                    print(f"     {name} said: {line}", flush=True)
        if os.environ.get("TLS_CLIENT", "1") != "0":
            results.append(run("examples/client over wss:// vs websockets", client_checks(pki)))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if all(results) else 1)
