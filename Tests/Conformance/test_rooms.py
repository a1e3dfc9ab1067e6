"""The embedded room hub over RPC: RoomIngest (publishing) and LiveKit's RoomService calls."""
import socket
import time

import grpc
import pytest

import tokens
from media import Publisher, probe
from test_recording import info_of, participant_egress, wait_for


def error_of(call, request):
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=10)
    return caught.value.code(), caught.value.details()


@pytest.fixture
def rooms(server, stubs):
    return stubs.room_grpc.RoomServiceStub(server.channel())


@pytest.fixture
def ingest(server, stubs):
    return stubs.ingest_grpc.RoomIngestStub(server.channel())


def test_joining_and_publishing_show_in_room_service(server, stubs, rooms):
    pub = Publisher(server, stubs, "rs-list", "alice")
    video, audio = pub.camera_and_microphone()
    try:
        listed = rooms.ListRooms(stubs.room.ListRoomsRequest(names=["rs-list"]), timeout=10).rooms
        assert [(r.name, r.num_participants, r.num_publishers) for r in listed] == [("rs-list", 1, 1)]
        assert listed[0].sid.startswith("RM_")
        [p] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="rs-list"), timeout=10).participants
        assert p.identity == "alice" and p.sid.startswith("PA_") and p.is_publisher
        assert [(t.sid, t.type, t.source, t.mime_type) for t in p.tracks] == [
            (video.sid, stubs.models.VIDEO, stubs.models.CAMERA, "video/H264"),
            (audio.sid, stubs.models.AUDIO, stubs.models.MICROPHONE, "audio/opus")]
        got = rooms.GetParticipant(stubs.room.RoomParticipantIdentity(room="rs-list", identity="alice"), timeout=10)
        assert got == p
        muted = rooms.MutePublishedTrack(stubs.room.MuteRoomTrackRequest(
            room="rs-list", identity="alice", track_sid=audio.sid, muted=True), timeout=10)
        assert muted.track.sid == audio.sid and muted.track.muted
        rooms.RemoveParticipant(stubs.room.RoomParticipantIdentity(room="rs-list", identity="alice"), timeout=10)
        assert rooms.ListRooms(stubs.room.ListRoomsRequest(names=["rs-list"]), timeout=10).rooms == []
    finally:
        pub.stop_sending()


def test_unknown_rooms_participants_and_tracks_are_not_found(server, stubs, rooms):
    r = stubs.room
    assert error_of(rooms.ListParticipants, r.ListParticipantsRequest(room="nowhere")) == (
        grpc.StatusCode.NOT_FOUND, "room nowhere not found")
    Publisher(server, stubs, "rs-missing", "alice")
    assert error_of(rooms.GetParticipant, r.RoomParticipantIdentity(room="rs-missing", identity="bob")) == (
        grpc.StatusCode.NOT_FOUND, "participant bob not found in room rs-missing")
    assert error_of(rooms.MutePublishedTrack, r.MuteRoomTrackRequest(room="rs-missing", identity="alice", track_sid="TR_x")) == (
        grpc.StatusCode.NOT_FOUND, "track TR_x not found")
    assert error_of(rooms.DeleteRoom, r.DeleteRoomRequest(room="nowhere"))[0] == grpc.StatusCode.NOT_FOUND
    assert error_of(rooms.ListParticipants, r.ListParticipantsRequest())[1] == "room is required"


