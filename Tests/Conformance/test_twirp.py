"""Twirp on the API port, as people and LiveKit's SDKs call it: JSON and protobuf bodies over
HTTP/1.1 (curl, http.client, raw sockets) and HTTP/2 (curl --http2-prior-knowledge), Twirp's
error JSON and HTTP statuses, and HTTP/1.1's keep-alive, pipelining, size limits and
slow-client timeouts."""
import http.client
import json
import socket
import subprocess
import time

import pytest

import tokens

LIST = "/twirp/livekit.Egress/ListEgress"


def curl(server, path, body=None, content_type="application/json", token=None, method="POST", http2=False, extra=()):
    """curl as a person would type it; returns (status, content-type, body text)."""
    args = ["curl", "-s", "-o", "-", "-w", "\n%{http_code} %{content_type}", "-X", method,
            f"http://127.0.0.1:{server.port}{path}", *extra]
    if http2:
        args.append("--http2-prior-knowledge")
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    if content_type:
        args += ["-H", f"Content-Type: {content_type}"]
    if body is not None:
        args += ["-d", body]
    # A request refused from its head alone is answered at once, and the rest of its body is
    # refused with RST_STREAM(NO_ERROR) once the answer has gone out (RFC 9113 §8.1). When that
    # reset crosses the body curl is still sending, curl 7.88 exits 92 — mostly with the whole
    # answer (which is what counts), now and then having dropped it unread (status 000): that
    # case, curl's, is tried again, at most five times.
    for _ in range(6):
        result = subprocess.run(args, capture_output=True, text=True, timeout=30)
        text, _, status_line = result.stdout.rpartition("\n")
        status, _, ctype = status_line.partition(" ")
        if not (result.returncode == 92 and http2 and status in ("", "000")):
            break
    complete = result.returncode == 0 or (result.returncode == 92 and http2 and status not in ("", "000"))
    assert complete, (result.returncode, result.stdout, result.stderr)
    return int(status), ctype, text


def record_token():
    return tokens.token(roomRecord=True)


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
def test_curl_json_list_egress(server, http2):
    status, ctype, text = curl(server, LIST, '{"room_name": "empty-room"}', token=record_token(), http2=http2)
    assert (status, ctype) == (200, "application/json")
    assert json.loads(text) == {"items": [], "next_page_token": None}


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
def test_curl_json_start_answers_with_proto_names_and_defaults(server, http2):
    # camelCase in, as LiveKit's Node SDK sends it, with a charset parameter.
    body = json.dumps({"roomName": "curl-room", "identity": "bob", "fileOutputs": [{"filepath": "curl/{room_name}.mp4"}],
                       "preset": "H264_720P_30"})
    status, ctype, text = curl(server, "/twirp/livekit.Egress/StartParticipantEgress", body, token=record_token(),
                               content_type="application/json;charset=UTF-8", http2=http2)
    assert (status, ctype) == (200, "application/json"), text
    info = json.loads(text)
    assert info["egress_id"].startswith("EG_") and info["room_name"] == "curl-room"
    assert info["status"] == "EGRESS_STARTING"
    assert isinstance(info["started_at"], str) and int(info["started_at"]) > 0  # int64 as a string
    assert info["error"] == "" and info["file_results"] == []  # defaults are written
    assert info["participant"]["identity"] == "bob" and info["participant"]["preset"] == "H264_720P_30"
    status, _, text = curl(server, "/twirp/livekit.Egress/StopEgress", json.dumps({"egress_id": info["egress_id"]}),
                           token=record_token(), http2=http2)
    assert status == 200 and json.loads(text)["status"] in ("EGRESS_ENDING", "EGRESS_ABORTED")


def test_enums_by_number_and_int64_as_numbers_are_accepted(server):
    body = json.dumps({"room_name": "numbers", "identity": "carol", "preset": 2,
                       "file_outputs": [{"filepath": "n.mp4", "file_type": 1}]})
    status, _, text = curl(server, "/twirp/livekit.Egress/StartParticipantEgress", body, token=record_token())
    assert status == 200, text
    info = json.loads(text)
    assert info["participant"]["preset"] == "H264_1080P_30" and info["participant"]["file_outputs"][0]["file_type"] == "MP4"


def test_protobuf_bodies_round_trip(server, stubs):
    request = stubs.egress.ListEgressRequest(room_name="nothing-here")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", LIST, body=request.SerializeToString(),
                       headers={"Content-Type": "application/protobuf", "Authorization": f"Bearer {record_token()}"})
    response = connection.getresponse()
    assert (response.status, response.getheader("content-type")) == (200, "application/protobuf")
    assert stubs.egress.ListEgressResponse.FromString(response.read()) == stubs.egress.ListEgressResponse()


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
def test_twirp_errors(server, http2):
    def error(**kwargs):
        status, ctype, text = curl(server, http2=http2, **kwargs)
        assert ctype == "application/json", (status, ctype, text)  # exactly: SDKs read the code only then
        body = json.loads(text)
        return status, body["code"], body["msg"]

    token = record_token()
    assert error(path=LIST, body="{}", method="GET", token=token)[:2] == (404, "bad_route")
    assert error(path="/twirp/livekit.Egress/NoSuchMethod", body="{}", token=token) == (
        404, "bad_route", 'no handler for path "/twirp/livekit.Egress/NoSuchMethod"')
    assert error(path="/twirp/nope.Service/X", body="{}", token=token)[:2] == (404, "bad_route")
    assert error(path=LIST, body="{}", content_type="text/plain", token=token) == (
        404, "bad_route", 'unexpected Content-Type: "text/plain"')
    status, code, msg = error(path=LIST, body='{"room_name": ', token=token)
    assert (status, code) == (400, "malformed") and "could not be decoded" in msg
    status, code, msg = error(path=LIST, body='{"room_name": 7}', token=token)
    assert (status, code) == (400, "malformed") and "room_name" in msg
    assert error(path="/twirp/livekit.Egress/StopEgress", body='{"egress_id": "EG_unknown"}', token=token) == (
        404, "not_found", "egress EG_unknown not found")
    status, code, _ = error(path="/twirp/livekit.Egress/StartParticipantEgress", body='{"identity": "x"}', token=token)
    assert (status, code) == (400, "invalid_argument")
    assert error(path=LIST, body="{}")[:2] == (401, "unauthenticated")
    assert error(path=LIST, body="{}", token=tokens.token(roomList=True))[:2] == (403, "permission_denied")
    # Health is not a Twirp service of LiveKit's, but everything routed is reachable the same way.
    status, ctype, text = curl(server, "/twirp/grpc.health.v1.Health/Check", "{}", http2=http2)
    assert (status, json.loads(text)) == (200, {"status": "SERVING"})


