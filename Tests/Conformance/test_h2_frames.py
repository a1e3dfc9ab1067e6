"""HTTP/2 at the frame level: the preface, content types and methods, flow control, limits,
abuse (each must end in the right GOAWAY and leave the server standing), a client that stops
reading, and graceful shutdown."""
import os
import signal
import socket
import threading
import time

import grpc
import pytest
from hpack import Encoder

import tokens
from h2frames import (ERROR_NAMES, DataFrame, ContinuationFrame, H2Client, HeadersFrame, PingFrame, RawConnection, RstStreamFrame,
                      SettingsFrame, WindowUpdateFrame, grpc_headers, grpc_message, grpc_status)

CHECK = "/grpc.health.v1.Health/Check"
LIST = "/livekit.Egress/ListEgress"


def goaway_code(conn, timeout=10):
    goaway, _ = conn.until_goaway_or_close(timeout=timeout)
    assert goaway is not None, "the server closed without GOAWAY"
    assert conn.wait_closed(5), "the connection stayed open after GOAWAY"
    return ERROR_NAMES.get(goaway.error_code, goaway.error_code)


def still_serving(server):
    conn = RawConnection(server.port)
    conn.request(1, CHECK, grpc_message(b""))
    ok = conn.response(1)["data"] == grpc_message(b"\x08\x01")
    conn.close()
    return server.alive() and ok


def flood(conn, frames):
    """Writes the frames; the server may close before it has read them all."""
    try:
        conn.send(*frames)
    except (BrokenPipeError, ConnectionResetError):
        pass


# --- Preface, method, content type ----------------------------------------------------------

def test_server_preface_advertises_the_limits(server):
    conn = RawConnection(server.port)
    settings = conn.read_frame()
    assert isinstance(settings, SettingsFrame) and "ACK" not in settings.flags
    assert settings.settings[SettingsFrame.MAX_CONCURRENT_STREAMS] == 100
    assert settings.settings[SettingsFrame.MAX_HEADER_LIST_SIZE] == 16384
    conn.close()


