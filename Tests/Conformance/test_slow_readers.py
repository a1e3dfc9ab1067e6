"""Clients that ask for large answers and do not read them: HTTP/1.1 pipelining on one socket,
Twirp over HTTP/2 on many streams, gRPC alike. Each connection holds at most its response
budget (4 MiB) and one answer: past it the server stops answering and taking input from that
connection until the client reads; a client that reads nothing for --send-timeout is cut off,
and one that reads slowly but steadily is not. Answers here are ~2 MB each (ListEgress of
100 egresses with 20 KB identities)."""
import json
import socket
import time

import pytest
import requests
from h2frames import RawConnection, grpc_message
from hpack import Encoder
from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, SettingsFrame, WindowUpdateFrame

import tokens

LIST_TWIRP = "/twirp/livekit.Egress/ListEgress"
LIST_GRPC = "/livekit.Egress/ListEgress"


def fill(server, stubs, count=100):
    """`count` egresses in room "big": ListEgress(room_name="big") then answers ~2 MB."""
    api = stubs.egress_grpc.EgressStub(server.channel())
    e = stubs.egress
    for _ in range(count):
        api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="big", identity="x" * 20000,
                                                              file_outputs=[e.EncodedFileOutput(filepath="big.mp4")]), timeout=10)
    return len(api.ListEgress(e.ListEgressRequest(room_name="big"), timeout=10).SerializeToString())


@pytest.fixture
def big_server(fresh_server, stubs):
    """A server of the test's own (memory is measured), whose ListEgress answers ~2 MB."""
    server = fresh_server("--max-live-egresses", "200", "--participant-wait-timeout", "600")
    return server, fill(server, stubs)




def twirp_request(body=b'{"room_name": "big"}', token=None, extra=""):
    token = token or tokens.token(roomRecord=True)
    return (f"POST {LIST_TWIRP} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def small_socket(server):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    return sock


def others_are_served(server):
    started = time.monotonic()
    response = requests.post(f"http://127.0.0.1:{server.port}{LIST_TWIRP}", data='{"room_name": "nobody"}', timeout=10,
                             headers={"Authorization": "Bearer " + tokens.token(roomRecord=True), "Content-Type": "application/json"})
    return response.status_code == 200 and time.monotonic() - started < 2


def read_http1_answers(sock, timeout, expected=None):
    """Reads until EOF or `timeout`: the number of whole answers and whether the server closed."""
    sock.settimeout(0.5)
    chunks, closed = [], False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            if expected and b"".join(chunks).count(b"HTTP/1.1 200 OK") >= expected:
                break
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        chunks.append(chunk)
    data = b"".join(chunks)
    return data.count(b"HTTP/1.1 200 OK"), closed, data


def test_http1_pipelining_without_reading_holds_one_budget(big_server):
    server, size = big_server
    before = server.rss_kib()
    sock = small_socket(server)
    token = tokens.token(roomRecord=True)
    sock.sendall(b"".join(twirp_request(token=token) for _ in range(16)))  # in one write
    growth = server.peak_growth_mib(before, 4)
    print(f"HTTP/1.1: RSS grew {growth:.1f} MiB with 16 pipelined answers of {size / 1e6:.1f} MB unread")
    assert growth < 24, f"server memory grew by {growth:.0f} MiB"
    assert others_are_served(server)
    # Once the client reads, every answer comes, in order, whole.
    count, closed, data = read_http1_answers(sock, 60, expected=16)
    assert count == 16 and not closed, (count, closed)
    sock.close()


def test_http1_pipelining_past_the_depth_answers_the_first_16_then_closes(big_server):
    server, _ = big_server
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    token = tokens.token(roomRecord=True)
    small = b'{"room_name": "nobody"}'
    sock.sendall(b"".join(twirp_request(small, token=token) for _ in range(40)))
    count, closed, data = read_http1_answers(sock, 10)
    assert (count, closed) == (16, True)
    assert data.lower().count(b"connection: close") == 1 and data.rstrip().endswith(b"}")
    sock.close()


@pytest.mark.parametrize("protocol", ["twirp", "grpc"])
def test_http2_streams_without_reading_hold_one_budget(big_server, protocol):
    server, size = big_server
    before = server.rss_kib()
    sock = small_socket(server)
    conn = RawConnection.__new__(RawConnection)
    conn.sock, conn.encoder, conn.buffer, conn.closed = sock, Encoder(), b"", False
    conn.send_raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    # Windows wide open, so that only the client not reading holds the server back.
    conn.send(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 2 ** 31 - 1}),
              WindowUpdateFrame(0, window_increment=2 ** 31 - 65536))
    token = tokens.token(roomRecord=True)
    frames = []
    for sid in range(1, 199, 2):  # 99 calls, sent in one write so that the server reads them all at once
        if protocol == "twirp":
            headers = [(":method", "POST"), (":scheme", "http"), (":path", LIST_TWIRP), (":authority", "x"),
                       ("content-type", "application/json"), ("authorization", f"Bearer {token}")]
            body = b'{"room_name": "big"}'
        else:
            headers = [(":method", "POST"), (":scheme", "http"), (":path", LIST_GRPC), (":authority", "x"),
                       ("content-type", "application/grpc"), ("te", "trailers"), ("authorization", f"Bearer {token}")]
            body = grpc_message(b"\x0a\x03big")
        data = DataFrame(sid, data=body)
        data.flags.add("END_STREAM")
        frames += [conn.headers_frame(sid, headers), data]
    conn.send(*frames)
    growth = server.peak_growth_mib(before, 4)
    print(f"{protocol} over HTTP/2: RSS grew {growth:.1f} MiB with 99 answers of {size / 1e6:.1f} MB unread")
    # The 4 MiB budget, the answer being encoded (a few MB, twice while it is copied) and the
    # allocator's slack: 11.8-14 MiB measured; without the budget, 84 MiB.
    assert growth < 20, f"server memory grew by {growth:.0f} MiB"
    assert others_are_served(server)
    sock.close()


