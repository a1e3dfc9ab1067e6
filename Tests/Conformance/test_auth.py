"""Access tokens on every API call (gRPC and Twirp), API keys as LiveKit's server takes them,
and TLS with a self-signed certificate through grpcio's secure channel. Tokens are made with
PyJWT (tokens.py), not by the server's code."""
import json
import os
import subprocess
import time

import grpc
import pytest
import requests

import tokens

LONG_SECRET = "0123456789abcdef0123456789abcdef-long"
NOW = int(time.time())

# (case, token arguments, gRPC status, Twirp HTTP status)
MATRIX = [
    ("no token", None, grpc.StatusCode.UNAUTHENTICATED, 401),
    ("wrong secret", dict(secret="not-the-secret", roomRecord=True), grpc.StatusCode.UNAUTHENTICATED, 401),
    ("unknown key", dict(key="stranger", roomRecord=True), grpc.StatusCode.UNAUTHENTICATED, 401),
    ("expired", dict(nbf=NOW - 3600, exp=NOW - 60, roomRecord=True), grpc.StatusCode.UNAUTHENTICATED, 401),
    ("not yet valid", dict(nbf=NOW + 3600, exp=NOW + 7200, roomRecord=True), grpc.StatusCode.UNAUTHENTICATED, 401),
    ("wrong grant", dict(roomList=True, roomAdmin=True, room="r"), grpc.StatusCode.PERMISSION_DENIED, 403),
    ("right grant", dict(roomRecord=True), grpc.StatusCode.OK, 200),
]


def grpc_code(call, request, metadata):
    try:
        call(request, metadata=metadata, timeout=10)
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()


@pytest.mark.parametrize("case,claims,status,_", MATRIX, ids=[m[0] for m in MATRIX])
def test_grpc_auth_matrix(server, stubs, case, claims, status, _):
    api = stubs.egress_grpc.EgressStub(server.raw_channel())
    metadata = [tokens.bearer(**claims)] if claims is not None else []
    assert grpc_code(api.ListEgress, stubs.egress.ListEgressRequest(), metadata) == status


@pytest.mark.parametrize("case,claims,_,http_status", MATRIX, ids=[m[0] for m in MATRIX])
def test_twirp_auth_matrix(server, case, claims, _, http_status):
    headers = {"Content-Type": "application/json"}
    if claims is not None:
        headers["Authorization"] = "Bearer " + tokens.token(**claims)
    response = requests.post(f"http://127.0.0.1:{server.port}/twirp/livekit.Egress/ListEgress", data="{}", headers=headers, timeout=10)
    assert response.status_code == http_status
    if http_status != 200:
        assert response.json()["code"] == {401: "unauthenticated", 403: "permission_denied"}[http_status]


def test_room_service_grants_follow_livekit(server, stubs):
    rooms = stubs.room_grpc.RoomServiceStub(server.raw_channel())
    r = stubs.room
    assert grpc_code(rooms.ListRooms, r.ListRoomsRequest(), [tokens.bearer(roomList=True)]) == grpc.StatusCode.OK
    assert grpc_code(rooms.ListRooms, r.ListRoomsRequest(), [tokens.bearer(roomAdmin=True, room="a")]) == grpc.StatusCode.PERMISSION_DENIED
    listing = r.ListParticipantsRequest(room="a")
    assert grpc_code(rooms.ListParticipants, listing, [tokens.bearer(roomAdmin=True, room="a")]) == grpc.StatusCode.NOT_FOUND  # allowed; no room a
    assert grpc_code(rooms.ListParticipants, listing, [tokens.bearer(roomAdmin=True, room="b")]) == grpc.StatusCode.PERMISSION_DENIED
    assert grpc_code(rooms.ListParticipants, listing, [tokens.bearer(roomList=True, roomRecord=True)]) == grpc.StatusCode.PERMISSION_DENIED


def test_publishing_needs_room_join_for_that_room_and_identity(server, stubs):
    ingest = stubs.ingest_grpc.RoomIngestStub(server.raw_channel())
    join = stubs.ingest.JoinRoomRequest(room="stage", identity="ann", name="Ann")
    for claims in (dict(roomJoin=True, room="other", identity="ann"), dict(roomJoin=True, room="stage", identity="bob"),
                   dict(roomAdmin=True, room="stage", identity="ann")):
        assert grpc_code(ingest.JoinRoom, join, [tokens.bearer(**claims)]) == grpc.StatusCode.PERMISSION_DENIED
    assert grpc_code(ingest.JoinRoom, join, [tokens.bearer(roomJoin=True, room="stage", identity="ann")]) == grpc.StatusCode.OK


def test_ingest_stats_need_room_admin_for_the_room_or_room_list_for_all(server, stubs):
    ingest = stubs.ingest_grpc.RoomIngestStub(server.raw_channel())
    i = stubs.ingest
    one, every = i.GetIngestStatsRequest(room="stage"), i.GetIngestStatsRequest()
    assert grpc_code(ingest.GetIngestStats, one, [tokens.bearer(roomAdmin=True, room="stage")]) == grpc.StatusCode.OK
    assert grpc_code(ingest.GetIngestStats, one, [tokens.bearer(roomAdmin=True, room="other")]) == grpc.StatusCode.PERMISSION_DENIED
    assert grpc_code(ingest.GetIngestStats, one, [tokens.bearer(roomJoin=True, room="stage", identity="ann")]) == grpc.StatusCode.PERMISSION_DENIED
    assert grpc_code(ingest.GetIngestStats, every, [tokens.bearer(roomList=True)]) == grpc.StatusCode.OK
    assert grpc_code(ingest.GetIngestStats, every, [tokens.bearer(roomAdmin=True, room="stage")]) == grpc.StatusCode.PERMISSION_DENIED
    assert grpc_code(ingest.GetIngestStats, every, [tokens.bearer(roomRecord=True)]) == grpc.StatusCode.PERMISSION_DENIED
    assert grpc_code(ingest.GetIngestStats, every, []) == grpc.StatusCode.UNAUTHENTICATED