def test_publishing_is_validated_and_a_refusal_changes_nothing(server, stubs, ingest, rooms):
    m, i = stubs.models, stubs.ingest
    pub = Publisher(server, stubs, "rs-validate", "alice")
    track = pub.publish("audio")
    base = dict(room="rs-validate", identity="alice", type=m.VIDEO, source=m.CAMERA, codec=i.H264, payload_type=96, ssrc=5)
    cases = [
        (dict(codec=i.OPUS), grpc.StatusCode.INVALID_ARGUMENT, "codec opus does not fit a track of type video"),
        (dict(source=m.MICROPHONE), grpc.StatusCode.INVALID_ARGUMENT, "source microphone does not fit a track of type video"),
        (dict(payload_type=8), grpc.StatusCode.INVALID_ARGUMENT, "payload_type 8 is not a dynamic RTP payload type (96-127)"),
        (dict(rtp_source="localhost:5000"), grpc.StatusCode.INVALID_ARGUMENT,
         'rtp_source "localhost:5000" is not a numeric host:port ([v6]:port for IPv6)'),
        (dict(rtp_source="127.0.0.1"), grpc.StatusCode.INVALID_ARGUMENT,
         'rtp_source "127.0.0.1" is not a numeric host:port ([v6]:port for IPv6)'),
        (dict(codec=i.CODEC_UNSPECIFIED), grpc.StatusCode.INVALID_ARGUMENT, "codec must be H264, VP8 or OPUS"),
        (dict(ssrc=track.ssrc), grpc.StatusCode.ALREADY_EXISTS,
         "the ssrc is not available on this hub; leave ssrc 0 and the hub chooses one"),
        (dict(identity="zoe"), grpc.StatusCode.NOT_FOUND, "participant zoe not found in room rs-validate"),
    ]
    for change, code, message in cases:
        assert error_of(ingest.PublishTrack, i.PublishTrackRequest(**{**base, **change})) == (code, message)
    [p] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="rs-validate"), timeout=10).participants
    assert [t.sid for t in p.tracks] == [track.sid]
    assert error_of(ingest.JoinRoom, i.JoinRoomRequest(room="rs-validate", identity="alice")) == (
        grpc.StatusCode.ALREADY_EXISTS, "participant alice is already in room rs-validate")


def test_packets_from_unknown_ssrcs_are_dropped_and_counted(server, stubs, ingest):
    before = ingest.GetIngestStats(stubs.ingest.GetIngestStatsRequest(), timeout=10)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    packet = bytes([0x80, 96, 0, 1, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xFE]) + b"x" * 20
    for _ in range(5):
        sock.sendto(packet, ("127.0.0.1", server.rtp_port))
    sock.sendto(b"not rtp", ("127.0.0.1", server.rtp_port))
    deadline = time.monotonic() + 5
    while True:
        after = ingest.GetIngestStats(stubs.ingest.GetIngestStatsRequest(), timeout=10)
        if after.unknown_ssrc_packets - before.unknown_ssrc_packets == 5 and after.malformed_packets > before.malformed_packets:
            break
        assert time.monotonic() < deadline, after
        time.sleep(0.05)


def test_a_silent_participant_times_out_and_its_egress_ends(fresh_server, stubs):
    server = fresh_server("--participant-timeout", "1")
    api = stubs.egress_grpc.EgressStub(server.channel())
    rooms = stubs.room_grpc.RoomServiceStub(server.channel())
    Publisher(server, stubs, "rs-timeout", "quiet")  # joins, then stays silent
    started = participant_egress(api, stubs, "rs-timeout", "quiet")
    time.sleep(0.3)
    info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ABORTED, timeout=10)
    assert info.details == "End reason: participant timed out"
    assert rooms.ListRooms(stubs.room.ListRoomsRequest(), timeout=10).rooms == []


def test_remove_participant_ends_the_participants_egress_and_keeps_what_it_recorded(server, stubs, rooms):
    """RemoveParticipant: the participant leaves, so its egress ends COMPLETE ("participant
    removed") with the file of what was recorded; another participant's egress goes on."""
    e = stubs.egress
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "rs-remove", "alice")
    bob = Publisher(server, stubs, "rs-remove", "bob")
    alice.send(*alice.camera_and_microphone())
    bob.send(bob.publish("audio"))
    try:
        removed = participant_egress(api, stubs, "rs-remove", "alice", "rs-remove/alice.mp4")
        kept = participant_egress(api, stubs, "rs-remove", "bob", "rs-remove/bob")
        for started in (removed, kept):
            wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(2)
        rooms.RemoveParticipant(stubs.room.RoomParticipantIdentity(room="rs-remove", identity="alice"), timeout=10)
        info = wait_for(api, stubs, removed.egress_id, e.EGRESS_COMPLETE, e.EGRESS_ABORTED, e.EGRESS_FAILED)
        time.sleep(0.5)
        assert info_of(api, stubs, kept.egress_id).status == e.EGRESS_ACTIVE
        assert [p.identity for p in rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="rs-remove"), timeout=10).participants] == ["bob"]
    finally:
        alice.stop_sending()
        bob.leave()
    assert (e.EgressStatus.Name(info.status), info.details) == ("EGRESS_COMPLETE", "End reason: participant removed")
    streams, fmt = probe(info.file_results[0].location)
    assert sorted(s["codec_type"] for s in streams) == ["audio", "video"]
    assert 1.5 < float(fmt["duration"]) < 3.5