def test_a_client_that_reads_nothing_is_cut_off_and_a_slow_reader_is_not(fresh_server, stubs):
    server = fresh_server("--max-live-egresses", "200", "--participant-wait-timeout", "600", "--send-timeout", "1.5")
    size = fill(server, stubs)
    token = tokens.token(roomRecord=True)
    stuck = small_socket(server)
    steady = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    started = time.monotonic()
    stuck.sendall(b"".join(twirp_request(token=token) for _ in range(3)))
    steady.sendall(twirp_request(token=token))
    # The steady client takes 64 KiB every 0.1 s: its ~2 MB answer takes longer than the
    # timeout, but some of it goes every moment. The stuck one takes nothing.
    steady.settimeout(5)
    chunks, received, expected = [], 0, None
    while expected is None or received < expected:
        chunk = steady.recv(65536)
        assert chunk, f"the steady reader was cut off after {received} bytes"
        chunks.append(chunk)
        received += len(chunk)
        if expected is None and b"\r\n\r\n" in b"".join(chunks):
            head, _, _ = b"".join(chunks).partition(b"\r\n\r\n")
            expected = len(head) + 4 + int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        time.sleep(0.1)
    assert time.monotonic() - started > 2.5  # it really was slower than the timeout
    assert json.loads(b"".join(chunks).partition(b"\r\n\r\n")[2])["items"][0]["room_name"] == "big"
    # The stuck client, reading now, finds its connection closed long before three answers.
    count, closed, _ = read_http1_answers(stuck, 5)
    assert closed and count < 3
    assert "closing a connection whose client has read nothing" in server.log_text()


def send_twirp_list(conn, stream_id):
    """A Twirp ListEgress of room "big" over HTTP/2, on `stream_id`, with a token."""
    headers = [(":method", "POST"), (":scheme", "http"), (":path", LIST_TWIRP), (":authority", "x"),
               ("content-type", "application/json"), ("authorization", f"Bearer {tokens.token(roomRecord=True)}")]
    data = DataFrame(stream_id, data=b'{"room_name": "big"}')
    data.flags.add("END_STREAM")
    conn.send(conn.headers_frame(stream_id, headers), data)


