"""Settings from the environment (EGRESS_*), and flags over the environment, each seen on a real
request: the server is started with the variable and a client checks what it changes."""
import socket
import time

import grpc
import pytest

import tokens

from h2frames import RawConnection, SettingsFrame
from media import Publisher
from test_recording import info_of, participant_egress, record_for, wait_for


def list_with_room_name_of(server, stubs, size):
    """ListEgress whose request message is exactly `size` bytes; the status code."""
    e = stubs.egress
    overhead = len(e.ListEgressRequest(room_name="x" * size).SerializeToString()) - size
    request = e.ListEgressRequest(room_name="x" * (size - overhead))
    assert request.ByteSize() == size
    api = stubs.egress_grpc.EgressStub(server.channel(**{"grpc.max_send_message_length": 64 << 20}))
    try:
        api.ListEgress(request, timeout=20)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        return error.code(), error.details()


def server_settings(server):
    conn = RawConnection(server.port)
    frame = conn.read_frame()
    conn.close()
    assert isinstance(frame, SettingsFrame)
    return frame.settings


def test_addresses_port_file_and_output_directory_from_the_environment(fresh_server, stubs):
    server = fresh_server(by_environment=True)  # EGRESS_HOST, EGRESS_PORT, EGRESS_RTP_PORT, EGRESS_PORT_FILE, EGRESS_OUTPUT_DIR
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "env-dir", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = participant_egress(api, stubs, "env-dir", "alice", "env/{room_name}.mp4")
        info, _ = record_for(api, stubs, started.egress_id, 2)
    finally:
        alice.leave()
    assert info.file_results[0].location == str(server.output_dir / "env" / "env-dir.mp4")
    assert (server.output_dir / "env" / "env-dir.mp4").stat().st_size > 0


def test_a_flag_wins_over_the_environment(fresh_server, stubs, tmp_path):
    elsewhere = tmp_path / "from-the-environment"
    server = fresh_server("--max-receive-message-size", "200000", "--max-concurrent-streams", "7",
                          env={"EGRESS_OUTPUT_DIR": str(elsewhere), "EGRESS_MAX_RECEIVE_MESSAGE_SIZE": "100000",
                               "EGRESS_MAX_CONCURRENT_STREAMS": "5"})
    assert list_with_room_name_of(server, stubs, 150_000) == (grpc.StatusCode.OK, "")
    assert server_settings(server)[SettingsFrame.MAX_CONCURRENT_STREAMS] == 7
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "flag-dir", "alice")
    alice.send(alice.publish("audio"))
    try:
        started = participant_egress(api, stubs, "flag-dir", "alice", "flag.ogg")
        info, _ = record_for(api, stubs, started.egress_id, 1.5)
    finally:
        alice.leave()
    assert info.file_results[0].location == str(server.output_dir / "flag.ogg")  # --output-dir, from the fixture
    assert not elsewhere.exists()


def test_max_receive_message_size_from_the_environment(fresh_server, stubs):
    server = fresh_server(env={"EGRESS_MAX_RECEIVE_MESSAGE_SIZE": "100000"})
    assert list_with_room_name_of(server, stubs, 100_000) == (grpc.StatusCode.OK, "")
    assert list_with_room_name_of(server, stubs, 100_001) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED, "received message larger than max (100001 vs. 100000)")


def test_http2_settings_from_the_environment(fresh_server):
    server = fresh_server(env={"EGRESS_MAX_CONCURRENT_STREAMS": "5", "EGRESS_MAX_HEADER_LIST_SIZE": "4096"})
    settings = server_settings(server)
    assert (settings[SettingsFrame.MAX_CONCURRENT_STREAMS], settings[SettingsFrame.MAX_HEADER_LIST_SIZE]) == (5, 4096)