def test_bytes_that_are_neither_http2_nor_http1_get_400_and_close(server):
    # Without the HTTP/2 preface a connection is HTTP/1.1 (Twirp); noise is a malformed request.
    sock = server.connect()
    sock.sendall(b"\x16\x03\x01\x02\x00 not a request\r\n\r\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert still_serving(server)


def test_garbage_frames_get_goaway(server):
    conn = RawConnection(server.port)
    conn.send_raw(bytes([0xFF, 0xFF, 0xFF]) + os.urandom(4093))  # a 16 MiB frame length, then noise
    assert goaway_code(conn) == "FRAME_SIZE_ERROR"
    conn = RawConnection(server.port)
    conn.send_raw(b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00")  # WINDOW_UPDATE of 0 on the connection
    assert goaway_code(conn) == "PROTOCOL_ERROR"
    assert still_serving(server)


def test_a_wrong_content_type_is_415(server):
    client = H2Client(server.port)
    sid = client.conn.get_next_available_stream_id()
    client.streams[sid] = {"headers": None, "data": b"", "trailers": None, "ended": False, "reset": None}
    client.conn.send_headers(sid, [(k, v) for k, v in grpc_headers(CHECK) if k != "content-type"]
                             + [("content-type", "application/json")], end_stream=True)
    client.flush()
    state = client.wait(sid)
    assert dict(state["headers"])[":status"] == "415"
    client.close()


def test_a_get_is_405(server):
    client = H2Client(server.port)
    sid = client.conn.get_next_available_stream_id()
    client.streams[sid] = {"headers": None, "data": b"", "trailers": None, "ended": False, "reset": None}
    client.conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", CHECK), (":authority", "x")],
                             end_stream=True)
    client.flush()
    state = client.wait(sid)
    assert dict(state["headers"])[":status"] == "405"
    assert dict(state["headers"])["allow"] == "POST"
    client.close()


# --- Flow control and limits ----------------------------------------------------------------

def test_a_16_mib_body_passes_flow_control_on_default_windows(fresh_server):
    server = fresh_server("--max-receive-message-size", str(20 << 20))
    client = H2Client(server.port)
    assert client.conn.local_settings.initial_window_size == 65535
    body = b"\x0a" + encode_varint(16 << 20) + b"r" * (16 << 20)  # ListEgressRequest{room_name: 16 MiB}
    state = client.call(LIST, grpc_message(body), timeout=120)
    assert grpc_status(state) == (0, "")
    assert state["data"] == grpc_message(b"")
    client.close()


def test_a_16_mib_body_over_the_limit_is_refused_before_it_is_all_sent(server):
    client = H2Client(server.port)
    body = b"\x0a" + encode_varint(16 << 20) + b"r" * (16 << 20)
    sid = client.start(LIST)
    sent = client.send_body(sid, grpc_message(body), timeout=60)
    state = client.wait(sid)
    assert grpc_status(state)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert state["reset"] == 0, "the rest of the body is refused with RST_STREAM(NO_ERROR)"
    assert sent < 1 << 20, f"{sent} bytes were uploaded before the refusal stopped the client"
    client.close()


def test_an_early_error_refuses_the_rest_of_the_body(server):
    client = H2Client(server.port)
    sid = client.start("/livekit.Egress/NoSuchMethod")
    sent = client.send_body(sid, grpc_message(b"\x00" * (8 << 20)), timeout=60)
    state = client.wait(sid)
    assert grpc_status(state) == (grpc.StatusCode.UNIMPLEMENTED.value[0], "unknown method NoSuchMethod for service livekit.Egress")
    assert state["reset"] == 0 and sent < 1 << 20
    client.close()


def test_an_answer_to_a_finished_request_is_not_followed_by_a_reset(server):
    conn = RawConnection(server.port)
    conn.request(1, "/livekit.Egress/NoSuchMethod", grpc_message(b""))  # HEADERS + DATA with END_STREAM
    response = conn.response(1)
    assert response["reset"] is None
    conn.send(PingFrame(0, opaque_data=b"12345678"))
    while not isinstance(frame := conn.read_frame(), PingFrame):
        assert not isinstance(frame, RstStreamFrame), "RST_STREAM on a closed stream"
    conn.close()


def encode_varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def test_a_client_exceeding_max_concurrent_streams_gets_goaway(fresh_server):
    # nghttp2 treats a stream over the acknowledged limit as a connection error (RFC 9113
    # §5.1.2 allows it); the streams within the limit were accepted.
    server = fresh_server("--max-concurrent-streams", "4")
    conn = RawConnection(server.port)
    conn.read_frame()  # server SETTINGS
    conn.send(SettingsFrame(0, flags=["ACK"]))
    time.sleep(0.1)
    for i in range(5):  # five Health.Watch streams held open: the fifth is one too many
        conn.request(1 + 2 * i, "/grpc.health.v1.Health/Watch", grpc_message(b""))
    goaway, _ = conn.until_goaway_or_close()
    assert (ERROR_NAMES[goaway.error_code], goaway.last_stream_id) == ("PROTOCOL_ERROR", 7)
    assert b"max concurrent streams exceeded" in goaway.additional_data
    assert still_serving(server)


def test_oversized_headers_are_refused_with_a_clear_status(server):
    client = H2Client(server.port)
    state = client.call(CHECK, grpc_message(b""), extra_headers=[("x-big", "v" * 20000)])
    code, message = grpc_status(state)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert message.startswith("request headers of ") and message.endswith(" bytes exceed the limit of 16384 bytes")
    client.close()
    assert still_serving(server)


# --- Abuse ----------------------------------------------------------------------------------

def test_rapid_reset_gets_enhance_your_calm(server):
    conn = RawConnection(server.port)
    frames = []
    for sid in range(1, 4001, 2):
        frames += [conn.headers_frame(sid, grpc_headers(CHECK)), RstStreamFrame(sid, error_code=8)]
    flood(conn, frames)
    assert goaway_code(conn) == "ENHANCE_YOUR_CALM"
    assert still_serving(server)


def test_ping_flood_gets_enhance_your_calm(server):
    conn = RawConnection(server.port)
    flood(conn, [PingFrame(0, opaque_data=b"flooding")] * 5000)
    assert goaway_code(conn) == "ENHANCE_YOUR_CALM"
    assert still_serving(server)


def test_settings_flood_gets_enhance_your_calm(server):
    conn = RawConnection(server.port)
    flood(conn, [SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65535})] * 5000)
    assert goaway_code(conn) == "ENHANCE_YOUR_CALM"
    assert still_serving(server)


