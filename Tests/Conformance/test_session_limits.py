"""LiveKit's session limits: an egress reaches the longest recording its outputs allow (or the
largest file) and is finalized as at a stop — LIMIT_REACHED, its file playable and as long as
the limit, its details saying which limit."""
import time

from media import Publisher, assert_index_in_front, probe
from test_recording import wait_for


def test_a_file_egress_stops_at_its_maximum_duration(fresh_server, stubs):
    server = fresh_server("--file-output-max-duration", "4", "--segment-output-max-duration", "3")
    e = stubs.egress
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "r-limit", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        file_only = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-limit", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="limit/file.mp4")]), timeout=10)
        # With HLS too, the shorter limit (3 s) applies.
        with_hls = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-limit", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="limit/both.mp4")],
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="limit/hls/s", segment_duration=1)]), timeout=10)
        first = wait_for(api, stubs, file_only.egress_id, e.EGRESS_LIMIT_REACHED, timeout=20)
        second = wait_for(api, stubs, with_hls.egress_id, e.EGRESS_LIMIT_REACHED, timeout=20)
    finally:
        alice.leave()
    for info, seconds in ((first, 4), (second, 3)):
        [file] = info.file_results
        assert abs(file.duration / 1e9 - seconds) < 0.2, (file.duration, seconds)
        streams, fmt = probe(file.location)
        assert abs(float(fmt["duration"]) - seconds) < 0.3 and {s["codec_type"] for s in streams} == {"video", "audio"}
        assert_index_in_front(file.location)
        assert info.details == f"End reason: the session's maximum duration of {seconds} s was reached", info.details
    assert second.segment_results[0].segment_count >= 2
    assert (server.output_dir / "limit/hls/s.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")


def test_a_file_stops_at_its_maximum_size(fresh_server, stubs):
    server = fresh_server("--file-output-max-size", "200000")
    e = stubs.egress
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "r-size", "alice")
    alice.send(*alice.camera_and_microphone(), noise=True)
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-size", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="size/a.mp4")]), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_LIMIT_REACHED, timeout=20)
    finally:
        alice.leave()
    [file] = info.file_results
    # Stopped at the first check past the size: a little over it, never far.
    assert 200_000 <= file.size < 2_000_000, file.size
    assert "maximum size of 200000 bytes" in info.details
    assert_index_in_front(file.location)
