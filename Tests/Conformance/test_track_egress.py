"""Track and TrackComposite egress with a real media peer: ffmpeg sends pre-encoded files with
`-c copy`, so the frames it sent are known byte for byte and compared with the recording."""
import re
import subprocess
import time

import pytest

from media import Publisher, beep_times, flash_times, probe
from test_recording import info_of, wait_for


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def encode(tmp_path, name, *args):
    path = tmp_path / name
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, str(path)], check=True)
    return path


def send_copy(server, track, source, *input_options):
    """Sends an encoded file as it is (no re-encoding) to the hub, in real time."""
    port = server.rtp_port
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-re", *input_options, "-i", str(source), "-c", "copy",
         "-payload_type", str(track.payload_type), "-ssrc", str(track.ssrc), "-f", "rtp",
         f"rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=1200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def packet_hashes(path):
    """(size, md5) of every packet of the first stream, read without decoding."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:0", "-c", "copy", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [tuple(line.split(",")[4:6]) for line in out.splitlines() if not line.startswith("#")]


def h264_nal_units(data: bytes):
    """The NAL units of an Annex B stream, start codes removed."""
    return [unit.rstrip(b"\x00") for unit in re.split(b"\x00\x00\x01", data)[1:]]


def is_contiguous_run(part, whole):
    return any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def record_track(server, stubs, api, tmp_path, room, kind, codec, source, *input_options, seconds=4):
    pub = Publisher(server, stubs, room, "sender")
    track = pub.publish(kind, codec=codec)
    sender = send_copy(server, track, source, *input_options)
    try:
        e = stubs.egress
        started = api.StartTrackEgress(e.TrackEgressRequest(room_name=room, track_id=track.sid,
                                                            file=e.DirectFileOutput(filepath="tracks/")), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(seconds)
        api.StopEgress(e.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE)
    finally:
        sender.terminate()
        pub.leave()
    [result] = info.file_results
    assert result.filename.startswith(f"tracks/{room}-{track.sid}-")
    return result


def test_opus_track_to_ogg_with_the_frames_sent(server, stubs, api, tmp_path):
    source = encode(tmp_path, "src.ogg", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10",
                    "-c:a", "libopus", "-b:a", "48k", "-ac", "2")
    result = record_track(server, stubs, api, tmp_path, "t-opus", "audio", "OPUS", source)
    assert result.filename.endswith(".ogg")
    streams, _ = probe(result.location)
    assert [(s["codec_name"], s["sample_rate"]) for s in streams] == [("opus", "48000")]
    recorded, sent = packet_hashes(result.location), packet_hashes(source)
    assert len(recorded) >= 150  # 20 ms packets: 3 s at least
    assert is_contiguous_run(recorded, sent)


def test_h264_track_to_mp4_with_the_frames_sent(server, stubs, api, tmp_path):
    source = encode(tmp_path, "src.h264", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "10",
                    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p")
    result = record_track(server, stubs, api, tmp_path, "t-h264", "video", "H264", source, "-framerate", "30")
    assert result.filename.endswith(".mp4")
    streams, _ = probe(result.location)
    assert [(s["codec_name"], s["width"], s["height"]) for s in streams] == [("h264", 320, 240)]
    annexb = subprocess.run(["ffmpeg", "-v", "error", "-i", result.location, "-c", "copy", "-f", "h264", "-"],
                            capture_output=True, check=True).stdout
    recorded, sent = h264_nal_units(annexb), h264_nal_units(source.read_bytes())
    assert len(recorded) >= 90
    assert is_contiguous_run(recorded, sent)


def test_vp8_track_to_webm_with_the_frames_sent(server, stubs, api, tmp_path):
    source = encode(tmp_path, "src.ivf", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "10",
                    "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "500k")
    result = record_track(server, stubs, api, tmp_path, "t-vp8", "video", "VP8", source)
    assert result.filename.endswith(".webm")
    streams, _ = probe(result.location)
    assert [(s["codec_name"], s["width"], s["height"]) for s in streams] == [("vp8", 320, 240)]
    recorded, sent = packet_hashes(result.location), packet_hashes(source)
    assert len(recorded) >= 90
    assert is_contiguous_run(recorded, sent)


def test_track_egress_ends_when_its_track_is_unpublished(server, stubs, api):
    pub = Publisher(server, stubs, "t-unpublish", "sender")
    track = pub.publish("audio")
    pub.send(track)
    try:
        e = stubs.egress
        started = api.StartTrackEgress(e.TrackEgressRequest(room_name="t-unpublish", track_id=track.sid,
                                                            file=e.DirectFileOutput()), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(2)
        pub.unpublish(track)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE)
    finally:
        pub.leave()
    assert info.file_results[0].size > 0


def test_track_composite_of_two_participants(server, stubs, api):
    alice, bob = Publisher(server, stubs, "t-composite", "alice"), Publisher(server, stubs, "t-composite", "bob")
    audio, video = alice.publish("audio"), bob.publish("video")
    alice.send(audio)
    bob.send(video)
    try:
        e = stubs.egress
        started = api.StartTrackCompositeEgress(e.TrackCompositeEgressRequest(
            room_name="t-composite", audio_track_id=audio.sid, video_track_id=video.sid,
            file_outputs=[e.EncodedFileOutput(filepath="composite.mp4")]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(4)
        api.StopEgress(e.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE)
    finally:
        alice.leave()
        bob.leave()
    path = info.file_results[0].location
    streams = {s["codec_type"]: s for s in probe(path)[0]}
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert len(flash_times(path)[0]) >= 3 and len(beep_times(path)[0]) >= 3


def test_track_composite_of_an_unknown_track_fails_not_found(server, stubs, api):
    e = stubs.egress
    started = api.StartTrackCompositeEgress(e.TrackCompositeEgressRequest(
        room_name="t-missing", video_track_id="TR_missing", file_outputs=[e.EncodedFileOutput()]), timeout=10)
    info = wait_for(api, stubs, started.egress_id, e.EGRESS_FAILED)
    assert info.error == "track TR_missing not found"
    assert info.error_code == 404
    assert info_of(api, stubs, started.egress_id).status == e.EGRESS_FAILED


def test_a_track_published_in_another_room_is_not_found_in_this_one(server, stubs, api):
    """A Track egress records a track of its own room: one of another room's is not found there
    (it would never get its frames)."""
    e = stubs.egress
    alice = Publisher(server, stubs, "t-its-room", "alice")
    track = alice.publish("audio")
    try:
        started = api.StartTrackEgress(e.TrackEgressRequest(room_name="t-other-room", track_id=track.sid,
                                                            file=e.DirectFileOutput(filepath="other")), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_FAILED)
    finally:
        alice.leave()
    assert (info.error, info.error_code) == (f"track {track.sid} not found", 404)