def test_delete_room_ends_every_egress_of_the_room(server, stubs, rooms):
    """Three egresses of the room end: alice's (through her leaving), a TrackComposite of her tracks
    (through its tracks ending) and one for a participant who never joined, which only the room's
    deletion can end. An egress waiting in another room goes on."""
    e = stubs.egress
    api = stubs.egress_grpc.EgressStub(server.channel())
    pub = Publisher(server, stubs, "rs-delete", "alice")
    video, audio = pub.camera_and_microphone()
    pub.send(video, audio)
    try:
        recorded = participant_egress(api, stubs, "rs-delete", "alice")
        composite = api.StartTrackCompositeEgress(e.TrackCompositeEgressRequest(
            room_name="rs-delete", audio_track_id=audio.sid, video_track_id=video.sid,
            file_outputs=[e.EncodedFileOutput(filepath="rs-delete/composite.mp4")]), timeout=10)
        ghost = participant_egress(api, stubs, "rs-delete", "ghost")
        elsewhere = participant_egress(api, stubs, "rs-delete-not", "ghost")
        for started in (recorded, composite):
            wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(2)
        assert info_of(api, stubs, ghost.egress_id).status == e.EGRESS_STARTING
        rooms.DeleteRoom(stubs.room.DeleteRoomRequest(room="rs-delete"), timeout=10)
        ended = {name: wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE, e.EGRESS_ABORTED, e.EGRESS_FAILED)
                 for name, started in (("recorded", recorded), ("composite", composite), ("ghost", ghost))}
    finally:
        pub.stop_sending()
    assert ended["recorded"].status == e.EGRESS_COMPLETE and ended["recorded"].file_results[0].duration > 1_000_000_000
    assert ended["composite"].status == e.EGRESS_COMPLETE and ended["composite"].file_results[0].duration > 1_000_000_000
    assert (ended["ghost"].status, ended["ghost"].details, list(ended["ghost"].file_results)) == (e.EGRESS_ABORTED, "End reason: room deleted", [])
    assert info_of(api, stubs, elsewhere.egress_id).status == e.EGRESS_STARTING
    api.StopEgress(e.StopEgressRequest(egress_id=elsewhere.egress_id), timeout=10)
    assert rooms.ListRooms(stubs.room.ListRoomsRequest(names=["rs-delete"]), timeout=10).rooms == []


def test_delete_room_takes_room_create_or_admin_of_the_room(server, stubs):
    """LiveKit asks roomCreate to delete a room; roomAdmin for that room is taken too. Other
    grants are PERMISSION_DENIED, naming what is missing, and the room stays."""
    r = stubs.room
    raw = stubs.room_grpc.RoomServiceStub(server.raw_channel())
    listing = stubs.room_grpc.RoomServiceStub(server.channel())

    def delete(name, **grant):
        return raw.DeleteRoom(r.DeleteRoomRequest(room=name), metadata=[tokens.bearer(**grant)], timeout=10)

    for room in ("rs-grant-a", "rs-grant-b"):
        Publisher(server, stubs, room, "alice")
    assert error_of(lambda req, timeout: delete("rs-grant-a", roomJoin=True, room="rs-grant-a"), None) == (
        grpc.StatusCode.PERMISSION_DENIED, "permission denied: the token has neither a roomCreate nor a roomAdmin grant")
    assert error_of(lambda req, timeout: delete("rs-grant-a", roomAdmin=True, room="rs-grant-b"), None) == (
        grpc.StatusCode.PERMISSION_DENIED, 'permission denied: the token\'s roomAdmin grant is for room "rs-grant-b", not "rs-grant-a"')
    assert [x.name for x in listing.ListRooms(r.ListRoomsRequest(names=["rs-grant-a"]), timeout=10).rooms] == ["rs-grant-a"]
    delete("rs-grant-a", roomCreate=True)
    delete("rs-grant-b", roomAdmin=True, room="rs-grant-b")
    assert listing.ListRooms(r.ListRoomsRequest(names=["rs-grant-a", "rs-grant-b"]), timeout=10).rooms == []