def test_streaming_methods_are_not_twirp_routes(server):
    status, _, text = curl(server, "/twirp/grpc.health.v1.Health/Watch", "{}")
    assert status == 404 and json.loads(text)["code"] == "bad_route"


def test_unknown_json_fields_are_ignored(server):
    status, _, text = curl(server, LIST, '{"room_name": "r", "future_field": {"a": [1, 2]}}', token=record_token())
    assert status == 200, text


def exchange(sock, data, responses=1, timeout=10):
    """Sends `data`, reads until `responses` whole HTTP/1.1 responses (with content-length) arrived."""
    sock.settimeout(timeout)
    sock.sendall(data)
    buffer, parsed = b"", []
    while len(parsed) < responses:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            head, rest = buffer.split(b"\r\n\r\n", 1)
            length = int([line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")][0])
            if len(rest) < length:
                break
            parsed.append((head.decode(), rest[:length]))
            buffer = rest[length:]
    return parsed


def request_bytes(path, body, token, extra=""):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def test_keep_alive_and_pipelined_requests_are_answered_in_order(server):
    token = record_token()
    sock = server.connect()
    first = exchange(sock, request_bytes(LIST, b'{"room_name": "a"}', token))
    assert first[0][0].startswith("HTTP/1.1 200")
    # Three requests in one write: three answers, in order, on the same connection.
    burst = (request_bytes(LIST, b"{}", token) + request_bytes("/twirp/livekit.Egress/StopEgress", b'{"egress_id": "EG_1"}', token)
             + request_bytes(LIST, b"{}", token))
    answers = exchange(sock, burst, responses=3)
    assert [a[0].split("\r\n")[0] for a in answers] == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"]
    assert json.loads(answers[1][1])["msg"] == "egress EG_1 not found"
    # Connection: close is honoured.
    last = exchange(sock, request_bytes(LIST, b"{}", token, extra="Connection: close\r\n"))
    assert "connection: close" in last[0][0].lower()
    assert sock.recv(10) == b""


def test_an_oversized_body_is_413_and_closes(server):
    sock = server.connect()
    sock.sendall(f"POST {LIST} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {record_token()}\r\n"
                 f"Content-Length: {5 << 20}\r\n\r\n".encode())
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413")
    sock.settimeout(5)
    assert sock.recv(10) == b""
    assert curl(server, LIST, "{}", token=record_token())[0] == 200


def test_an_oversized_head_is_431(server):
    sock = server.connect()
    sock.sendall(f"POST {LIST} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 20000}\r\n\r\n".encode())
    sock.settimeout(5)
    assert sock.recv(65536).startswith(b"HTTP/1.1 431")


def test_slow_loris_is_cut_off_and_idle_connections_are_closed(fresh_server):
    server = fresh_server("--request-read-timeout", "1", "--idle-timeout", "2")
    # Headers trickled a byte at a time never make a request: 408, closed after ~1 s.
    slow = server.connect()
    started = time.monotonic()
    answer = b""
    try:
        for byte in b"POST /twirp/livekit.Egress/ListEgress HTTP/1.1\r\nHost: x\r\n":
            slow.sendall(bytes([byte]))
            time.sleep(0.05)
    except OSError:
        pass
    slow.settimeout(5)
    while chunk := slow.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 4
    # A kept-alive connection that goes quiet is closed after the idle timeout.
    idle = server.connect()
    assert exchange(idle, request_bytes(LIST, b"{}", record_token()))[0][0].startswith("HTTP/1.1 200")
    quiet = time.monotonic()
    idle.settimeout(6)
    assert idle.recv(10) == b"" and 1.5 < time.monotonic() - quiet < 4
    # Neither affected anyone else.
    assert curl(server, LIST, "{}", token=record_token())[0] == 200


def test_http10_without_keep_alive_is_closed_after_the_answer(server):
    sock = server.connect()
    body = b'{"room_name": "empty-room"}'
    sock.sendall(f"POST {LIST} HTTP/1.0\r\nContent-Type: application/json\r\nAuthorization: Bearer {record_token()}\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    sock.settimeout(5)
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b'{"items":[],"next_page_token":null}')


def test_grpc_still_works_beside_http1(server, stubs):
    api = stubs.egress_grpc.EgressStub(server.channel())
    assert list(api.ListEgress(stubs.egress.ListEgressRequest(room_name="beside"), timeout=5).items) == []
    assert curl(server, LIST, "{}", token=record_token())[0] == 200
