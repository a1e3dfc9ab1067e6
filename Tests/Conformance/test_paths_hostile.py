"""Output paths an attacker would try: values that make ".." once the template is filled in,
symbolic links inside the output directory, a NUL byte (which a C string would cut short),
names and paths over the system's limits. Each is refused — at the request when the request
says enough, otherwise when the file is made — and nothing is written outside the directory."""
import json
import os
import time
from pathlib import Path

import grpc
import pytest
import requests

import tokens
from media import Publisher, probe
from test_recording import participant_egress, wait_for


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def refused(call, request):
    with pytest.raises(grpc.RpcError) as error:
        call(request, timeout=10)
    return error.value.code(), error.value.details()


def files_under(directory):
    return sorted(str(p) for p in Path(directory).rglob("*"))


def everything_above(server):
    """What lies in the test's temporary directory beside the output directory (the server's log excepted)."""
    return sorted(str(p) for p in Path(server.tmp.name).rglob("*")
                  if server.output_dir not in p.parents and p != server.output_dir and p.name not in ("server.log", "port"))


ESCAPING_TEMPLATES = ["{room_name}{room_name}/{room_name}{room_name}/x.mp4", "{room_name}{room_name}/x.mp4",
                      "a/{room_name}{room_name}/../x.mp4", "{room_name}./x"]


