"""Recording with a real media peer: ffmpeg publishes a test pattern (a white flash and a 1 kHz
beep at the start of every second) over RTP to the hub; the recorded files are checked with
ffprobe and by decoding them to find the flashes and beeps."""
import os
import time

import numpy as np
import pytest

from media import Publisher, assert_index_in_front, av_offset, beep_times, dominant_frequency, flash_times, probe


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def info_of(api, stubs, egress_id):
    return api.ListEgress(stubs.egress.ListEgressRequest(egress_id=egress_id), timeout=10).items[0]


def wait_for(api, stubs, egress_id, *statuses, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        info = info_of(api, stubs, egress_id)
        if info.status in statuses:
            return info
        assert time.monotonic() < deadline, f"egress is {stubs.egress.EgressStatus.Name(info.status)}: {info}"
        time.sleep(0.05)


def participant_egress(api, stubs, room, identity, filepath="", file_type=0, **options):
    e = stubs.egress
    request = e.ParticipantEgressRequest(room_name=room, identity=identity,
                                         file_outputs=[e.EncodedFileOutput(filepath=filepath, file_type=file_type)], **options)
    return api.StartParticipantEgress(request, timeout=10)


def record_for(api, stubs, egress_id, seconds):
    """Waits for ACTIVE, records `seconds`, stops; returns (final info, wall seconds recorded)."""
    wait_for(api, stubs, egress_id, stubs.egress.EGRESS_ACTIVE)
    active_at = time.monotonic()
    time.sleep(seconds)
    stopped = api.StopEgress(stubs.egress.StopEgressRequest(egress_id=egress_id), timeout=10)
    wall = time.monotonic() - active_at
    assert stopped.status == stubs.egress.EGRESS_ENDING
    return wait_for(api, stubs, egress_id, stubs.egress.EGRESS_COMPLETE), wall


def stop_and_finish(api, stubs, egress_id):
    """Stops the egress and waits for it to be COMPLETE; its final info."""
    api.StopEgress(stubs.egress.StopEgressRequest(egress_id=egress_id), timeout=10)
    return wait_for(api, stubs, egress_id, stubs.egress.EGRESS_COMPLETE)


def streams_by_type(path):
    streams, fmt = probe(path)
    return {s["codec_type"]: s for s in streams}, fmt


def assert_duration(seconds, wall):
    """A recording lasts as long as the egress was ACTIVE (from the first status poll that saw
    it to the stop's answer) to within 0.4 s."""
    print(f"MEASURE duration {seconds - wall:+.3f} s")
    assert abs(seconds - wall) < 0.4, f"{seconds:.2f} s recorded in {wall:.2f} s"


def luma_between(luma, start, end, fps=30):
    """The mean luma of each frame from `start` to `end` seconds (flash_times decodes at `fps`)."""
    return luma[max(0, int(start * fps)):max(0, int(end * fps))]


def assert_black_between(luma, start, end):
    """Every frame from `start` to `end` is black: not the publisher's grey picture frozen, nor a
    gap that a player would fill with the last picture."""
    window = luma_between(luma, start, end)
    assert len(window) >= int((end - start) * 30) - 1, f"{len(window)} frames from {start:.1f} to {end:.1f} s"
    assert window.max() < 20, f"brightest frame {window.max():.0f} between {start:.1f} and {end:.1f} s"


def assert_published_picture_between(luma, start, end):
    window = luma_between(luma, start, end)
    assert len(window) > 0 and window.min() > 50, f"darkest frame {window.min():.0f} between {start:.1f} and {end:.1f} s"


def assert_pattern_in_sync(path, wall):
    offset, flashes, beeps = av_offset(path)
    assert offset is not None, f"no flash/beep pairs: flashes {flashes}, beeps {beeps}"
    print(f"MEASURE av_offset {offset * 1000:+.0f} ms")
    assert abs(offset) < 0.05, f"A/V offset {offset * 1000:.0f} ms (flashes {flashes}, beeps {beeps})"
    # One flash and one beep a second, a second apart.
    assert len(flashes) >= int(wall) - 2 and len(beeps) >= int(wall) - 2
    gaps = [b - a for a, b in zip(flashes, flashes[1:])]
    assert all(abs(g - 1) < 0.1 for g in gaps), gaps
    # ... up to the end of the recording.
    assert flashes[-1] >= wall - 2 and beeps[-1] >= wall - 2, (flashes, beeps, wall)


def test_participant_camera_and_microphone_transcoded_to_mp4(server, stubs, api):
    alice = Publisher(server, stubs, "r-transcode", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = participant_egress(api, stubs, "r-transcode", "alice", "calls/{room_name}-{publisher_identity}",
                                     preset=stubs.egress.H264_720P_30)
        info, wall = record_for(api, stubs, started.egress_id, 6)
    finally:
        alice.leave()
    [result] = info.file_results
    assert result.filename == "calls/r-transcode-alice.mp4"
    assert result.location == str(server.output_dir / result.filename)
    streams, fmt = streams_by_type(result.location)
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 1280, 720)
    assert video["r_frame_rate"] == "30/1"
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "44100", 2)
    assert_duration(float(fmt["duration"]), wall)
    # Written fragmented; a clean stop leaves a plain MP4 with its index in front.
    assert_index_in_front(result.location)
    assert abs(result.duration / 1e9 - float(fmt["duration"])) < 0.2
    assert result.size == os.path.getsize(result.location)
    assert result.ended_at - result.started_at == result.duration
    assert_pattern_in_sync(result.location, wall)
    assert info.manifest_location == str(server.output_dir / "calls" / f"{started.egress_id}.json")