def test_an_http2_client_that_never_opens_its_windows_is_cut_off(fresh_server, stubs):
    server = fresh_server("--max-live-egresses", "200", "--participant-wait-timeout", "600", "--send-timeout", "1.5")
    fill(server, stubs, count=20)
    conn = RawConnection(server.port)
    send_twirp_list(conn, 1)
    # It reads every frame (the socket never backs up) but sends no WINDOW_UPDATE: the answer
    # waits in the server for the window, which never opens.
    started = time.monotonic()
    goaway, frames = conn.until_goaway_or_close(timeout=10)
    waited = time.monotonic() - started
    assert goaway is not None and goaway.error_code == 11, goaway  # ENHANCE_YOUR_CALM
    assert 1.4 < waited < 5
    assert sum(len(f.data) for f in frames if isinstance(f, DataFrame)) <= 65535


def test_http2_request_data_is_not_acknowledged_while_answers_wait(big_server):
    """Over its budget, a connection takes no more request data than its windows allow: the
    server sends no WINDOW_UPDATE for bodies until the client has read answers again."""
    from hyperframe.frame import WindowUpdateFrame as WindowUpdate
    server, _ = big_server
    conn = RawConnection(server.port, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})  # no answer data can flow
    token = tokens.token(roomRecord=True)
    headers = lambda path: [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
                            ("content-type", "application/json"), ("authorization", f"Bearer {token}")]
    frames = []
    for sid in (1, 3, 5):  # three ~2 MB answers wait: over the 4 MiB budget
        data = DataFrame(sid, data=b'{"room_name": "big"}')
        data.flags.add("END_STREAM")
        frames += [conn.headers_frame(sid, headers(LIST_TWIRP)), data]
    conn.send(*frames)
    time.sleep(1)

    def window_updates(seconds):
        seen, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                frame = conn.read_frame(timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            assert frame is not None, "the server closed the connection"
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                conn.send(SettingsFrame(0, flags=["ACK"]))
            if isinstance(frame, DataFrame) and frame.data:
                conn.send(WindowUpdate(0, window_increment=len(frame.data)), WindowUpdate(frame.stream_id, window_increment=len(frame.data)))
            if isinstance(frame, WindowUpdate):
                seen.append(frame)
        return seen

    window_updates(0.5)
    # 10 bodies of 64 KiB (each stream's window, in frames of 16 KiB), 640 KiB: past half the 1 MiB connection
    # window, where a WINDOW_UPDATE would normally go out.
    for sid in range(7, 27, 2):
        conn.send(conn.headers_frame(sid, headers("/twirp/livekit.Egress/StartParticipantEgress")),
                  *(DataFrame(sid, data=b" " * 16383) for _ in range(4)))
    held = window_updates(2)
    assert held == [], f"request data acknowledged while over budget: {held}"
    # The client opens its windows and reads: the answers flow, and the bodies are acknowledged.
    conn.send(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 2 ** 31 - 1}),
              WindowUpdate(0, window_increment=2 ** 31 - 65536))
    released = window_updates(10)
    assert any(f.stream_id == 0 and f.window_increment >= 512 * 1024 for f in released), released


def test_an_http2_window_opened_a_byte_at_a_time_is_not_progress(fresh_server, stubs):
    server = fresh_server("--max-live-egresses", "200", "--participant-wait-timeout", "600", "--send-timeout", "1.5")
    fill(server, stubs, count=5)  # a ~100 KB answer
    conn = RawConnection(server.port, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})
    send_twirp_list(conn, 1)
    started = time.monotonic()
    goaway = None
    while time.monotonic() - started < 10:
        # A byte of window every 0.1 s (slowly: a flood of WINDOW_UPDATEs is another matter).
        conn.send(WindowUpdateFrame(0, window_increment=1), WindowUpdateFrame(1, window_increment=1))
        time.sleep(0.1)
        try:
            while (frame := conn.read_frame(timeout=0.05)) is not None and not isinstance(frame, GoAwayFrame):
                pass
        except TimeoutError:
            continue
        goaway = frame
        break
    assert isinstance(goaway, GoAwayFrame) and goaway.error_code == 11, goaway
    assert time.monotonic() - started < 6
