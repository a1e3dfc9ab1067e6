"""What a caller without a token can make the server do: nothing but read the request's head.
The token is checked before any of the body is read (gRPC and Twirp, HTTP/2 and HTTP/1.1), so
unfinished multi-megabyte bodies and compressed bombs cost nothing; the methods open without a
token (health) take only small requests; and what an authenticated connection may hold in
unfinished request bodies, or in streamed answers, is bounded too."""
import gzip
import socket
import struct
import time

import grpc
import pytest
from h2frames import RawConnection, grpc_message
from hpack import Encoder
from hyperframe.frame import DataFrame, HeadersFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame

import tokens

LIST = "/livekit.Egress/ListEgress"


def headers(path, token=None, extra=()):
    fields = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
              ("content-type", "application/grpc"), ("te", "trailers"), *extra]
    return fields + ([("authorization", f"Bearer {token}")] if token else [])




def open_windows(conn):
    conn.send(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 2 ** 31 - 1}),
              WindowUpdateFrame(0, window_increment=2 ** 31 - 65536))


def unfinished_bodies(conn, token, streams=100, chunk=16383, chunks=4):
    """On each stream, the start of a gRPC message that says it is 4 MiB, never finished."""
    for sid in range(1, 2 * streams, 2):
        conn.send(conn.headers_frame(sid, headers(LIST, token)),
                  DataFrame(sid, data=struct.pack(">BI", 0, 4 << 20) + b"\x0a" * (chunk - 5)),
                  *(DataFrame(sid, data=b"\x0a" * chunk) for _ in range(chunks - 1)))