def test_health_needs_no_token(server, stubs):
    health = stubs.health_grpc.HealthStub(server.raw_channel())
    assert health.Check(stubs.health.HealthCheckRequest(), timeout=5).status == stubs.health.HealthCheckResponse.SERVING


def start_failure(*args, env=None):
    """The server's exit code and stderr when it refuses to start."""
    binary = os.environ.get("EGRESS_SERVER_BIN", ".build/debug/egress-server")
    clean = {k: v for k, v in os.environ.items() if k not in ("LIVEKIT_KEYS", "LIVEKIT_KEY_FILE")}
    result = subprocess.run([binary, "--port", "0", "--rtp-port", "0", *args], capture_output=True, text=True, timeout=30,
                            env={**clean, **(env or {})})
    return result.returncode, result.stderr


def test_without_keys_the_server_refuses_to_start():
    code, stderr = start_failure()
    assert code != 0 and "no API keys" in stderr and "--dev" in stderr


def test_keys_from_the_environment_and_the_short_secret_warning(fresh_server, stubs):
    server = fresh_server(env={"LIVEKIT_KEYS": f"prod: {LONG_SECRET}\nshort: tiny"}, dev=False)
    api = stubs.egress_grpc.EgressStub(server.raw_channel())
    ok = [tokens.bearer(key="prod", secret=LONG_SECRET, roomRecord=True)]
    assert grpc_code(api.ListEgress, stubs.egress.ListEgressRequest(), ok) == grpc.StatusCode.OK
    assert grpc_code(api.ListEgress, stubs.egress.ListEgressRequest(), [tokens.bearer(roomRecord=True)]) == grpc.StatusCode.UNAUTHENTICATED
    log = server.log_text()
    assert "API key short is shorter than 32 characters" in log
    assert "tiny" not in log and LONG_SECRET not in log  # secrets are never logged


def test_a_key_file_readable_by_others_is_refused(tmp_path, fresh_server, stubs):
    key_file = tmp_path / "keys.yaml"
    key_file.write_text(f"# API keys\nfilekey: {LONG_SECRET}\n")
    key_file.chmod(0o644)
    code, stderr = start_failure("--key-file", str(key_file))
    assert code != 0 and "readable by others" in stderr
    key_file.chmod(0o640)  # by its group: refused too
    code, stderr = start_failure("--key-file", str(key_file))
    assert code != 0 and "(mode 640)" in stderr
    key_file.chmod(0o600)
    server = fresh_server("--key-file", str(key_file), dev=False)
    api = stubs.egress_grpc.EgressStub(server.raw_channel())
    ok = [tokens.bearer(key="filekey", secret=LONG_SECRET, roomRecord=True)]
    assert grpc_code(api.ListEgress, stubs.egress.ListEgressRequest(), ok) == grpc.StatusCode.OK


def test_malformed_keys_are_refused():
    code, stderr = start_failure("--keys", "just-a-key-without-secret")
    assert code != 0 and "API keys" in stderr


def test_tls_through_grpcio_secure_channel(fresh_server, stubs, tls_files):
    cert, key = tls_files
    server = fresh_server("--tls-cert", str(cert), "--tls-key", str(key))
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    channel = tokens.signed(grpc.secure_channel(f"localhost:{server.port}", credentials))
    api = stubs.egress_grpc.EgressStub(channel)
    info = api.StartParticipantEgress(stubs.egress.ParticipantEgressRequest(
        room_name="tls-room", identity="x", file_outputs=[stubs.egress.EncodedFileOutput(filepath="tls.mp4")]), timeout=10)
    assert info.room_name == "tls-room"
    assert len(api.ListEgress(stubs.egress.ListEgressRequest(room_name="tls-room"), timeout=10).items) == 1
    # Twirp over the same TLS port, HTTP/1.1 (ALPN http/1.1) and HTTP/2 (ALPN h2), with curl.
    for flag in ("--http1.1", "--http2"):
        out = subprocess.run(["curl", "-s", flag, "--cacert", str(cert), "-w", "\n%{http_version}", "-X", "POST",
                              f"https://localhost:{server.port}/twirp/livekit.Egress/ListEgress",
                              "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {tokens.token(roomRecord=True)}",
                              "-d", '{"room_name": "tls-room"}'], capture_output=True, text=True, check=True).stdout
        body, _, version = out.rpartition("\n")
        assert version == ("1.1" if flag == "--http1.1" else "2") and len(json.loads(body)["items"]) == 1
    # A plaintext client on the TLS port gets nowhere, and the server carries on.
    plain = stubs.egress_grpc.EgressStub(server.channel())
    with pytest.raises(grpc.RpcError) as caught:
        plain.ListEgress(stubs.egress.ListEgressRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(api.ListEgress(stubs.egress.ListEgressRequest(room_name="tls-room"), timeout=10).items) == 1


def test_unusable_tls_files_are_refused(tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    code, stderr = start_failure("--dev", "--tls-cert", str(bogus), "--tls-key", str(bogus))
    assert code != 0 and f"cannot read the TLS certificate {bogus}" in stderr