def test_participant_passthrough_keeps_the_published_encoding(server, stubs, api):
    alice = Publisher(server, stubs, "r-pass", "alice")
    alice.send(*alice.camera_and_microphone(), size="320x240")
    try:
        started = participant_egress(api, stubs, "r-pass", "alice", "pass/", preset=stubs.egress.PASSTHROUGH)
        info, wall = record_for(api, stubs, started.egress_id, 5)
    finally:
        alice.leave()
    [result] = info.file_results
    assert result.filename.startswith("pass/r-pass-alice-") and result.filename.endswith(".mp4")
    streams, fmt = streams_by_type(result.location)
    assert (streams["video"]["codec_name"], streams["video"]["width"], streams["video"]["height"]) == ("h264", 320, 240)
    assert (streams["audio"]["codec_name"], streams["audio"]["sample_rate"]) == ("opus", "48000")
    assert_duration(float(fmt["duration"]), wall)
    assert_pattern_in_sync(result.location, wall)


def test_a_camera_published_after_the_microphone_joins_the_mp4(server, stubs, api):
    """DEFAULT_FILETYPE, the camera published 4 s after the microphone: the file is MP4 with
    video from the start (black until the camera comes, then its flashes) and the microphone
    throughout, as LiveKit records a participant."""
    bob = Publisher(server, stubs, "r-late", "bob")
    bob.send(bob.publish("audio"))
    try:
        started = participant_egress(api, stubs, "r-late", "bob", filepath="late/{room_name}")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        active_at = time.monotonic()
        time.sleep(4)
        bob.send(bob.publish("video"))
        time.sleep(6)
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        wall = time.monotonic() - active_at
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    finally:
        bob.leave()
    [result] = info.file_results
    assert result.filename == "late/r-late.mp4"
    streams, fmt = streams_by_type(result.location)
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert_duration(float(streams["video"]["duration"]), wall)
    flashes, luma = flash_times(result.location)
    # Black before the camera, its flashes (one a second) after.
    assert flashes and flashes[0] > 3.5 and len(flashes) >= 4, flashes
    assert luma[:int(3 * 30)].max() < 20
    beeps, _ = beep_times(result.location)
    assert beeps[0] < 1.5 and len(beeps) >= int(wall) - 1, beeps


def test_camera_and_microphone_from_two_senders_with_their_own_clocks(server, stubs, api):
    """The camera and the microphone of one participant sent by two RTP senders whose sender
    reports use clocks 30 s apart: each track's clock is learned on its own, so both are
    recorded in full (no frame dropped for being timed in the future), side by side."""
    bob = Publisher(server, stubs, "r-two-clocks", "bob")
    video, audio = bob.camera_and_microphone()
    bob.send(video)
    bob.send(audio, clock_offset=30)
    try:
        started = participant_egress(api, stubs, "r-two-clocks", "bob", file_type=stubs.egress.MP4)
        info, wall = record_for(api, stubs, started.egress_id, 6)
    finally:
        bob.leave()
    [result] = info.file_results
    flashes, _ = flash_times(result.location)
    beeps, _ = beep_times(result.location)
    assert len(flashes) >= int(wall) - 1 and len(beeps) >= int(wall) - 1, (flashes, beeps)
    # The two senders started together: their flashes and beeps line up within their start-up gap.
    offset, _, _ = av_offset(result.location)
    assert offset is not None and abs(offset) <= 0.25, offset
    assert "timed far in the future" not in server.log_text()