def raw_frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


EMPTY_FRAMES = {
    "WINDOW_UPDATE": raw_frame(8, 0, 0, (1).to_bytes(4, "big")),
    "PRIORITY": raw_frame(2, 0, 101, bytes(4) + b"\x0f"),
    "empty DATA": raw_frame(0, 0, 1),
    "unknown type": raw_frame(0xFA, 0, 0, b"x"),
    "ALTSVC from a client": raw_frame(10, 0, 0, b"\x00\x00"),
}


@pytest.mark.parametrize("kind", EMPTY_FRAMES)
def test_empty_frame_flood_gets_enhance_your_calm(server, kind):
    """Frames that carry nothing a request needs: 10,000 at once are allowed, twice that is not."""
    conn = RawConnection(server.port)
    conn.send(conn.headers_frame(1, grpc_headers(CHECK)))  # stream 1 stays open for the empty DATA
    try:
        conn.send_raw(EMPTY_FRAMES[kind] * 20000)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert goaway_code(conn) == "ENHANCE_YOUR_CALM"
    assert still_serving(server)


def test_hpack_bomb_gets_enhance_your_calm(server):
    conn = RawConnection(server.port)
    encoder = Encoder()
    # One 4 KB header enters the dynamic table (index 62); 12,000 one-byte references to it
    # decode to 48 MB from a 16 KB frame.
    block = encoder.encode(grpc_headers(CHECK) + [("x-bomb", "a" * 4000)]) + b"\xbe" * 12000
    frame = HeadersFrame(1, data=block)
    frame.flags.add("END_HEADERS")
    flood(conn, [frame])
    assert goaway_code(conn) == "ENHANCE_YOUR_CALM"
    assert still_serving(server)


def test_endless_continuation_gets_enhance_your_calm(server):
    conn = RawConnection(server.port)
    block = Encoder().encode(grpc_headers(CHECK))
    flood(conn, [HeadersFrame(1, data=block[:4])] + [ContinuationFrame(1, data=b"")] * 2000)
    assert goaway_code(conn) == "ENHANCE_YOUR_CALM"
    assert still_serving(server)


def test_a_connection_that_never_sends_the_preface_is_closed(fresh_server):
    # The handshake timeout is 10 s; a silent socket must not be kept forever. (The server
    # speaks first only once the client's first bytes say HTTP/2 rather than HTTP/1.1.)
    server = fresh_server()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(15)
    started = time.monotonic()
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    assert data == b"" and 9 < time.monotonic() - started < 14
    sock.close()


def test_a_client_that_stops_reading_costs_bounded_memory_and_is_answered_once_it_reads(fresh_server, stubs):
    server = fresh_server("--max-live-egresses", "200")
    api = stubs.egress_grpc.EgressStub(server.channel())
    e = stubs.egress
    for i in range(100):  # ListEgress(room_name="big") then answers ~2 MB
        api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="big", identity="x" * 20000,
                                                              file_outputs=[e.EncodedFileOutput()]), timeout=10)
    expected = api.ListEgress(e.ListEgressRequest(room_name="big"), timeout=10).SerializeToString()
    before = server.rss_kib()

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    conn = RawConnection.__new__(RawConnection)
    conn.sock, conn.encoder, conn.buffer, conn.closed = sock, Encoder(), b"", False
    conn.send_raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    # Windows wide open, so that only the client not reading holds the server back.
    conn.send(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 2 ** 31 - 1}),
              WindowUpdateFrame(0, window_increment=2 ** 31 - 65536))
    ids = list(range(1, 200, 2))  # 100 calls, the concurrency the server allows: 200 MB of answers
    for sid in ids:
        conn.send(conn.headers_frame(sid, grpc_headers(LIST)), *data_frames(sid, grpc_message(b"\x0a\x03big")))
    time.sleep(1.5)
    growth_mib = (server.rss_kib() - before) / 1024
    print(f"server RSS grew {growth_mib:.1f} MiB while 100 answers of {len(expected) / 1e6:.1f} MB waited")
    assert growth_mib < 20, f"server memory grew by {growth_mib:.0f} MiB"
    assert still_serving(server)

    answers = conn.responses(ids, timeout=120)  # now the client reads: every call completes
    assert all(a["data"] == grpc_message(expected) for a in answers.values())
    assert all(dict(a["trailers"])["grpc-status"] == "0" for a in answers.values())
    sock.close()


