"""More than one output of a kind, from one decode: two files in two containers (MP4 with AAC and
video, OGG with Opus) and two HLS outputs with their own segment durations, checked with ffprobe
and the flashes and beeps; an OGG file beside an RTMP stream (Opus for one, AAC for the other);
two outputs that would write the same files are refused, at the request or once their names are
filled, and so is a sixth file."""
import re
import time

import grpc
import pytest

from media import Publisher, beep_times, probe
from stream_servers import RTMPServer
from test_recording import assert_pattern_in_sync, stop_and_finish, wait_for
from test_segments import entries


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def record(server, stubs, api, request, seconds):
    e = stubs.egress
    alice = Publisher(server, stubs, request.room_name, "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(request, timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        began = time.monotonic()
        time.sleep(seconds)
        info = stop_and_finish(api, stubs, started.egress_id)
        return info, time.monotonic() - began
    finally:
        alice.leave()


def test_two_files_and_two_hls_outputs_from_one_encode(server, stubs, api):
    e = stubs.egress
    request = e.ParticipantEgressRequest(
        room_name="r-multi", identity="alice", preset=e.H264_720P_30,
        file_outputs=[e.EncodedFileOutput(filepath="multi/{room_name}.mp4"),
                      e.EncodedFileOutput(file_type=e.OGG, filepath="multi/{room_name}")],
        # Live playlists named alike, in two directories: two files.
        segment_outputs=[e.SegmentedFileOutput(filename_prefix="multi/short/seg", segment_duration=2, live_playlist_name="live.m3u8"),
                         e.SegmentedFileOutput(filename_prefix="multi/long/seg", segment_duration=3, live_playlist_name="live.m3u8")])
    info, wall = record(server, stubs, api, request, 8)
    assert info.status == e.EGRESS_COMPLETE, (info.error, info.details)
    mp4, ogg = info.file_results
    assert (mp4.filename, ogg.filename) == ("multi/r-multi.mp4", "multi/r-multi.ogg")
    streams, fmt = probe(mp4.location)
    assert sorted((s["codec_type"], s["codec_name"]) for s in streams) == [("audio", "aac"), ("video", "h264")]
    assert_pattern_in_sync(mp4.location, float(fmt["duration"]))
    streams, ogg_fmt = probe(ogg.location)
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [("audio", "opus")]
    assert abs(float(ogg_fmt["duration"]) - float(fmt["duration"])) < 0.3, (ogg_fmt["duration"], fmt["duration"])
    # The same mix in both: the beeps at the same moments.
    # (Up to 0.15 s before the shorter one ends: a beep that starts in the last frames may be cut
    # from one encoding's end and not the other's — AAC frames are 23 ms and delayed, Opus 20 ms.)
    end = min(float(fmt["duration"]), float(ogg_fmt["duration"])) - 0.15
    mp4_beeps = [t for t in beep_times(mp4.location)[0] if t < end]
    ogg_beeps = [t for t in beep_times(ogg.location)[0] if t < end]
    assert len(ogg_beeps) >= int(wall) - 2 and len(ogg_beeps) == len(mp4_beeps), (ogg_beeps, mp4_beeps)
    assert all(abs(a - b) < 0.05 for a, b in zip(mp4_beeps, ogg_beeps)), (mp4_beeps, ogg_beeps)
    # Two HLS outputs, each cut at its own duration (the key frames fall on both).
    short, long = info.segment_results
    assert (short.playlist_name, long.playlist_name) == ("multi/short/seg.m3u8", "multi/long/seg.m3u8")
    for result, seconds in ((short, 2), (long, 3)):
        listed = entries((server.output_dir / result.playlist_name).read_text())
        assert len(listed) == result.segment_count >= 2, listed
        assert all(abs(d - seconds) <= 0.5 for d, _ in listed[:-1]), (seconds, listed)
        assert abs(sum(d for d, _ in listed) - float(fmt["duration"])) < 0.5
        streams, _ = probe(server.output_dir / result.playlist_name)
        assert sorted(s["codec_name"] for s in streams) == ["aac", "h264"]
    # One manifest lists them all.
    manifest = server.output_dir / "multi" / f"{info.egress_id}.json"
    assert info.manifest_location == str(manifest)
    text = manifest.read_text()
    assert text.count('"filename"') == 2 and text.count('"playlist_name"') == 2


def test_an_ogg_file_beside_a_stream_gets_opus_and_the_stream_aac(server, stubs, api):
    e = stubs.egress
    rtmp = RTMPServer()
    try:
        request = e.ParticipantEgressRequest(
            room_name="r-ogg-rtmp", identity="alice", preset=e.H264_720P_30,
            file_outputs=[e.EncodedFileOutput(file_type=e.OGG, filepath="oggrtmp/{room_name}")],
            stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=[rtmp.url("oggside")])])
        info, _ = record(server, stubs, api, request, 4)
        assert info.status == e.EGRESS_COMPLETE, (info.error, info.details)
        [file] = info.file_results
        streams, _ = probe(file.location)
        assert [(s["codec_type"], s["codec_name"]) for s in streams] == [("audio", "opus")]
        [flv] = rtmp.recorded("oggside")
        streams, fmt = probe(flv)
        assert sorted((s["codec_type"], s["codec_name"]) for s in streams) == [("audio", "aac"), ("video", "h264")]
        assert float(fmt["duration"]) > 2.5
    finally:
        rtmp.stop()


