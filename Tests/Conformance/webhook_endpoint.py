"""A webhook endpoint for the tests: a local HTTP server that records what is POSTed to it."""
import http.server
import threading
import time

import pytest


class Endpoint:
    """A webhook endpoint on 127.0.0.1: records every POST; answers `failures` 503s first; with
    `held`, answers nothing until `release()`."""

    def __init__(self, failures=0, held=False):
        self.events, self.attempts, self.failures = [], 0, failures
        self.released = threading.Event()
        if not held:
            self.released.set()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.attempts += 1
                endpoint.released.wait(60)
                if endpoint.failures > 0:
                    endpoint.failures -= 1
                    self.send_response(503)
                else:
                    endpoint.events.append((self.headers, body.decode(), time.monotonic()))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"{len(self.events)} of {count} events arrived"
            time.sleep(0.05)
        return self.events

    def release(self):
        self.released.set()

    def close(self):
        self.released.set()
        self.server.shutdown()


@pytest.fixture
def endpoint():
    endpoints = []

    def make(**kwargs):
        endpoints.append(Endpoint(**kwargs))
        return endpoints[-1]

    yield make
    for e in endpoints:
        e.close()
