"""What the page stands on, tried as an outsider would: the files it serves and their headers,
development tokens (and their limits), and recorded files served only to a token that may
record the room, byte ranges included, never through a symbolic link."""
import json
import os
import time
import urllib.error
import urllib.request

import pytest

import tokens
from media import Publisher
from test_recording import participant_egress, record_for


def get(server, path, token=None, headers=None):
    request = urllib.request.Request(f"http://{server.address}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_the_page_and_its_files_are_served_with_a_strict_policy(server):
    for path, kind in [("/", "text/html"), ("/page.js", "text/javascript"), ("/page.css", "text/css")]:
        status, headers, body = get(server, path)
        assert status == 200 and headers["content-type"].startswith(kind) and len(body) > 500, path
        assert "default-src 'self'" in headers["content-security-policy"] and headers["x-content-type-options"] == "nosniff"
    assert get(server, "/page/nothing")[0] == 404
    request = urllib.request.Request(f"http://{server.address}/", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 405


def test_development_tokens_are_scoped_to_one_room_and_short_lived(server, stubs):
    status, headers, body = get(server, "/page/token?room=dev-room&identity=ada%20lovelace")
    assert status == 200 and headers["cache-control"] == "no-store"
    minted = json.loads(body)
    claims = __import__("jwt").decode(minted["token"], options={"verify_signature": False})
    assert claims["sub"] == "ada lovelace" and claims["video"]["room"] == "dev-room"
    assert claims["video"]["roomJoin"] and claims["video"]["roomRecord"] and claims["video"]["roomAdmin"]
    assert 0 < claims["exp"] - time.time() <= 15 * 60 and minted["expiresAt"] == claims["exp"]
    # It administers its own room only.
    rooms = stubs.room_grpc.RoomServiceStub(server.raw_channel())
    with pytest.raises(__import__("grpc").RpcError) as refused:
        rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="another-room"), timeout=10,
                               metadata=[("authorization", "Bearer " + minted["token"])])
    assert refused.value.code().name == "PERMISSION_DENIED"
    for query in ["room=&identity=x", "room=r", "identity=x", "room=r&identity=" + "x" * 256, "room=r&identity=a%0Ab"]:
        assert get(server, "/page/token?" + query)[0] == 400, query


def test_without_dev_the_page_mints_nothing(fresh_server):
    server = fresh_server(dev=False, env={"LIVEKIT_KEYS": "key1: " + "s" * 40})
    status, _, body = get(server, "/page/token?room=r&identity=x")
    assert status == 403 and b"--dev" in body
    assert json.loads(get(server, "/page/config")[2])["mintsTokens"] is False


@pytest.fixture
def recording(server, stubs):
    """A finished recording of room files-room: (egress id, its file's path)."""
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "files-room", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = participant_egress(api, stubs, "files-room", "alice", "files/{room_name}")
        info, _ = record_for(api, stubs, started.egress_id, 3)
    finally:
        alice.leave()
    return started.egress_id, info.file_results[0].location


def test_recorded_files_go_only_to_a_token_that_may_record_the_room(server, recording):
    egress_id, location = recording
    whole = open(location, "rb").read()
    allowed = tokens.token(roomRecord=True, room="files-room")
    status, headers, body = get(server, f"/recordings/{egress_id}/0", allowed)
    assert (status, body, headers["content-type"], headers["accept-ranges"]) == (200, whole, "video/mp4", "bytes")
    # As a <video> element asks: the token in the query, a range.
    status, headers, body = get(server, f"/recordings/{egress_id}/0?access_token={allowed}", headers={"Range": "bytes=100-199"})
    assert (status, body, headers["content-range"]) == (206, whole[100:200], f"bytes 100-199/{len(whole)}")
    assert get(server, f"/recordings/{egress_id}/0", allowed, {"Range": "bytes=-10"})[2] == whole[-10:]
    assert get(server, f"/recordings/{egress_id}/0", allowed, {"Range": f"bytes={len(whole)}-"})[0] == 416
    assert 'attachment; filename="files-room.mp4"' == get(server, f"/recordings/{egress_id}/0?download=1", allowed)[1]["content-disposition"]
    refusals = [
        (None, 401), (tokens.token(roomRecord=True, room="files-room", exp=int(time.time()) - 60), 401),
        (tokens.token(roomAdmin=True, roomJoin=True, room="files-room", identity="alice"), 403),
        (tokens.token(roomRecord=True, room="other-room"), 403),
    ]
    for token, status in refusals:
        code, _, body = get(server, f"/recordings/{egress_id}/0", token)
        assert code == status and whole[:8] not in body, (token, code, body)
    for path in [f"/recordings/{egress_id}/1", f"/recordings/{egress_id}/-1", f"/recordings/{egress_id}/x", "/recordings/EG_nothing/0",
                 f"/recordings/{egress_id}/0/../0", "/recordings/"]:
        assert get(server, path, allowed)[0] == 404, path


def test_a_recording_replaced_by_a_symbolic_link_is_not_followed(server, recording):
    egress_id, location = recording
    os.replace(location, location + ".moved")
    os.symlink("/etc/passwd", location)
    status, _, body = get(server, f"/recordings/{egress_id}/0", tokens.token(roomRecord=True, room="files-room"))
    assert status == 404 and b"root:" not in body and b"symbolic link" in body