def test_audio_only_participant_to_mp4_gets_black_video(server, stubs, api):
    bob = Publisher(server, stubs, "r-audio-mp4", "bob")
    bob.send(bob.publish("audio"))
    try:
        started = participant_egress(api, stubs, "r-audio-mp4", "bob", file_type=stubs.egress.MP4)
        info, wall = record_for(api, stubs, started.egress_id, 4)
    finally:
        bob.leave()
    [result] = info.file_results
    streams, fmt = streams_by_type(result.location)
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    flashes, luma = flash_times(result.location)
    assert flashes == [] and luma.max() < 20
    assert_duration(float(streams["video"]["duration"]), wall)


def record_with_a_muted_track(server, stubs, api, room, kind):
    """Records a participant whose `kind` track is muted from ~2.5 s to ~7.5 s; returns
    (file path, muted at, unmuted at) in seconds of the recording."""
    alice = Publisher(server, stubs, room, "alice")
    video, audio = alice.camera_and_microphone()
    alice.send(video, audio)
    muted_track = video if kind == "video" else audio
    try:
        started = participant_egress(api, stubs, room, "alice")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        t0 = time.monotonic()
        time.sleep(2.5)
        alice.mute(muted_track)
        muted_at = time.monotonic() - t0
        time.sleep(5)
        alice.mute(muted_track, False)
        unmuted_at = time.monotonic() - t0
        time.sleep(3)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    return info.file_results[0].location, muted_at, unmuted_at


def test_muted_video_becomes_black_and_comes_back(server, stubs, api):
    path, muted_at, unmuted_at = record_with_a_muted_track(server, stubs, api, "r-mute-video", "video")
    flashes, luma = flash_times(path)
    beeps, _ = beep_times(path)
    assert_published_picture_between(luma, 0.5, muted_at - 0.2)
    assert_black_between(luma, muted_at + 0.6, unmuted_at - 0.2)
    assert_published_picture_between(luma, unmuted_at + 0.8, unmuted_at + 2.5)
    assert any(f < muted_at for f in flashes), (flashes, muted_at)
    assert any(f > unmuted_at for f in flashes), (flashes, unmuted_at)
    # The audio went on throughout.
    assert len([b for b in beeps if muted_at < b < unmuted_at]) >= 4


def test_muted_audio_becomes_silence(server, stubs, api):
    path, muted_at, unmuted_at = record_with_a_muted_track(server, stubs, api, "r-mute-audio", "audio")
    beeps, _ = beep_times(path)
    flashes, _ = flash_times(path)
    assert [b for b in beeps if muted_at + 0.6 < b < unmuted_at - 0.2] == [], beeps
    assert any(b > unmuted_at for b in beeps)
    offset, _, _ = av_offset(path)
    assert offset is not None and abs(offset) < 0.05
    assert len([f for f in flashes if muted_at < f < unmuted_at]) >= 4


def test_unpublished_video_is_black_until_republished(server, stubs, api):
    alice = Publisher(server, stubs, "r-republish", "alice")
    video, audio = alice.camera_and_microphone()
    first = alice.send(video, seconds=60)
    alice.send(audio, seconds=60)
    try:
        started = participant_egress(api, stubs, "r-republish", "alice")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        t0 = time.monotonic()
        time.sleep(2.5)
        first.terminate()
        alice.unpublish(video)
        gone_at = time.monotonic() - t0
        time.sleep(4)
        alice.send(alice.publish("video"), seconds=60)
        back_at = time.monotonic() - t0
        time.sleep(4)
        assert info_of(api, stubs, started.egress_id).status == stubs.egress.EGRESS_ACTIVE
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    finally:
        alice.leave()
    [result] = info.file_results
    flashes, luma = flash_times(result.location)
    assert_published_picture_between(luma, 0.5, gone_at - 0.2)
    assert_black_between(luma, gone_at + 0.6, back_at - 0.2)
    assert_published_picture_between(luma, back_at + 1.5, back_at + 3.5)
    assert any(f < gone_at for f in flashes) and any(f > back_at for f in flashes)


def test_participant_leaving_completes_the_egress(server, stubs, api):
    carol = Publisher(server, stubs, "r-leave", "carol")
    carol.send(*carol.camera_and_microphone())
    started = participant_egress(api, stubs, "r-leave", "carol", "leave.mp4")
    wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
    time.sleep(3)
    carol.leave()
    info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    [result] = info.file_results
    assert result.filename == "leave.mp4" and result.size == os.path.getsize(result.location)
    streams, fmt = streams_by_type(result.location)
    assert abs(float(fmt["duration"]) - result.duration / 1e9) < 0.2
    assert 2.0 < result.duration / 1e9 < 4.5
    assert info.ended_at >= info.started_at and result.started_at >= info.started_at