def data_frames(sid, body):
    from hyperframe.frame import DataFrame
    frame = DataFrame(sid, data=body)
    frame.flags.add("END_STREAM")
    return [frame]


# --- Graceful shutdown ----------------------------------------------------------------------

def test_sigterm_sends_goaway_and_lets_in_flight_calls_finish(fresh_server):
    from hyperframe.frame import DataFrame, GoAwayFrame
    server = fresh_server()
    conn = RawConnection(server.port)
    body = grpc_message(b"\x0a\x04late")
    conn.send(conn.headers_frame(1, grpc_headers(LIST)), DataFrame(1, data=body[:4]))  # the call is in flight
    time.sleep(0.2)
    server.process.send_signal(signal.SIGTERM)
    goaways = []
    while len(goaways) < 2:  # the shutdown notice, then the final GOAWAY naming the last stream
        frame = conn.read_frame(timeout=5)
        assert frame is not None, "closed before the in-flight call finished"
        if isinstance(frame, GoAwayFrame):
            goaways.append((frame.last_stream_id, ERROR_NAMES[frame.error_code]))
    assert goaways == [(2 ** 31 - 1, "NO_ERROR"), (1, "NO_ERROR")]
    with pytest.raises(OSError):  # no new connections while draining
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
    rest = DataFrame(1, data=body[4:])
    rest.flags.add("END_STREAM")
    conn.send(rest)  # the in-flight call completes
    response = conn.response(1)
    assert dict(response["trailers"])["grpc-status"] == "0"
    assert response["data"] == grpc_message(b"")
    assert conn.wait_closed(5)
    assert server.process.wait(timeout=15) == 0


def test_shutdown_waits_a_bounded_time_for_calls_that_do_not_end(fresh_server, stubs):
    server = fresh_server("--shutdown-timeout", "1")
    watch = stubs.health_grpc.HealthStub(server.channel()).Watch(stubs.health.HealthCheckRequest(), timeout=60)
    next(watch)
    started = time.monotonic()
    assert server.terminate(timeout=15) == 0
    assert time.monotonic() - started < 5


def test_closed_connections_release_their_memory(fresh_server):
    server = fresh_server()

    def churn(count):
        for _ in range(count):
            conn = RawConnection(server.port)
            conn.request(1, CHECK, grpc_message(b""))
            assert conn.response(1)["data"] == grpc_message(b"\x08\x01")
            conn.close()

    churn(500)  # warm up allocator pools
    time.sleep(0.5)
    before = server.rss_kib()
    churn(3000)
    time.sleep(0.5)
    growth_mib = (server.rss_kib() - before) / 1024
    assert growth_mib < 8, f"3000 closed connections left {growth_mib:.1f} MiB behind"


def test_many_calls_leave_no_memory_behind(fresh_server, tmp_path):
    import subprocess
    server = fresh_server()
    body = tmp_path / "empty.grpc"
    body.write_bytes(grpc_message(b""))

    def h2load(n):
        out = subprocess.run(["h2load", "-n", str(n), "-c", "2", "-m", "16", "-d", str(body), "-H", "content-type: application/grpc",
                              "-H", "authorization: " + tokens.bearer(roomRecord=True)[1], f"http://127.0.0.1:{server.port}/livekit.Egress/ListEgress"], capture_output=True, text=True, timeout=120)
        assert f"{n} succeeded" in out.stdout, out.stdout

    h2load(20000)  # warm up
    before = server.rss_kib()
    h2load(20000)
    growth_mib = (server.rss_kib() - before) / 1024
    assert growth_mib < 4, f"20,000 calls left {growth_mib:.1f} MiB behind"