def test_without_a_token_a_grpc_call_is_refused_before_its_body(fresh_server):
    server = fresh_server()
    before = server.rss_kib()
    conn = RawConnection(server.port)
    open_windows(conn)
    unfinished_bodies(conn, token=None)
    growth = server.peak_growth_mib(before, 2)
    # Every stream got UNAUTHENTICATED at once, in its headers, and was reset: nothing buffered.
    answers = {}
    deadline = time.monotonic() + 10
    from hpack import Decoder
    decoder = Decoder()
    while len(answers) < 100 and time.monotonic() < deadline:
        frame = conn.read_frame(timeout=5)
        assert frame is not None
        if isinstance(frame, HeadersFrame):
            answers[frame.stream_id] = dict((k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                                            for k, v in decoder.decode(frame.data))
    assert len(answers) == 100
    assert all(a["grpc-status"] == "16" and a["grpc-message"] == "no authorization token" for a in answers.values())
    print(f"RSS grew {growth:.1f} MiB for 100 unauthenticated streams with 4 MiB messages begun")
    assert growth < 8


def test_without_a_token_a_compressed_bomb_is_not_even_decompressed(server):
    bomb = gzip.compress(bytes(4 << 20))
    conn = RawConnection(server.port)
    started = time.monotonic()
    body = grpc_message(bomb, compressed=True)
    data = DataFrame(1, data=body)
    data.flags.add("END_STREAM")
    conn.send(conn.headers_frame(1, headers(LIST, None, [("grpc-encoding", "gzip")])), data)
    answer = conn.response(1)
    assert dict(answer["headers"])["grpc-status"] == "16"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("transport", ["http1", "http2"])
def test_without_a_token_twirp_answers_401_before_the_body(server, transport):
    body_length = 4 << 20
    if transport == "http1":
        sock = server.connect()
        sock.sendall(f"POST /twirp/livekit.Egress/ListEgress HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {body_length}\r\n\r\n".encode() + b"{" * 1000)
        sock.settimeout(5)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 401") and b'"code":"unauthenticated"' in answer
        sock.close()
    else:
        conn = RawConnection(server.port)
        fields = [(":method", "POST"), (":scheme", "http"), (":path", "/twirp/livekit.Egress/ListEgress"), (":authority", "x"),
                  ("content-type", "application/json"), ("content-length", str(body_length))]
        conn.send(conn.headers_frame(1, fields), DataFrame(1, data=b"{" * 1000))
        answer = conn.response(1)
        assert dict(answer["headers"])[":status"] == "401" and b"unauthenticated" in answer["data"]


def test_an_authenticated_connection_holds_a_bounded_amount_of_unfinished_bodies(fresh_server):
    """A client with a token, keeping to flow control (the `h2` library), starts a 4 MiB message
    on each of 100 streams and sends as fast as the server's windows allow: without a bound the
    server would take 400 MB. It takes about its request budget (16 MiB) and the connection's
    window, and then no more until handlers take what they hold."""
    import h2.config
    import h2.connection
    server = fresh_server()
    before = server.rss_kib()
    sock = socket.create_connection(("127.0.0.1", server.port))
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    client.initiate_connection()
    token = tokens.token(roomRecord=True)
    streams = list(range(1, 200, 2))
    for sid in streams:
        client.send_headers(sid, headers(LIST, token))
        client.send_data(sid, struct.pack(">BI", 0, 4 << 20))
    sock.sendall(client.data_to_send())
    sock.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
            if not data:
                break
            client.receive_data(data)
        except BlockingIOError:
            pass
        for sid in streams:
            room = min(client.local_flow_control_window(sid), client.max_outbound_frame_size)
            if room > 0:
                client.send_data(sid, b"\x0a" * room)
                sent += room
        out = client.data_to_send()
        if out:
            sock.setblocking(True)
            sock.sendall(out)
            sock.setblocking(False)
        else:
            time.sleep(0.05)
    growth = server.peak_growth_mib(before, 1)
    print(f"RSS grew {growth:.1f} MiB; the server took {sent / 2**20:.1f} MiB of unfinished bodies, then stopped")
    assert sent < 24 << 20
    assert growth < 48
    sock.close()


def test_health_takes_only_small_requests(server, stubs):
    health = stubs.health_grpc.HealthStub(server.raw_channel())
    with pytest.raises(grpc.RpcError) as refused:
        health.Check(stubs.health.HealthCheckRequest(service="x" * 10000), timeout=10)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert health.Check(stubs.health.HealthCheckRequest(), timeout=10).status == stubs.health.HealthCheckResponse.SERVING


def test_streamed_answers_count_against_the_connections_budget(fresh_server):
    """99 reflection streams (any valid token), each asking for a 16 KB descriptor 20 times, on a
    connection whose client lets no answer data through: the handlers wait once the
    connection's unsent answers pass 4 MiB, rather than 256 KiB a stream (25 MB here)."""
    from grpc_reflection.v1alpha import reflection_pb2
    server = fresh_server()
    before = server.rss_kib()
    conn = RawConnection(server.port, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})
    ask = grpc_message(reflection_pb2.ServerReflectionRequest(file_containing_symbol="livekit.Egress").SerializeToString())
    token = tokens.token()
    frames = []
    for sid in range(1, 199, 2):
        frames += [conn.headers_frame(sid, headers("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", token)),
                   DataFrame(sid, data=ask * 20)]
    conn.send(*frames)
    growth = server.peak_growth_mib(before, 4)
    print(f"RSS grew {growth:.1f} MiB with 1,980 streamed answers of 16 KB waiting")
    assert growth < 16
    # The client opens its windows and reads: every answer arrives.
    conn.send(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 2 ** 31 - 1}),
              WindowUpdateFrame(0, window_increment=2 ** 31 - 65536))
    received = 0
    deadline = time.monotonic() + 60
    while received < 99 * 20 * 16000 and time.monotonic() < deadline:
        frame = conn.read_frame(timeout=10)
        assert frame is not None
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            conn.send(SettingsFrame(0, flags=["ACK"]))
        if isinstance(frame, DataFrame) and frame.data:
            received += len(frame.data)
            conn.send(WindowUpdateFrame(0, window_increment=len(frame.data)))
    assert received >= 99 * 20 * 16000