def test_participant_that_never_joins_fails_after_the_timeout(fresh_server, stubs):
    server = fresh_server("--participant-wait-timeout", "1.5")
    api = stubs.egress_grpc.EgressStub(server.channel())
    started = participant_egress(api, stubs, "r-empty", "ghost")
    info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_FAILED, timeout=10)
    assert info.error == "participant ghost not found"
    assert info.error_code == 404
    assert list(info.file_results) == []


def test_stopped_before_media_is_aborted(server, stubs, api):
    dave = Publisher(server, stubs, "r-abort", "dave")
    dave.camera_and_microphone()  # announced, never sent
    try:
        started = participant_egress(api, stubs, "r-abort", "dave")
        time.sleep(0.5)
        assert info_of(api, stubs, started.egress_id).status == stubs.egress.EGRESS_STARTING
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ABORTED)
    finally:
        dave.leave()
    assert list(info.file_results) == [] and info.error == ""
    assert not list(server.output_dir.rglob("r-abort-*"))


def test_screen_share_records_the_screen_tracks_not_the_camera(server, stubs, api):
    erin = Publisher(server, stubs, "r-screen", "erin")
    camera, mic = erin.camera_and_microphone()
    screen = erin.publish("video", source="SCREEN_SHARE")
    screen_audio = erin.publish("audio", source="SCREEN_SHARE_AUDIO")
    erin.send(camera, mic, size="320x240", tone=1000)
    erin.send(screen, screen_audio, size="640x480", tone=2500)
    try:
        started = participant_egress(api, stubs, "r-screen", "erin", screen_share=True, preset=stubs.egress.PASSTHROUGH)
        info, wall = record_for(api, stubs, started.egress_id, 4)
    finally:
        erin.leave()
    streams, _ = streams_by_type(info.file_results[0].location)
    assert (streams["video"]["width"], streams["video"]["height"]) == (640, 480)
    # The screen's audio (2.5 kHz), not the microphone's (1 kHz).
    assert abs(dominant_frequency(info.file_results[0].location) - 2500) < 20


def test_unified_start_egress_with_a_participant_media_source(server, stubs, api):
    e = stubs.egress
    frank = Publisher(server, stubs, "r-unified", "frank")
    frank.send(*frank.camera_and_microphone())
    try:
        request = e.StartEgressRequest(
            room_name="r-unified",
            media=e.MediaSource(participant_video=e.ParticipantVideo(identity="frank"),
                                audio=e.AudioConfig(routes=[e.AudioRoute(participant_identity="frank")])),
            advanced=e.EncodingOptions(width=640, height=360, framerate=25, video_bitrate=1000),
            outputs=[e.Output(file=e.FileOutput(filepath="unified/{room_id}"))])
        started = api.StartEgress(request, timeout=10)
        info, wall = record_for(api, stubs, started.egress_id, 4)
    finally:
        frank.leave()
    assert info.room_id.startswith("RM_")
    [result] = info.file_results
    assert result.filename == f"unified/{info.room_id}.mp4"
    streams, _ = streams_by_type(result.location)
    assert (streams["video"]["width"], streams["video"]["height"], streams["video"]["r_frame_rate"]) == (640, 360, "25/1")
    assert_pattern_in_sync(result.location, wall)


def test_opus_audio_in_mp4_when_asked(server, stubs, api):
    e = stubs.egress
    gina = Publisher(server, stubs, "r-opus-mp4", "gina")
    gina.send(*gina.camera_and_microphone())
    try:
        started = participant_egress(api, stubs, "r-opus-mp4", "gina", file_type=e.MP4,
                                     advanced=e.EncodingOptions(audio_codec=stubs.models.OPUS))
        info, wall = record_for(api, stubs, started.egress_id, 3)
    finally:
        gina.leave()
    streams, _ = streams_by_type(info.file_results[0].location)
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"], streams["audio"]["sample_rate"]) == (
        "h264", "opus", "48000")


def test_an_output_that_cannot_be_created_fails_the_egress_naming_it(server, stubs, api):
    (server.output_dir / "taken").write_text("a file where a directory is wanted")
    hank = Publisher(server, stubs, "r-unwritable", "hank")
    hank.send(*hank.camera_and_microphone())
    try:
        started = participant_egress(api, stubs, "r-unwritable", "hank", "taken/recording.mp4")
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_FAILED)
    finally:
        hank.leave()
    assert info.error == f"opening the directory {server.output_dir}/taken: Not a directory"
    assert list(info.file_results) == []


