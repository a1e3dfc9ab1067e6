"""LiveKit's Python server SDK (livekit-api from the package index), unchanged, as a user drives
it: LiveKitAPI(url, key, secret) over Twirp. A participant publishes from its own process
(publish.py: ffmpeg over RTP into the embedded room hub); the recordings are checked with ffprobe."""
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from livekit import api

from media import probe

HERE = Path(__file__).resolve().parent


def call(server, body, key="devkey", secret="secret", token=None, scheme="http", session=None):
    async def run():
        lk = api.LiveKitAPI(f"{scheme}://127.0.0.1:{server.port}", key, secret, token=token, session=session() if session else None)
        try:
            return await body(lk)
        finally:
            await lk.aclose()
    return asyncio.run(run())


class Participant:
    """publish.py in a process of its own; `tracks` holds its track sids."""

    def __init__(self, server, room, identity, seconds=60):
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "publish.py"), server.address, str(server.rtp_port), room, identity, str(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.tracks = json.loads(self.process.stdout.readline())

    def leave(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=20)


@pytest.fixture
def participants():
    made = []

    def make(*args, **kwargs):
        made.append(Participant(*args, **kwargs))
        return made[-1]

    yield make
    for p in made:
        p.leave()


def wait_status(server, egress_id, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        info = call(server, lambda lk: lk.egress.list_egress(api.ListEgressRequest(egress_id=egress_id))).items[0]
        if info.status == wanted:
            return info
        assert info.status not in (api.EGRESS_FAILED, api.EGRESS_ABORTED) or wanted in (api.EGRESS_FAILED, api.EGRESS_ABORTED), info.error
        assert time.monotonic() < deadline, f"egress stuck in {api.EgressStatus.Name(info.status)}"
        time.sleep(0.2)


def streams(path):
    return sorted((s["codec_type"], s["codec_name"]) for s in probe(path)[0])


def test_participant_egress_with_room_calls(server, participants):
    alice = participants(server, "sdk-room", "alice")
    listed = call(server, lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room="sdk-room")))
    assert [p.identity for p in listed.participants] == ["alice"]
    assert {t.sid for t in listed.participants[0].tracks} == set(alice.tracks.values())

    request = api.ParticipantEgressRequest(
        room_name="sdk-room", identity="alice", preset=api.H264_720P_30,
        file_outputs=[api.EncodedFileOutput(file_type=api.MP4, filepath="sdk/{room_name}-{publisher_identity}.mp4")])
    info = call(server, lambda lk: lk.egress.start_participant_egress(request))
    assert info.egress_id.startswith("EG_") and info.participant.identity == "alice"
    wait_status(server, info.egress_id, api.EGRESS_ACTIVE)
    time.sleep(2)
    muted = call(server, lambda lk: lk.room.mute_published_track(
        api.MuteRoomTrackRequest(room="sdk-room", identity="alice", track_sid=alice.tracks["video"], muted=True)))
    assert muted.track.sid == alice.tracks["video"] and muted.track.muted
    time.sleep(1)
    stopped = call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    assert stopped.status == api.EGRESS_ENDING
    done = wait_status(server, info.egress_id, api.EGRESS_COMPLETE)
    [result] = done.file_results
    assert result.filename.endswith("sdk/sdk-room-alice.mp4") and result.size > 0
    assert streams(result.location) == [("audio", "aac"), ("video", "h264")]
    assert 2.0 < float(probe(result.location)[1]["duration"]) < 6.0


def test_list_rooms_says_which_are_recording_and_delete_room_takes_the_sdks_grant(server, participants):
    """ListRooms sets active_recording while an egress records the room; DeleteRoom, which the SDK
    signs with roomCreate (as LiveKit asks), deletes the room and ends its egress."""
    bob = participants(server, "sdk-rec", "bob")
    participants(server, "sdk-quiet", "carol")
    started = call(server, lambda lk: lk.egress.start_participant_egress(api.ParticipantEgressRequest(
        room_name="sdk-rec", identity="bob", file_outputs=[api.EncodedFileOutput(filepath="sdk/rec.mp4")])))
    wait_status(server, started.egress_id, api.EGRESS_ACTIVE)
    rooms = call(server, lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=["sdk-rec", "sdk-quiet"]))).rooms
    assert {r.name: r.active_recording for r in rooms} == {"sdk-rec": True, "sdk-quiet": False}
    call(server, lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room="sdk-rec")))
    ended = wait_status(server, started.egress_id, api.EGRESS_COMPLETE)
    assert ended.file_results[0].size > 0
    rooms = call(server, lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=["sdk-rec", "sdk-quiet"]))).rooms
    assert {r.name: r.active_recording for r in rooms} == {"sdk-quiet": False}
    bob.leave()


def test_create_room_with_auto_participant_egress_records_who_joins(server, participants):
    """The SDK's create_room with a RoomEgress: the participant who joins later is recorded."""
    room = call(server, lambda lk: lk.room.create_room(api.CreateRoomRequest(
        name="sdk-auto", max_participants=5, metadata="m", egress=api.RoomEgress(participant=api.AutoParticipantEgress(
            preset=api.H264_720P_30, file_outputs=[api.EncodedFileOutput(filepath="sdk/{room_name}-{publisher_identity}")])))))
    assert (room.name, room.max_participants, room.metadata, room.num_participants) == ("sdk-auto", 5, "m", 0)
    dana = participants(server, "sdk-auto", "dana")
    deadline = time.monotonic() + 20
    while not (items := call(server, lambda lk: lk.egress.list_egress(api.ListEgressRequest(room_name="sdk-auto"))).items):
        assert time.monotonic() < deadline, "no auto egress started"
        time.sleep(0.2)
    [started] = items
    assert started.participant.identity == "dana"
    wait_status(server, started.egress_id, api.EGRESS_ACTIVE)
    dana.leave()
    ended = wait_status(server, started.egress_id, api.EGRESS_COMPLETE)
    assert ended.file_results[0].filename == "sdk/sdk-auto-dana.mp4" and ended.file_results[0].size > 0
    with pytest.raises(api.TwirpError) as refused:
        call(server, lambda lk: lk.room.create_room(api.CreateRoomRequest(name="sdk-bad", egress=api.RoomEgress(
            room=api.RoomCompositeEgressRequest(room_name="sdk-bad")))))
    assert refused.value.code == "invalid_argument"


