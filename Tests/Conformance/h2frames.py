"""Raw HTTP/2 for frame-level tests: frames built with hyperframe and headers with hpack (the
layers of the `h2` library), written to a plain socket, and the server's frames read back."""
import socket
import struct
import time

from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

import tokens

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR",
               11: "ENHANCE_YOUR_CALM"}


def grpc_message(payload: bytes, compressed=False) -> bytes:
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


def grpc_headers(path, extra=()):
    """A gRPC request's headers, with a token that allows any Egress call (tokens.py)."""
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"), tokens.bearer(roomRecord=True), *extra]


class RawConnection:
    """A client connection that speaks frames directly."""

    def __init__(self, port, preface=True, settings=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.encoder = Encoder()
        self.buffer = b""
        self.closed = False
        if preface:
            self.send_raw(PREFACE)
            self.send(SettingsFrame(0, settings=settings or {}))

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, *frames: Frame):
        self.send_raw(b"".join(f.serialize() for f in frames))

    def headers_frame(self, stream_id, headers, end_stream=False, end_headers=True):
        frame = HeadersFrame(stream_id, data=self.encoder.encode(headers))
        frame.flags.add("END_HEADERS") if end_headers else None
        frame.flags.add("END_STREAM") if end_stream else None
        return frame

    def request(self, stream_id, path, body=b"", extra_headers=(), end_stream=True):
        frames = [self.headers_frame(stream_id, grpc_headers(path, extra_headers))]
        if body or end_stream:
            data = DataFrame(stream_id, data=body)
            if end_stream:
                data.flags.add("END_STREAM")
            frames.append(data)
        self.send(*frames)

    def read_frame(self, timeout=5):
        """The next frame, or None once the server has closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) >= 9 + length:
                    frame, _ = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                    frame.parse_body(memoryview(self.buffer[9:9 + length]))
                    self.buffer = self.buffer[9 + length:]
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame from the server")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buffer += chunk

    def until_goaway_or_close(self, timeout=10):
        """Reads until GOAWAY or EOF: (goaway frame or None, frames before it)."""
        frames = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.read_frame(timeout=deadline - time.monotonic())
            if frame is None or isinstance(frame, GoAwayFrame):
                return frame, frames
            frames.append(frame)
        raise TimeoutError("the server neither sent GOAWAY nor closed")

    def wait_closed(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.read_frame(timeout=deadline - time.monotonic()) is None:
                return True
        return False

    def response(self, stream_id, timeout=10):
        """Collects one stream's answer: {'headers': [...], 'data': bytes, 'trailers': [...], 'reset': code}."""
        from hpack import Decoder
        decoder = getattr(self, "decoder", None) or Decoder()
        self.decoder = decoder
        out = {"headers": None, "data": b"", "trailers": None, "reset": None}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.read_frame(timeout=deadline - time.monotonic())
            if frame is None:
                break
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                self.send(SettingsFrame(0, flags=["ACK"]))
                continue
            if getattr(frame, "stream_id", 0) != stream_id:
                if isinstance(frame, HeadersFrame):
                    decoder.decode(frame.data)
                continue
            if isinstance(frame, HeadersFrame):
                fields = [(k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                          for k, v in decoder.decode(frame.data)]
                if out["headers"] is None:
                    out["headers"] = fields
                else:
                    out["trailers"] = fields
            elif isinstance(frame, DataFrame):
                out["data"] += frame.data
                if frame.data:
                    self.send(WindowUpdateFrame(0, window_increment=len(frame.data)),
                              WindowUpdateFrame(stream_id, window_increment=len(frame.data)))
            elif isinstance(frame, RstStreamFrame):
                out["reset"] = frame.error_code
                return out
            if "END_STREAM" in getattr(frame, "flags", ()):
                return out
        return out

    def responses(self, stream_ids, timeout=60):
        """Collects the answers of several streams at once: {id: {"headers", "data", "trailers", "reset"}}."""
        from hpack import Decoder
        decoder = getattr(self, "decoder", None) or Decoder()
        self.decoder = decoder
        out = {sid: {"headers": None, "data": b"", "trailers": None, "reset": None} for sid in stream_ids}
        open_ids = set(stream_ids)
        deadline = time.monotonic() + timeout
        while open_ids and time.monotonic() < deadline:
            frame = self.read_frame(timeout=deadline - time.monotonic())
            if frame is None:
                break
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                self.send(SettingsFrame(0, flags=["ACK"]))
            elif isinstance(frame, HeadersFrame):
                fields = decoder.decode(frame.data)
                state = out.get(frame.stream_id)
                if state is not None:
                    state["trailers" if state["headers"] is not None else "headers"] = fields
            elif isinstance(frame, DataFrame) and frame.stream_id in out:
                out[frame.stream_id]["data"] += frame.data
            elif isinstance(frame, RstStreamFrame) and frame.stream_id in out:
                out[frame.stream_id]["reset"] = frame.error_code
                open_ids.discard(frame.stream_id)
            if "END_STREAM" in getattr(frame, "flags", ()):
                open_ids.discard(frame.stream_id)
        return out

    def close(self):
        self.sock.close()


__all__ = ["RawConnection", "grpc_message", "grpc_headers", "ERROR_NAMES", "PingFrame", "SettingsFrame",
           "RstStreamFrame", "HeadersFrame", "ContinuationFrame", "DataFrame", "GoAwayFrame", "WindowUpdateFrame"]


class H2Client:
    """A well-behaved HTTP/2 client built on the `h2` library: it frames, flow-controls and
    acknowledges data as a real client does."""

    def __init__(self, port, read_data=True):
        import h2.config
        import h2.connection
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.read_data = read_data
        self.streams = {}
        self.terminated = None
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, timeout=10):
        """Reads once from the socket and applies the events."""
        import h2.events as ev
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        for event in self.conn.receive_data(chunk):
            sid = getattr(event, "stream_id", None)
            state = self.streams.get(sid)
            if isinstance(event, ev.ResponseReceived):
                state["headers"] = event.headers
            elif isinstance(event, ev.TrailersReceived):
                state["trailers"] = event.headers
            elif isinstance(event, ev.DataReceived):
                state["data"] += event.data
                if self.read_data:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, sid)
            elif isinstance(event, ev.StreamEnded):
                state["ended"] = True
            elif isinstance(event, ev.StreamReset):
                if state is not None:
                    state["reset"] = event.error_code
            elif isinstance(event, ev.ConnectionTerminated):
                self.terminated = event
        self.flush()

    def start(self, path, extra_headers=(), end_stream=False):
        sid = self.conn.get_next_available_stream_id()
        self.streams[sid] = {"headers": None, "data": b"", "trailers": None, "ended": False, "reset": None}
        self.conn.send_headers(sid, grpc_headers(path, extra_headers), end_stream=end_stream)
        self.flush()
        return sid

    def send_body(self, sid, body, end_stream=True, timeout=60):
        """Sends `body` as flow control allows; stops early if the server ends the stream.
        Returns how many bytes were sent."""
        deadline = time.monotonic() + timeout
        view = memoryview(body)
        sent = 0
        while view and not self.finished(sid):
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if window == 0:
                assert time.monotonic() < deadline, "flow control never opened"
                self.pump(timeout=deadline - time.monotonic())
                continue
            self.conn.send_data(sid, view[:window].tobytes())
            view = view[window:]
            sent += window
            self.flush()
        if end_stream and not self.finished(sid):
            self.conn.end_stream(sid)
            self.flush()
        return sent

    def finished(self, sid):
        state = self.streams[sid]
        return state["ended"] or state["reset"] is not None

    def wait(self, sid, timeout=30):
        deadline = time.monotonic() + timeout
        while not self.finished(sid):
            self.pump(timeout=max(0.01, deadline - time.monotonic()))
        return self.streams[sid]

    def call(self, path, body, extra_headers=(), timeout=30):
        sid = self.start(path, extra_headers)
        self.send_body(sid, body, timeout=timeout)
        return self.wait(sid, timeout=timeout)

    def close(self):
        self.sock.close()


def grpc_status(state):
    fields = dict(state["trailers"] or state["headers"] or [])
    return int(fields.get("grpc-status", -1)), fields.get("grpc-message", "")
