"""Shared fixtures: an egress-server process started by the tests, and grpcio stubs generated
from Protos/ at test time.

EGRESS_SERVER_BIN names the binary (default .build/debug/egress-server)."""
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import grpc
import pytest

import media
import tokens

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("EGRESS_SERVER_BIN", ROOT / ".build/debug/egress-server"))


class Server:
    """One egress-server process on 127.0.0.1 with OS-chosen gRPC and RTP ports and its own output dir.
    It runs with --dev (API key devkey, secret "secret") unless `dev=False`; with `by_environment`
    its addresses, port file and output directory are given as EGRESS_* variables, not flags. With
    `directory`, its recordings (and beside them its records, recordings-state) go there, where a
    later server can take them up; otherwise into a temporary directory removed at stop."""

    def __init__(self, *args, env=None, dev=True, by_environment=False, directory=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="egress-test-")
        self.output_dir = Path(directory or self.tmp.name) / "recordings"
        self.state_dir = Path(f"{self.output_dir}-state")
        port_file = Path(self.tmp.name) / "port"
        self.log_path = Path(self.tmp.name) / "server.log"
        self.log = open(self.log_path, "wb")
        assert BINARY.exists(), f"{BINARY} is not built (swift build)"
        places = {"EGRESS_HOST": "127.0.0.1", "EGRESS_PORT": "0", "EGRESS_RTP_PORT": "0",
                  "EGRESS_PORT_FILE": str(port_file), "EGRESS_OUTPUT_DIR": str(self.output_dir)}
        flags = [] if by_environment else [
            "--host", "127.0.0.1", "--port", "0", "--rtp-port", "0", "--port-file", str(port_file), "--output-dir", str(self.output_dir)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("EGRESS_") or k.endswith("_BIN")}
        self.process = subprocess.Popen(
            [str(BINARY), *flags, *(["--dev"] if dev else []), *args],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**environment, **(places if by_environment else {}), **(env or {})})
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log_text()
                self.stop()
                raise RuntimeError(f"server did not start:\n{log}")
            time.sleep(0.02)
        self.port, self.rtp_port = (int(line) for line in port_file.read_text().split())
        self.address = f"127.0.0.1:{self.port}"

    def channel(self, **options):
        """A channel whose calls carry a token with the grants they need (see tokens.py)."""
        return tokens.signed(self.raw_channel(**options))

    def raw_channel(self, **options):
        """A channel that sends no token of its own."""
        return grpc.insecure_channel(self.address, options=list(options.items()))

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def peak_growth_mib(self, before_kib, seconds):
        """The largest growth of the resident memory over `seconds`, from `before_kib`."""
        peak = before_kib
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            peak = max(peak, self.rss_kib())
            time.sleep(0.1)
        return (peak - before_kib) / 1024

    def alive(self) -> bool:
        return self.process.poll() is None

    def terminate(self, timeout=20) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self):
        if self.process.poll() is not None and self.process.returncode not in (0, -signal.SIGKILL):
            # It died on its own: show why before the log goes with the temporary directory.
            print(f"egress-server exited with {self.process.returncode}; its log ends:\n{self.log_text()[-40000:]}")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def fresh_server():
    """A server of the test's own, for tests that change or end it."""
    servers = []

    def start(*args, **kwargs):
        servers.append(Server(*args, **kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (openssl)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="session")
def stubs():
    """The grpcio modules generated from Protos/ by grpcio-tools, as a namespace."""
    return media.compile_stubs()


def pytest_configure(config):
    # The development secret ("secret") is short on purpose; PyJWT warns on every token.
    config.addinivalue_line("filterwarnings", "ignore:The HMAC key is")
