"""HLS (`segment_outputs`): a participant recorded to a file and to HLS segments at once, from one
encode; the playlists checked on disk while recording and after, read by ffprobe over HTTP, the
segment durations, the live playlist sliding, the flashes and beeps in sync in the segments."""
import re
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from media import Publisher, assert_index_in_front, av_offset, probe, top_level_boxes
from test_recording import stop_and_finish, wait_for


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def entries(playlist_text):
    """(duration, uri) of each segment of a media playlist."""
    lines = playlist_text.splitlines()
    return [(float(re.match(r"#EXTINF:([0-9.]+),", line).group(1)), lines[i + 1])
            for i, line in enumerate(lines) if line.startswith("#EXTINF:")]


def tag(playlist_text, name):
    for line in playlist_text.splitlines():
        if line.startswith(f"#{name}:"):
            return line.split(":", 1)[1]
    return None


def wait_for_file(path, timeout=15):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.1)


def test_a_file_and_hls_from_one_encode(server, stubs, api):
    e = stubs.egress
    alice = Publisher(server, stubs, "r-hls", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-hls", identity="alice", preset=e.H264_720P_30,
            file_outputs=[e.EncodedFileOutput(filepath="both/{room_name}.mp4")],
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="hls/{room_name}/seg", playlist_name="index.m3u8",
                                                   live_playlist_name="live.m3u8", segment_duration=2)]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        playlist = server.output_dir / "hls/r-hls/index.m3u8"
        live = server.output_dir / "hls/r-hls/live.m3u8"
        # While recording: a valid playlist that is not ended, and the results so far.
        deadline = time.monotonic() + 15
        while not playlist.exists() or len(entries(playlist.read_text())) < 2:
            assert time.monotonic() < deadline, "no playlist with two segments after 15 s"
            time.sleep(0.2)
        during = playlist.read_text()
        assert during.startswith("#EXTM3U\n") and "#EXT-X-ENDLIST" not in during, during
        assert tag(during, "EXT-X-PLAYLIST-TYPE") == "EVENT"
        time.sleep(2.5)  # a progress report (every 2 s) carries the segments so far
        so_far = api.ListEgress(e.ListEgressRequest(egress_id=started.egress_id), timeout=10).items[0]
        assert so_far.segment_results and so_far.segment_results[0].segment_count >= 2, so_far
        time.sleep(9)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()

    text = playlist.read_text()
    segments = entries(text)
    assert text.rstrip().endswith("#EXT-X-ENDLIST"), text
    assert len(segments) >= 6, text
    # Cut at key frames every 2 s: each segment but the last lasts its 2 s (±0.5 s).
    for duration, uri in segments[:-1]:
        assert abs(duration - 2) <= 0.5, text
    for _, uri in segments:
        assert re.fullmatch(r"seg_\d{5}\.ts", uri) and (playlist.parent / uri).stat().st_size > 0, uri
    assert [uri for _, uri in segments] == [f"seg_{i:05d}.ts" for i in range(len(segments))]
    assert int(tag(text, "EXT-X-TARGETDURATION")) >= 2

    # The live playlist: the last five, numbered from where they are in the whole.
    live_text = live.read_text()
    assert entries(live_text) == segments[-5:], live_text
    assert int(tag(live_text, "EXT-X-MEDIA-SEQUENCE")) == len(segments) - 5
    assert tag(live_text, "EXT-X-PLAYLIST-TYPE") is None

    # The results say what is on disk.
    [result] = info.segment_results
    assert (result.playlist_name, result.live_playlist_name) == ("hls/r-hls/index.m3u8", "hls/r-hls/live.m3u8")
    assert (result.playlist_location, result.live_playlist_location) == (str(playlist), str(live))
    assert result.segment_count == len(segments)
    assert result.size == sum((playlist.parent / uri).stat().st_size for _, uri in segments)
    assert abs(result.duration / 1e9 - sum(d for d, _ in segments)) < 0.01
    [file] = info.file_results
    assert abs(result.duration - file.duration) / 1e9 < 0.5, (result.duration, file.duration)

    # ffprobe reads the playlist over HTTP, as a player would: the same streams as the file.
    web = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(server.output_dir)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(re.search(r"port (\d+)", web.stdout.readline()).group(1))
        streams, fmt = probe(f"http://127.0.0.1:{port}/hls/r-hls/index.m3u8")
    finally:
        web.terminate()
        web.wait()
    kinds = {s["codec_type"]: s for s in streams}
    assert (kinds["video"]["codec_name"], kinds["video"]["width"], kinds["video"]["height"]) == ("h264", 1280, 720)
    assert kinds["audio"]["codec_name"] == "aac"
    assert abs(float(fmt["duration"]) - sum(d for d, _ in segments)) < 0.5, fmt

    # Flashes and beeps in sync in the segments, and in the file made from the same encode.
    offset, flashes, beeps = av_offset(playlist)
    assert offset is not None and abs(offset) <= 0.1, (offset, flashes, beeps)
    assert len(flashes) >= len(segments) * 2 - 3, flashes
    file_offset, _, _ = av_offset(file.location)
    assert file_offset is not None and abs(file_offset) <= 0.1
    assert_index_in_front(file.location)