def test_track_composite_and_track_egress(server, participants):
    bob = participants(server, "sdk-tracks", "bob")
    composite = call(server, lambda lk: lk.egress.start_track_composite_egress(api.TrackCompositeEgressRequest(
        room_name="sdk-tracks", audio_track_id=bob.tracks["audio"], video_track_id=bob.tracks["video"],
        file_outputs=[api.EncodedFileOutput(filepath="sdk/composite.mp4")])))
    track = call(server, lambda lk: lk.egress.start_track_egress(api.TrackEgressRequest(
        room_name="sdk-tracks", track_id=bob.tracks["audio"], file=api.DirectFileOutput(filepath="sdk/{track_id}.ogg"))))
    for egress in (composite, track):
        wait_status(server, egress.egress_id, api.EGRESS_ACTIVE)
    time.sleep(2)
    live = call(server, lambda lk: lk.egress.list_egress(api.ListEgressRequest(room_name="sdk-tracks", active=True)))
    assert {i.egress_id for i in live.items} == {composite.egress_id, track.egress_id}
    for egress in (composite, track):
        call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=egress.egress_id)))
    composite_file = wait_status(server, composite.egress_id, api.EGRESS_COMPLETE).file_results[0].location
    track_file = wait_status(server, track.egress_id, api.EGRESS_COMPLETE).file_results[0].location
    assert streams(composite_file) == [("audio", "aac"), ("video", "h264")]
    assert streams(track_file) == [("audio", "opus")] and track_file.endswith(f"{bob.tracks['audio']}.ogg")


def test_update_stream(server):
    request = api.ParticipantEgressRequest(
        room_name="sdk-stream", identity="nobody", file_outputs=[api.EncodedFileOutput(filepath="sdk/stream.mp4")],
        stream_outputs=[api.StreamOutput(protocol=api.RTMP, urls=["rtmp://127.0.0.1:1/live/first"])])
    info = call(server, lambda lk: lk.egress.start_participant_egress(request))
    added = call(server, lambda lk: lk.egress.update_stream(api.UpdateStreamRequest(
        egress_id=info.egress_id, add_output_urls=["rtmp://127.0.0.1:1/live/second"])))
    # The request's URL is listed from the start, so that it can be removed too.
    assert [r.url for r in info.stream_results] == ["rtmp://127.0.0.1:1/live/{stream_key}"]
    assert [r.url for r in added.stream_results] == ["rtmp://127.0.0.1:1/live/{stream_key}"] * 2
    assert added.stream_results[0].id == info.stream_results[0].id
    removed = call(server, lambda lk: lk.egress.update_stream(api.UpdateStreamRequest(
        egress_id=info.egress_id, remove_output_urls=["rtmp://127.0.0.1:1/live/first"])))
    assert [r.status for r in removed.stream_results] == [api.StreamInfo.FINISHED, api.StreamInfo.ACTIVE]
    with pytest.raises(api.TwirpError) as caught:
        call(server, lambda lk: lk.egress.update_stream(api.UpdateStreamRequest(
            egress_id=info.egress_id, add_output_urls=["srt://127.0.0.1:1"])))
    assert caught.value.code == "invalid_argument"
    call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))


def test_errors_come_back_as_twirp_errors_with_the_right_code(server):
    def error(body, **kwargs):
        with pytest.raises(api.TwirpError) as caught:
            call(server, body, **kwargs)
        return caught.value.code, caught.value.status

    assert error(lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id="EG_nope"))) == ("not_found", 404)
    assert error(lambda lk: lk.egress.start_participant_egress(api.ParticipantEgressRequest(identity="x"))) == ("invalid_argument", 400)
    assert error(lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room="no-such-room"))) == ("not_found", 404)
    assert error(lambda lk: lk.egress.list_egress(api.ListEgressRequest()), secret="wrong") == ("unauthenticated", 401)
    assert error(lambda lk: lk.egress.list_egress(api.ListEgressRequest()), key="nokey") == ("unauthenticated", 401)
    no_grant = api.AccessToken("devkey", "secret").with_identity("u").with_grants(api.VideoGrants(room_join=True, room="r")).to_jwt()
    assert error(lambda lk: lk.egress.list_egress(api.ListEgressRequest()), token=no_grant) == ("permission_denied", 403)


def test_https_with_a_self_signed_certificate(fresh_server, tls_files):
    import ssl

    cert, key = tls_files
    server = fresh_server("--tls-cert", str(cert), "--tls-key", str(key))

    def session():
        context = ssl.create_default_context(cafile=str(cert))
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))

    listed = call(server, lambda lk: lk.egress.list_egress(api.ListEgressRequest()), scheme="https", session=session)
    assert list(listed.items) == []
    info = call(server, lambda lk: lk.egress.start_participant_egress(
        api.ParticipantEgressRequest(room_name="tls", identity="x", file_outputs=[api.EncodedFileOutput(filepath="t.mp4")])),
        scheme="https", session=session)
    assert info.room_name == "tls"
    # Without trusting the certificate, the SDK refuses the server.
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        call(server, lambda lk: lk.egress.list_egress(api.ListEgressRequest()), scheme="https")