def test_max_live_egresses_from_the_environment(fresh_server, stubs):
    server = fresh_server(env={"EGRESS_MAX_LIVE_EGRESSES": "1"})
    api = stubs.egress_grpc.EgressStub(server.channel())
    first = participant_egress(api, stubs, "env-live", "a")
    with pytest.raises(grpc.RpcError) as caught:
        participant_egress(api, stubs, "env-live", "b")
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [i.egress_id for i in api.ListEgress(stubs.egress.ListEgressRequest(room_name="env-live"), timeout=10).items] == [first.egress_id]


def test_participant_wait_timeout_from_the_environment(fresh_server, stubs):
    server = fresh_server(env={"EGRESS_PARTICIPANT_WAIT_TIMEOUT": "1"})
    api = stubs.egress_grpc.EgressStub(server.channel())
    started = time.monotonic()
    egress = participant_egress(api, stubs, "env-wait", "ghost")
    info = wait_for(api, stubs, egress.egress_id, stubs.egress.EGRESS_FAILED, timeout=10)
    assert info.error == "participant ghost not found"
    assert 0.9 < time.monotonic() - started < 4


def test_participant_timeout_from_the_environment(fresh_server, stubs):
    """A participant that sends nothing (no RTP, no KeepAlive) leaves after EGRESS_PARTICIPANT_TIMEOUT."""
    server = fresh_server(env={"EGRESS_PARTICIPANT_TIMEOUT": "1.5"})
    rooms = stubs.room_grpc.RoomServiceStub(server.channel())
    Publisher(server, stubs, "env-silent", "quiet")
    joined_at = time.monotonic()
    assert len(rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="env-silent"), timeout=10).participants) == 1
    deadline = time.monotonic() + 8
    while rooms.ListRooms(stubs.room.ListRoomsRequest(names=["env-silent"]), timeout=10).rooms:  # gone with its last participant
        assert time.monotonic() < deadline, "the silent participant stayed"
        time.sleep(0.1)
    assert time.monotonic() - joined_at > 1.4


def closed_after(sock, limit):
    """Seconds until the server closes `sock` (reading whatever it sends), at most `limit`."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_http1_timeouts_from_the_environment(fresh_server):
    server = fresh_server(env={"EGRESS_IDLE_TIMEOUT": "1", "EGRESS_REQUEST_READ_TIMEOUT": "1"})
    idle = server.connect()
    idle.sendall(b"POST /twirp/livekit.Egress/ListEgress HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + tokens.token(roomRecord=True).encode() + b"\r\nContent-Length: 2\r\n\r\n{}")
    assert idle.recv(4096).startswith(b"HTTP/1.1 200 ")  # kept alive, then idle
    seconds = closed_after(idle, 8)
    assert seconds is not None and 0.5 < seconds < 3, seconds
    slow = server.connect()
    slow.sendall(b"POST /twirp/livekit.Egress/ListEgress HTTP/1.1\r\nHost: x\r\n")  # the head never ends
    seconds = closed_after(slow, 8)
    assert seconds is not None and 0.5 < seconds < 3, seconds


def test_log_level_from_the_environment(fresh_server, stubs):
    quiet, chatty = fresh_server(), fresh_server(env={"EGRESS_LOG_LEVEL": "debug"})
    for server in (quiet, chatty):
        watch = stubs.health_grpc.HealthStub(server.channel()).Watch(stubs.health.HealthCheckRequest(), timeout=10)
        next(watch)
        watch.cancel()
    deadline = time.monotonic() + 5
    while "call cancelled by the client" not in chatty.log_text():
        assert time.monotonic() < deadline, chatty.log_text()
        time.sleep(0.05)
    assert "call cancelled by the client" not in quiet.log_text()


def test_tls_from_the_environment(fresh_server, stubs, tls_files):
    cert, key = tls_files
    server = fresh_server(env={"EGRESS_TLS_CERT": str(cert), "EGRESS_TLS_KEY": str(key)})
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    channel = tokens.signed(grpc.secure_channel(server.address, credentials))
    api = stubs.egress_grpc.EgressStub(channel)
    assert list(api.ListEgress(stubs.egress.ListEgressRequest(room_name="tls"), timeout=10).items) == []
