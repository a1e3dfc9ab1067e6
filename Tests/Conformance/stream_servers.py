"""Real stream servers for the stream-output tests, started by the tests on 127.0.0.1: nginx with
Debian's RTMP module (which also records every stream it receives, to check on the server's
side), and ffmpeg as an SRT listener."""
import socket
import threading
import subprocess
import tempfile
import time
from pathlib import Path

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RTMPServer:
    """nginx-rtmp: application `live`; every published stream recorded to `recordings/<key>-<time>.flv`."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="nginx-rtmp-")
        self.root = Path(self.tmp.name)
        self.recordings = self.root / "recordings"
        self.recordings.mkdir()
        self.port = free_port()
        (self.root / "nginx.conf").write_text(f"""
load_module {RTMP_MODULE};
daemon off;
master_process off;
worker_processes 1;
error_log {self.root}/error.log info;
pid {self.root}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{self.port};
        application live {{
            live on;
            record all;
            record_path {self.recordings};
            record_unique on;
        }}
    }}
}}
""")
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(["nginx", "-p", str(self.root), "-c", str(self.root / "nginx.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.process.poll() is None, (self.root / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.05)

    def kill(self):
        """Gone at once, as a crashed server is: connections reset."""
        self.process.kill()
        self.process.wait()

    def url(self, key):
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    def recorded(self, key):
        """The server's recordings of the stream `key`, oldest first (one per publish)."""
        return sorted(self.recordings.glob(f"{key}-*.flv"), key=lambda p: p.name)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.kill()
        self.tmp.cleanup()


class SRTListener:
    """ffmpeg listening for SRT (the egress calls it), copying what it receives into `path`."""

    def __init__(self, path, seconds):
        self.port = free_port(socket.SOCK_DGRAM)
        self.path = path
        self.process = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", f"srt://127.0.0.1:{self.port}?mode=listener",
             "-t", str(seconds), "-c", "copy", "-f", "mpegts", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # listening

    @property
    def url(self):
        return f"srt://127.0.0.1:{self.port}"

    def wait(self, timeout):
        try:
            _, errors = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, errors = self.process.communicate()
        return errors

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class PausingProxy:
    """A TCP proxy in front of a stream server that can stop reading from the client, as a
    server that hangs does: the client's writes then block once the socket buffers are full."""

    def __init__(self, target_port):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.target_port = target_port
        self.paused = threading.Event()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source, target, from_client):
        try:
            while True:
                while from_client and self.paused.is_set():
                    time.sleep(0.05)
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            # shutdown first: it wakes the other direction's thread blocked in recv (a close
            # alone would leave the connection open while that call holds it).
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self):
        self.listener.close()