@pytest.mark.parametrize("template", ESCAPING_TEMPLATES)
def test_a_room_named_dot_cannot_climb_out_through_the_template(api, stubs, server, template):
    e = stubs.egress
    before = everything_above(server)
    code, message = refused(api.StartParticipantEgress, e.ParticipantEgressRequest(
        room_name=".", identity="alice", file_outputs=[e.EncodedFileOutput(filepath=template)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("request has missing or invalid field: filepath") and "leaves the output directory" in message
    assert everything_above(server) == before
    assert api.ListEgress(e.ListEgressRequest(room_name="."), timeout=10).items == []


@pytest.mark.parametrize("path", ["../\u0301escaped.mp4", "/x/../../\u0301escape-at-root.mp4", "a/../../\u0301x.mp4"])
def test_a_slash_joined_to_a_combining_mark_is_still_a_separator(api, stubs, server, path):
    """Swift reads "/\u0301" as one Character; the kernel reads a "/" byte. The path checks
    split at bytes, as the kernel does."""
    e = stubs.egress
    code, message = refused(api.StartParticipantEgress, e.ParticipantEgressRequest(
        room_name="paths-mark", identity="alice", file_outputs=[e.EncodedFileOutput(filepath=path)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "leaves the output directory" in message


def test_names_ending_in_a_joining_character_keep_their_directories(server, stubs, api):
    """A room whose name ends with U+0600 (it joins the "/" after it into one Character) used
    to lose its directory; the recording is made where the template says."""
    room = "paths-\u0600"
    pub = Publisher(server, stubs, room, "alice")
    pub.send(*pub.camera_and_microphone(), seconds=20)
    try:
        started = participant_egress(api, stubs, room, "alice", filepath="{room_name}/{publisher_identity}.mp4")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(1.5)
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    finally:
        pub.stop_sending()
    assert info.file_results[0].location == str(server.output_dir / room / "alice.mp4")
    assert (server.output_dir / room / "alice.mp4").stat().st_size > 0


@pytest.mark.parametrize("output", ["segments", "images", "track"])
def test_other_outputs_and_egress_types_are_checked_the_same_way(api, stubs, output):
    e = stubs.egress
    if output == "segments":
        call, request, field = api.StartParticipantEgress, e.ParticipantEgressRequest(
            room_name="..x", identity=".", segment_outputs=[e.SegmentedFileOutput(
                filename_prefix="{publisher_identity}{publisher_identity}/seg", playlist_name="p.m3u8")]), "filename_prefix"
    elif output == "images":
        call, request, field = api.StartParticipantEgress, e.ParticipantEgressRequest(
            room_name=".", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="ok.mp4")],
            image_outputs=[e.ImageOutput(filename_prefix="{room_name}{room_name}/img")]), "filename_prefix"
    else:
        call, request, field = api.StartTrackEgress, e.TrackEgressRequest(
            room_name=".", track_id="TR_x", file=e.DirectFileOutput(filepath="{room_name}{room_name}/{track_id}.ogg")), "filepath"
    code, message = refused(call, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith(f"request has missing or invalid field: {field}") and "leaves the output directory" in message


def test_an_identity_named_dot_is_caught_when_the_file_is_made(server, stubs, api):
    """A track composite's publisher is known only once its tracks are: the filled path is
    checked when the file is opened, and the egress fails there, writing nothing."""
    e = stubs.egress
    pub = Publisher(server, stubs, "paths-late", ".")
    video, audio = pub.camera_and_microphone()
    pub.send(video, audio, seconds=20)
    before = everything_above(server)
    try:
        started = api.StartTrackCompositeEgress(e.TrackCompositeEgressRequest(
            room_name="paths-late", audio_track_id=audio.sid, video_track_id=video.sid,
            file_outputs=[e.EncodedFileOutput(filepath="{publisher_identity}{publisher_identity}/{publisher_identity}{publisher_identity}/late.mp4")]),
            timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_FAILED)
    finally:
        pub.stop_sending()
    assert info.error_code == 400
    assert "../../late.mp4" in info.error and "leaves the output directory" in info.error
    assert everything_above(server) == before
    assert not any(name.endswith("late.mp4") or started.egress_id in name for name in files_under(server.output_dir))


def test_a_symbolic_link_inside_the_output_directory_is_not_followed(server, stubs, api, tmp_path):
    e = stubs.egress
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    server.output_dir.mkdir(parents=True, exist_ok=True)
    (server.output_dir / "link").symlink_to(outside, target_is_directory=True)
    (outside / "victim.mp4").write_bytes(b"keep me")
    (server.output_dir / "overwrite.mp4").symlink_to(outside / "victim.mp4")
    pub = Publisher(server, stubs, "paths-link", "alice")
    pub.send(*pub.camera_and_microphone(), seconds=20)
    try:
        through_dir = participant_egress(api, stubs, "paths-link", "alice", filepath="link/x.mp4")
        through_file = participant_egress(api, stubs, "paths-link", "alice", filepath="overwrite.mp4")
        failed = [wait_for(api, stubs, egress.egress_id, e.EGRESS_FAILED) for egress in (through_dir, through_file)]
    finally:
        pub.stop_sending()
    assert sorted(p.name for p in outside.iterdir()) == ["victim.mp4"]
    assert (outside / "victim.mp4").read_bytes() == b"keep me"
    assert "link" in failed[0].error and "symbolic link" in failed[0].error
    assert "overwrite.mp4" in failed[1].error and "symbolic link" in failed[1].error


def test_a_nul_byte_in_a_path_is_refused_not_cut_off(api, stubs, server):
    e = stubs.egress
    # Over gRPC: protobuf-c would have read "x.mp4" (and, before that, "../../y" was hidden after the NUL).
    code, message = refused(api.StartParticipantEgress, e.ParticipantEgressRequest(
        room_name="paths-nul", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="x.mp4\x00/../../y.mp4")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "livekit.ParticipantEgressRequest.file_outputs.filepath contains a NUL byte" in message
    # Over Twirp JSON: refused as it is read, naming the field (no string with a NUL byte
    # reaches a message, whose strings protobuf-c keeps as C strings).
    response = requests.post(f"http://127.0.0.1:{server.port}/twirp/livekit.Egress/StartParticipantEgress", timeout=10,
                             headers={"Authorization": "Bearer " + tokens.token(roomRecord=True), "Content-Type": "application/json"},
                             data=json.dumps({"room_name": "paths-nul", "identity": "alice", "file_outputs": [{"filepath": "x\u0000.mp4"}]}))
    assert response.status_code == 400 and response.json()["code"] == "invalid_argument"
    assert "file_outputs[0].filepath contains a NUL byte" in response.json()["msg"]
    # Over Twirp protobuf: the same refusal as gRPC.
    body = e.ParticipantEgressRequest(room_name="paths-nul", identity="alice",
                                      file_outputs=[e.EncodedFileOutput(filepath="a\x00b.mp4")]).SerializeToString()
    response = requests.post(f"http://127.0.0.1:{server.port}/twirp/livekit.Egress/StartParticipantEgress", timeout=10, data=body,
                             headers={"Authorization": "Bearer " + tokens.token(roomRecord=True), "Content-Type": "application/protobuf"})
    assert response.status_code == 400 and "contains a NUL byte" in response.json()["msg"]
    assert api.ListEgress(e.ListEgressRequest(room_name="paths-nul"), timeout=10).items == []


@pytest.mark.parametrize("path,problem", [
    ("n" * 300 + ".mp4", "bytes long; at most 255 are allowed"),
    ("/".join(["d" * 200] * 30) + "/x.mp4", "bytes long with the output directory; at most 4096 are allowed"),
    ("é" * 128 + "/x.mp4", "is 256 bytes long; at most 255 are allowed"),
])
def test_names_and_paths_over_the_systems_limits_are_refused_at_the_request(api, stubs, path, problem):
    e = stubs.egress
    for request, call in [
        (e.ParticipantEgressRequest(room_name="paths-long", identity="alice", file_outputs=[e.EncodedFileOutput(filepath=path)]),
         api.StartParticipantEgress),
        (e.TrackEgressRequest(room_name="paths-long", track_id="TR_x", file=e.DirectFileOutput(filepath=path)), api.StartTrackEgress),
    ]:
        code, message = refused(call, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and problem in message, message


def test_a_long_room_name_that_makes_the_name_too_long_is_refused_at_the_request(api, stubs):
    e = stubs.egress
    code, message = refused(api.StartParticipantEgress, e.ParticipantEgressRequest(
        room_name="r" * 250, identity="alice", file_outputs=[e.EncodedFileOutput(filepath="{room_name}-{publisher_identity}.mp4")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "at most 255 are allowed" in message


def test_rooms_and_identities_longer_than_a_file_name_cannot_join(server, stubs):
    ingest = stubs.ingest_grpc.RoomIngestStub(server.channel())
    i = stubs.ingest
    code, message = refused(ingest.JoinRoom, i.JoinRoomRequest(room="r" * 256, identity="alice"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message == "room is 256 bytes long; at most 255 are allowed"
    code, message = refused(ingest.JoinRoom, i.JoinRoomRequest(room="r", identity="i" * 300))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message == "identity is 300 bytes long; at most 255 are allowed"


def test_finishing_an_mp4_does_not_reopen_it_by_name(server, stubs, api, tmp_path):
    """While a recording runs, its directory is swapped for a link to a place holding a link
    named like the finishing step's temporary file. Finishing (which moves the MP4 index to the
    front, a second pass over the file) works on the files it opened, not on what the names
    now lead to: no secret is copied into the recording, and nothing is written through links."""
    e = stubs.egress
    pub = Publisher(server, stubs, "paths-swap", "alice")
    pub.send(*pub.camera_and_microphone(), seconds=30)
    try:
        started = participant_egress(api, stubs, "paths-swap", "alice", filepath="swap/x.mp4", preset=e.PASSTHROUGH)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(3)
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-" * 20000)
        evil = tmp_path / "evil"
        evil.mkdir()
        (evil / "x.mp4.part").symlink_to(secret)
        os.rename(server.output_dir / "swap", server.output_dir / "swap-real")
        (server.output_dir / "swap").symlink_to(evil, target_is_directory=True)
        api.StopEgress(e.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE, e.EGRESS_FAILED)
    finally:
        pub.stop_sending()
    assert secret.read_text() == "TOP-SECRET-" * 20000
    for recorded in (server.output_dir / "swap-real").iterdir():
        assert b"TOP-SECRET-" not in recorded.read_bytes(), recorded
    assert sorted(p.name for p in evil.iterdir()) == ["x.mp4.part"]
    # The recording itself, in the directory it was opened in, is whole and plays.
    assert info.status == e.EGRESS_COMPLETE, info.error
    streams, fmt = probe(server.output_dir / "swap-real" / "x.mp4")
    assert float(fmt["duration"]) > 2
