"""LiveKit's CreateRoom with `egress`, called over Twirp's JSON as LiveKit's server SDKs send it
(livekit-api's own client is in test_livekit_api.py: its classes and this file's cannot share a
process): every participant that joins later gets a Participant egress of its own, every track
published a Track egress; egress_started webhooks come for them. A rule that could not work
is refused before the room exists; a created room keeps its settings and its timeouts."""
import json
import time
import urllib.error
import urllib.request

import pytest

import tokens
from media import Publisher
from test_recording import assert_pattern_in_sync, streams_by_type, wait_for
from webhook_endpoint import endpoint  # noqa: F401 (a fixture)


class TwirpError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def create(server, token=None, **fields):
    """CreateRoom over Twirp JSON; the Room it answers, as a dict."""
    request = urllib.request.Request(f"http://{server.address}/twirp/livekit.RoomService/CreateRoom", data=json.dumps(fields).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": "Bearer " + (token or tokens.token(roomCreate=True))})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = json.loads(error.read())
        raise TwirpError(body["code"], body["msg"]) from None


def egresses_of(server, stubs, room):
    egress = stubs.egress_grpc.EgressStub(server.channel())
    return list(egress.ListEgress(stubs.egress.ListEgressRequest(room_name=room), timeout=10).items)


def wait_until(condition, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def test_every_participant_that_joins_is_recorded_into_its_own_file(fresh_server, stubs, endpoint):
    hook = endpoint()
    server = fresh_server("--webhook-url", hook.url)
    room = create(server, name="auto-p", empty_timeout=60, metadata="weekly", egress={"participant": {
        "preset": "H264_720P_30", "file_outputs": [{"file_type": "MP4", "filepath": "auto/{room_name}-{publisher_identity}"}]}})
    assert (room["name"], room["metadata"], room["empty_timeout"], room["departure_timeout"]) == ("auto-p", "weekly", 60, 20)
    assert egresses_of(server, stubs, "auto-p") == []
    publishers = [Publisher(server, stubs, "auto-p", identity) for identity in ["ann", "ben"]]
    try:
        for publisher, tone in zip(publishers, [1000, 1000]):
            publisher.send(*publisher.camera_and_microphone(), tone=tone)
        api_stub = stubs.egress_grpc.EgressStub(server.channel())
        started = wait_until(lambda: len(items := egresses_of(server, stubs, "auto-p")) == 2 and items, "two auto egresses")
        for info in started:
            wait_for(api_stub, stubs, info.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(5)
    finally:
        for publisher in publishers:
            publisher.leave()
    ended = {}
    for info in started:
        final = wait_for(api_stub, stubs, info.egress_id, stubs.egress.EGRESS_COMPLETE)
        ended[final.participant.identity] = final
    assert sorted(ended) == ["ann", "ben"]
    for identity, info in ended.items():
        [result] = info.file_results
        assert result.filename == f"auto/auto-p-{identity}.mp4"
        streams, fmt = streams_by_type(result.location)
        assert (streams["video"]["codec_name"], streams["video"]["width"], streams["audio"]["codec_name"]) == ("h264", 1280, "aac")
        assert float(fmt["duration"]) > 4
        assert_pattern_in_sync(result.location, float(fmt["duration"]))
    events = [json.loads(body) for _, body, _ in hook.wait_for(2)]
    started_events = [e["egressInfo"]["egressId"] for e in events if e["event"] == "egress_started"]
    assert sorted(started_events) == sorted(i.egress_id for i in started)


def test_every_published_track_gets_a_track_egress(server, stubs):
    create(server, name="auto-t", egress={"tracks": {"filepath": "tracks/{room_name}/{track_id}"}})
    alice = Publisher(server, stubs, "auto-t", "alice")
    video, audio = alice.camera_and_microphone()
    alice.send(video, audio)
    try:
        started = wait_until(lambda: len(items := egresses_of(server, stubs, "auto-t")) == 2 and items, "two track egresses")
        api_stub = stubs.egress_grpc.EgressStub(server.channel())
        for info in started:
            wait_for(api_stub, stubs, info.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(3)
    finally:
        alice.leave()
    files = {}
    for info in started:
        final = wait_for(api_stub, stubs, info.egress_id, stubs.egress.EGRESS_COMPLETE)
        [result] = final.file_results
        files[final.track.track_id] = result
    assert sorted(files) == sorted([video.sid, audio.sid])
    codecs = {sid: streams_by_type(result.location)[0] for sid, result in files.items()}
    assert codecs[video.sid]["video"]["codec_name"] == "h264" and codecs[audio.sid]["audio"]["codec_name"] == "opus"
    assert files[video.sid].filename.startswith(f"tracks/auto-t/{video.sid}")


def test_a_rule_that_cannot_work_is_refused_and_no_room_is_made(server, stubs):
    rooms = stubs.room_grpc.RoomServiceStub(server.channel())
    bad = [
        ({"participant": {"file_outputs": [{"filepath": "../../etc/x"}]}}, "egress.participant"),
        ({"tracks": {"filepath": "{track_id}/../../x"}}, "egress.tracks"),
        ({"room": {"room_name": "r"}}, "egress.room"),
    ]
    for rule, words in bad:
        with pytest.raises(TwirpError) as refused:
            create(server, name="auto-bad", egress=rule)
        assert refused.value.code == "invalid_argument" and words in refused.value.message, refused.value.message
    assert list(rooms.ListRooms(stubs.room.ListRoomsRequest(names=["auto-bad"]), timeout=10).rooms) == []


def test_creating_needs_room_create(server, stubs):
    with pytest.raises(TwirpError) as refused:
        create(server, tokens.token(roomAdmin=True, roomList=True, room="auto-perm"), name="auto-perm")
    assert refused.value.code == "permission_denied" and "roomCreate" in refused.value.message
    rooms = stubs.room_grpc.RoomServiceStub(server.channel())
    assert list(rooms.ListRooms(stubs.room.ListRoomsRequest(names=["auto-perm"]), timeout=10).rooms) == []


def test_a_created_room_keeps_its_limit_and_closes_after_its_timeouts(server, stubs):
    rooms = stubs.room_grpc.RoomServiceStub(server.channel())
    ingest = stubs.ingest_grpc.RoomIngestStub(server.channel())
    create(server, name="auto-limit", max_participants=1, empty_timeout=1, departure_timeout=1)
    [room] = rooms.ListRooms(stubs.room.ListRoomsRequest(names=["auto-limit"]), timeout=10).rooms
    assert (room.max_participants, room.empty_timeout, room.num_participants) == (1, 1, 0)
    ingest.JoinRoom(stubs.ingest.JoinRoomRequest(room="auto-limit", identity="one"), timeout=10)
    with pytest.raises(Exception) as full:
        ingest.JoinRoom(stubs.ingest.JoinRoomRequest(room="auto-limit", identity="two"), timeout=10)
    assert "is full (1 participants)" in full.value.details()
    ingest.LeaveRoom(stubs.ingest.LeaveRoomRequest(room="auto-limit", identity="one"), timeout=10)
    # Still there right after the last one left (a joined room would be gone), then closed.
    assert len(rooms.ListRooms(stubs.room.ListRoomsRequest(names=["auto-limit"]), timeout=10).rooms) == 1
    wait_until(lambda: not rooms.ListRooms(stubs.room.ListRoomsRequest(names=["auto-limit"]), timeout=10).rooms, "the room to close", 5)
    # Never joined: closed after its empty timeout.
    create(server, name="auto-empty", empty_timeout=1)
    wait_until(lambda: not rooms.ListRooms(stubs.room.ListRoomsRequest(names=["auto-empty"]), timeout=10).rooms, "the room to close", 5)