def test_a_vp8_camera_is_decoded_and_transcoded_to_h264(server, stubs, api):
    ivan = Publisher(server, stubs, "r-vp8", "ivan")
    ivan.send(*ivan.camera_and_microphone(video_codec="VP8"))
    try:
        started = participant_egress(api, stubs, "r-vp8", "ivan")
        info, wall = record_for(api, stubs, started.egress_id, 4)
    finally:
        ivan.leave()
    path = info.file_results[0].location
    streams, _ = streams_by_type(path)
    assert (streams["video"]["codec_name"], streams["video"]["width"]) == ("h264", 1280)
    assert_pattern_in_sync(path, wall)


def test_a_vp8_camera_with_passthrough_goes_to_webm(server, stubs, api):
    jane = Publisher(server, stubs, "r-vp8-pass", "jane")
    jane.send(*jane.camera_and_microphone(video_codec="VP8"), size="320x240")
    try:
        started = participant_egress(api, stubs, "r-vp8-pass", "jane", preset=stubs.egress.PASSTHROUGH)
        info, wall = record_for(api, stubs, started.egress_id, 4)
    finally:
        jane.leave()
    path = info.file_results[0].location
    assert path.endswith(".webm")
    streams, fmt = streams_by_type(path)
    assert (streams["video"]["codec_name"], streams["video"]["width"], streams["audio"]["codec_name"]) == ("vp8", 320, "opus")
    assert_duration(float(fmt["duration"]), wall)
    assert_pattern_in_sync(path, wall)


def test_audio_routes_put_two_participants_left_and_right(server, stubs, api):
    e = stubs.egress
    alice, bob = Publisher(server, stubs, "r-routes", "alice"), Publisher(server, stubs, "r-routes", "bob")
    alice.send(*alice.camera_and_microphone())
    time.sleep(0.5)  # bob's beeps come half a second after alice's
    bob.send(bob.publish("audio"))
    try:
        request = e.StartEgressRequest(
            room_name="r-routes",
            media=e.MediaSource(participant_video=e.ParticipantVideo(identity="alice"), audio=e.AudioConfig(routes=[
                e.AudioRoute(participant_identity="alice", channel=e.AUDIO_CHANNEL_LEFT),
                e.AudioRoute(participant_identity="bob", channel=e.AUDIO_CHANNEL_RIGHT)])),
            outputs=[e.Output(file=e.FileOutput(filepath="routes.mp4"))])
        started = api.StartEgress(request, timeout=10)
        info, wall = record_for(api, stubs, started.egress_id, 4)
    finally:
        alice.leave()
        bob.leave()
    path = info.file_results[0].location
    flashes, _ = flash_times(path)
    left, _ = beep_times(path, channel="FL")
    right, _ = beep_times(path, channel="FR")
    assert len(left) >= 3 and len(right) >= 3, (left, right)
    # Alice's beeps, on the left, are in step with her flashes; bob's, on the right, half a second off.
    phase = lambda times: float(np.median([t % 1 for t in times]))
    assert abs(phase(left) - phase(flashes)) < 0.1, (left, flashes)
    assert 0.3 < (phase(right) - phase(left)) % 1 < 0.7, (left, right)


def test_disable_manifest_writes_the_file_and_no_manifest(server, stubs, api):
    bob = Publisher(server, stubs, "r-no-manifest", "bob")
    bob.send(bob.publish("audio"))
    try:
        e = stubs.egress
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-no-manifest", identity="bob",
            file_outputs=[e.EncodedFileOutput(filepath="quiet/bob.ogg", disable_manifest=True)]), timeout=10)
        info, _ = record_for(api, stubs, started.egress_id, 1.5)
    finally:
        bob.leave()
    assert info.file_results[0].location == str(server.output_dir / "quiet" / "bob.ogg")
    assert info.manifest_location == ""
    assert sorted(p.name for p in (server.output_dir / "quiet").iterdir()) == ["bob.ogg"]


def test_an_absolute_path_lands_under_the_output_directory(server, stubs, api):
    """/out/… is the output directory's out/…, as in a container whose volume is mounted there;
    nothing is written at the real /out."""
    alice = Publisher(server, stubs, "r-abs", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = participant_egress(api, stubs, "r-abs", "alice", "/out/{room_name}.mp4")
        info, wall = record_for(api, stubs, started.egress_id, 3)
    finally:
        alice.leave()
    [result] = info.file_results
    assert (result.filename, result.location) == ("out/r-abs.mp4", str(server.output_dir / "out/r-abs.mp4"))
    assert os.path.getsize(result.location) == result.size > 0
    assert not os.path.exists("/out/r-abs.mp4")