@pytest.mark.parametrize("outputs, field, says", [
    (dict(file_outputs=["same/{room_name}.mp4", "same/{room_name}.mp4"]), "filepath", "two outputs write same/{room_name}.mp4"),
    (dict(segment_outputs=["hls/x", "hls/x"]), "filename_prefix", "two outputs write hls/x"),
    (dict(segment_outputs=["hls/x", "hls/y"], live="live.m3u8"), "playlist_name", "two outputs write hls/live.m3u8"),
    (dict(file_outputs=[f"many/{i}.mp4" for i in range(5)]), "file_outputs", "at most 4"),
])
def test_outputs_that_would_collide_are_refused_at_the_request(server, stubs, api, outputs, field, says):
    e = stubs.egress
    before = api.ListEgress(e.ListEgressRequest(), timeout=10).items
    request = e.ParticipantEgressRequest(room_name="r-collide", identity="x")
    for path in outputs.get("file_outputs", []):
        request.file_outputs.append(e.EncodedFileOutput(filepath=path))
    for prefix in outputs.get("segment_outputs", []):
        request.segment_outputs.append(e.SegmentedFileOutput(filename_prefix=prefix, live_playlist_name=outputs.get("live", "")))
    with pytest.raises(grpc.RpcError) as refused:
        api.StartParticipantEgress(request, timeout=10)
    details = refused.value.details()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in details and says in details, details
    assert api.ListEgress(e.ListEgressRequest(), timeout=10).items == before


COLLISIONS = {
    # `{room_name}.mp4` and `r-filled.mp4` differ as templates and are one file in room r-filled.
    "filled": dict(file_outputs=[dict(filepath="filled/{room_name}.mp4"), dict(filepath="filled/r-filled.mp4")],
                   says="filled/r-filled.mp4"),
    # A file named as the fMP4 init segment a prefix makes.
    "init segment": dict(file_outputs=[dict(filepath="filled/seg_init.mp4")],
                         segment_outputs=[dict(protocol="HLS_FMP4_PROTOCOL", filename_prefix="filled/seg")], says="filled/seg_init.mp4"),
    # `x_00000.jpeg` is image 0 of prefix x and the one image of prefix x_00000.
    "image names": dict(image_outputs=[dict(filename_prefix="filled/x"),
                                       dict(filename_prefix="filled/x_00000", filename_suffix="IMAGE_SUFFIX_NONE_OVERWRITE")],
                        says="filled/x_00000"),
}


@pytest.mark.parametrize("case", COLLISIONS)
def test_names_that_collide_once_made_fail_before_anything_is_written(server, stubs, api, case):
    e = stubs.egress
    spec = COLLISIONS[case]
    request = e.ParticipantEgressRequest(room_name="r-filled", identity="alice", preset=e.H264_720P_30)
    for fields in spec.get("file_outputs", []):
        request.file_outputs.append(e.EncodedFileOutput(**fields))
    for fields in spec.get("segment_outputs", []):
        request.segment_outputs.append(e.SegmentedFileOutput(**{k: getattr(e, v) if k == "protocol" else v for k, v in fields.items()}))
    for fields in spec.get("image_outputs", []):
        request.image_outputs.append(e.ImageOutput(**{k: getattr(e, v) if k == "filename_suffix" else v for k, v in fields.items()}))
    alice = Publisher(server, stubs, "r-filled", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(request, timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_FAILED)
    finally:
        alice.leave()
    assert info.error_code == 400 and f'two outputs would write "{spec["says"]}' in info.error, info.error
    written = [p for p in (server.output_dir / "filled").rglob("*") if p.is_file()] if (server.output_dir / "filled").exists() else []
    assert written == [], written