def test_audio_only_hls_is_cut_on_audio(server, stubs, api):
    """A TrackComposite of a microphone alone (a participant's recording has video, black
    without a camera): MPEG-TS segments of audio, cut on audio packets."""
    e = stubs.egress
    bob = Publisher(server, stubs, "r-hls-audio", "bob")
    audio = bob.publish("audio")
    bob.send(audio)
    try:
        started = api.StartTrackCompositeEgress(e.TrackCompositeEgressRequest(
            room_name="r-hls-audio", audio_track_id=audio.sid,
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="radio/bob", segment_duration=3)]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(10)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        bob.leave()
    [result] = info.segment_results
    assert result.playlist_name == "radio/bob.m3u8" and result.live_playlist_name == ""
    text = (server.output_dir / result.playlist_name).read_text()
    segments = entries(text)
    assert len(segments) >= 3 and text.rstrip().endswith("#EXT-X-ENDLIST"), text
    for duration, _ in segments[:-1]:
        assert abs(duration - 3) <= 0.1, text
    streams, _ = probe(server.output_dir / result.playlist_name)
    assert [s["codec_type"] for s in streams] == ["audio"] and streams[0]["codec_name"] == "aac"
    assert not info.file_results


def test_segments_need_an_encode(server, stubs, api):
    """PASSTHROUGH with segments is refused at the request, and nothing is started."""
    e = stubs.egress
    before = api.ListEgress(e.ListEgressRequest(), timeout=10).items
    with pytest.raises(grpc.RpcError) as refused:
        api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-hls-pass", identity="x", preset=e.PASSTHROUGH,
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="p/x")]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "segment_outputs" in refused.value.details() and "PASSTHROUGH" in refused.value.details()
    assert api.ListEgress(e.ListEgressRequest(), timeout=10).items == before


