"""One participant egress with every output at once — a file uploaded to S3, HLS, two RTMP
streams and thumbnails — from one encode, each checked where a user would look: the object in
the bucket, the playlist on disk, the streams on the RTMP server, the JPEGs."""
import re
import time

import pytest

from media import Publisher, av_offset, probe
from s3_server import S3Server
from stream_servers import RTMPServer
from test_recording import stop_and_finish, wait_for


@pytest.fixture
def servers():
    rtmp, s3 = RTMPServer(), S3Server()
    yield rtmp, s3
    rtmp.stop()
    s3.stop()


def test_file_to_s3_hls_two_rtmp_and_thumbnails(server, stubs, servers, tmp_path):
    rtmp, s3 = servers
    e = stubs.egress
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "r-all", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-all", identity="alice", preset=e.H264_720P_30,
            file_outputs=[e.EncodedFileOutput(filepath="all/{room_name}.mp4", s3=s3.upload(stubs))],
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="all/hls/seg", segment_duration=2)],
            stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=[rtmp.url("one"), rtmp.url("two")])],
            image_outputs=[e.ImageOutput(capture_interval=2, width=320, height=180, filename_prefix="all/thumbs/t")]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(8)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    assert "output failed" not in info.details and not info.backup_storage_used, info.details
    # The file, in the bucket only, in sync.
    [file] = info.file_results
    assert file.location == f"{s3.endpoint}/{s3.bucket}/all/r-all.mp4"
    local = tmp_path / "all.mp4"
    s3.client.download_file(s3.bucket, "all/r-all.mp4", str(local))
    offset, flashes, _ = av_offset(local)
    assert offset is not None and abs(offset) <= 0.1 and len(flashes) >= 7
    # HLS beside it, the same length.
    [segments] = info.segment_results
    playlist = (server.output_dir / "all/hls/seg.m3u8").read_text()
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST") and segments.segment_count >= 4
    assert abs(segments.duration - file.duration) / 1e9 < 0.5
    # Both streams reached the RTMP server and ended FINISHED.
    assert [s.status for s in info.stream_results] == [e.StreamInfo.FINISHED] * 2
    for key in ("one", "two"):
        [recorded] = rtmp.recorded(key)
        assert {s["codec_name"] for s in probe(recorded)[0]} == {"h264", "aac"}
        assert float(probe(recorded)[1]["duration"]) > 5
    # A thumbnail every 2 s.
    [images] = info.image_results
    thumbs = sorted((server.output_dir / "all/thumbs").glob("t_*.jpeg"))
    assert images.image_count == len(thumbs) == int(file.duration / 1e9 // 2) + 1
    assert all(re.fullmatch(r"t_\d{5}\.jpeg", p.name) for p in thumbs)