def test_fragmented_mp4_segments(server, stubs, api):
    """HLS_FMP4_PROTOCOL: an init segment (ftyp, moov) named by #EXT-X-MAP and .m4s segments of
    one fragment each (moof, mdat), cut on key frames; the playlist plays, in sync."""
    e = stubs.egress
    alice = Publisher(server, stubs, "r-fmp4", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-fmp4", identity="alice", preset=e.H264_720P_30,
            segment_outputs=[e.SegmentedFileOutput(protocol=e.HLS_FMP4_PROTOCOL, filename_prefix="fmp4/{room_name}/seg",
                                                   live_playlist_name="live.m3u8", segment_duration=2)]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(8)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    [result] = info.segment_results
    playlist = server.output_dir / result.playlist_name
    text = playlist.read_text()
    assert tag(text, "EXT-X-VERSION") == "7" and tag(text, "EXT-X-MAP") == 'URI="seg_init.mp4"', text
    assert tag((server.output_dir / result.live_playlist_name).read_text(), "EXT-X-MAP") == 'URI="seg_init.mp4"'
    segments = entries(text)
    assert [uri for _, uri in segments] == [f"seg_{i:05d}.m4s" for i in range(len(segments))] and len(segments) >= 3, text
    for duration, _ in segments[:-1]:
        assert abs(duration - 2) <= 0.5, text
    assert top_level_boxes(playlist.parent / "seg_init.mp4") == ["ftyp", "moov"]
    for _, uri in segments:
        boxes = top_level_boxes(playlist.parent / uri)
        assert boxes == ["moof", "mdat"], (uri, boxes)
    assert result.size == sum((playlist.parent / uri).stat().st_size for _, uri in segments)
    streams, fmt = probe(playlist)
    assert sorted(s["codec_name"] for s in streams) == ["aac", "h264"]
    assert abs(float(fmt["duration"]) - sum(d for d, _ in segments)) < 0.5, fmt
    offset, flashes, beeps = av_offset(playlist)
    assert offset is not None and abs(offset) <= 0.1, (offset, flashes, beeps)


def test_a_failing_output_leaves_the_others_recording(server, stubs, api, tmp_path):
    """HLS fails mid-recording (its directory replaced by a link, which output paths never
    follow): the file goes on and ends COMPLETE and playable, the details say which output failed
    and why, and the segments written before stay listed. With HLS alone, the egress FAILS."""
    e = stubs.egress
    alice = Publisher(server, stubs, "r-hls-fail", "alice")
    alice.send(*alice.camera_and_microphone())
    segments = e.SegmentedFileOutput(filename_prefix="fail/{room_name}/seg", segment_duration=2)
    try:
        both = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-hls-fail", identity="alice", preset=e.H264_720P_30,
            file_outputs=[e.EncodedFileOutput(filepath="fail/{room_name}.mp4")], segment_outputs=[segments]), timeout=10)
        wait_for(api, stubs, both.egress_id, e.EGRESS_ACTIVE)
        directory = server.output_dir / "fail/r-hls-fail"
        wait_for_file(directory / "seg.m3u8")
        directory.rename(server.output_dir / "fail/moved")
        directory.symlink_to(tmp_path)
        time.sleep(4)
        assert wait_for(api, stubs, both.egress_id, e.EGRESS_ACTIVE).status == e.EGRESS_ACTIVE
        info = stop_and_finish(api, stubs, both.egress_id)
    finally:
        alice.leave()
    assert "output failed: HLS" in info.details and "symbolic link" in info.details, info.details
    [file] = info.file_results
    assert file.duration / 1e9 > 5
    assert_index_in_front(file.location)
    [result] = info.segment_results
    assert result.segment_count >= 1
    kept = (server.output_dir / "fail/moved/seg.m3u8").read_text()
    assert len(entries(kept)) == result.segment_count and "#EXT-X-ENDLIST" not in kept
    assert list(tmp_path.iterdir()) == []  # nothing written through the link

    # HLS alone: when it fails, nothing is left to record.
    directory.unlink()
    bob = Publisher(server, stubs, "r-hls-fail", "bob")
    bob.send(*bob.camera_and_microphone())
    try:
        alone = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-hls-fail", identity="bob", preset=e.H264_720P_30, segment_outputs=[segments]), timeout=10)
        wait_for(api, stubs, alone.egress_id, e.EGRESS_ACTIVE)
        wait_for_file(directory / "seg.m3u8")
        directory.rename(server.output_dir / "fail/moved-again")
        directory.symlink_to(tmp_path)
        failed = wait_for(api, stubs, alone.egress_id, e.EGRESS_FAILED)
    finally:
        bob.leave()
    assert "HLS" in failed.error and "symbolic link" in failed.error, failed.error


@pytest.mark.parametrize("segments, field", [
    ({"playlist_name": "same", "live_playlist_name": "same.m3u8"}, "live_playlist_name (it is the same file as playlist_name)"),
    ({"filename_prefix": "p" * 240}, "filename_prefix (a segment's name, with its suffix, would be over 255 bytes)"),
    ({"playlist_name": "q" * 250}, "playlist_name (the playlist's name would be over 255 bytes)"),
    ({"playlist_name": "lists/"}, "playlist_name (it names a directory, not a playlist file)"),
    ({"filename_suffix": 9}, "filename_suffix (unknown segment suffix 9)"),
])
def test_hls_names_that_cannot_be_written_are_refused_at_the_request(server, stubs, api, segments, field):
    """What would fail only once media arrives is refused now, naming the field, and nothing starts."""
    e = stubs.egress
    before = api.ListEgress(e.ListEgressRequest(), timeout=10).items
    with pytest.raises(grpc.RpcError) as refused:
        api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-hls-names", identity="x", segment_outputs=[e.SegmentedFileOutput(**segments)]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == f"request has missing or invalid field: {field}"
    assert api.ListEgress(e.ListEgressRequest(), timeout=10).items == before
