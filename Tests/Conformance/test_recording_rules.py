"""The recording rules the README states, each with real media: a video track that goes silent
turns black, a camera within a second of the microphone makes an MP4, a
TrackComposite ends with its tracks, and audio routes by participant kind and capture_all."""
import subprocess
import time

import numpy as np
import pytest

from media import Publisher, flash_times, probe
from test_recording import (api, assert_black_between, assert_published_picture_between, info_of,  # noqa: F401 (api: a fixture)
                            participant_egress, record_for, stop_and_finish, wait_for)


def band_energy(path, channel, frequency, rate=8000):
    """The spectrum's energy within 50 Hz of `frequency` in one channel ("FL" or "FR")."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-af", f"pan=mono|c0={channel}",
                          "-ar", str(rate), "-f", "f32le", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(raw, dtype=np.float32)
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    frequencies = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[np.abs(frequencies - frequency) < 50].sum())


def test_a_video_track_that_goes_silent_turns_black_after_two_seconds(server, stubs, api):
    """The camera stays published but its packets stop: after 2 s of silence the picture is black
    (not the last picture frozen) while the audio goes on."""
    alice = Publisher(server, stubs, "rules-silent", "alice")
    video, audio = alice.camera_and_microphone()
    camera = alice.send(video)
    alice.send(audio)
    try:
        started = participant_egress(api, stubs, "rules-silent", "alice", "rules/silent.mp4")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        t0 = time.monotonic()
        time.sleep(2.5)
        camera.terminate()
        silent_at = time.monotonic() - t0
        time.sleep(5.5)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    _, luma = flash_times(info.file_results[0].location)
    assert_published_picture_between(luma, 0.5, silent_at - 0.2)
    assert_black_between(luma, silent_at + 2.6, silent_at + 5)


def test_video_within_a_second_of_the_first_media_makes_an_mp4(server, stubs, api):
    bob = Publisher(server, stubs, "rules-early-video", "bob")
    audio = bob.publish("audio")
    bob.send(audio)
    try:
        started = participant_egress(api, stubs, "rules-early-video", "bob", "rules/early-video")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(0.3)
        bob.send(bob.publish("video"))
        info, _ = record_for(api, stubs, started.egress_id, 3)
    finally:
        bob.leave()
    [result] = info.file_results
    assert result.filename == "rules/early-video.mp4"
    streams, _ = probe(result.location)
    assert sorted(s["codec_type"] for s in streams) == ["audio", "video"]


def test_a_track_composite_ends_when_its_tracks_are_unpublished(server, stubs, api):
    e = stubs.egress
    carol = Publisher(server, stubs, "rules-composite", "carol")
    video, audio = carol.camera_and_microphone()
    sender = carol.send(video, audio)
    try:
        started = api.StartTrackCompositeEgress(e.TrackCompositeEgressRequest(
            room_name="rules-composite", audio_track_id=audio.sid, video_track_id=video.sid,
            file_outputs=[e.EncodedFileOutput(filepath="rules/composite.mp4")]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(2.5)
        sender.terminate()
        carol.unpublish(video)
        time.sleep(0.5)
        assert info_of(api, stubs, started.egress_id).status == e.EGRESS_ACTIVE  # the audio track is still published
        carol.unpublish(audio)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE)
    finally:
        carol.leave()
    assert info.details == f"End reason: track {audio.sid} ended"
    assert 2.0 < info.file_results[0].duration / 1e9 < 3.5


def test_an_agent_route_goes_right_and_capture_all_takes_the_rest_into_both(server, stubs, api):
    """Alice (a standard participant, 1 kHz) is taken by capture_all into both channels; the
    agent (2 kHz) is routed by its kind to the right only."""
    e, m = stubs.egress, stubs.models
    alice = Publisher(server, stubs, "rules-kinds", "alice")
    agent = Publisher(server, stubs, "rules-kinds", "agent", kind=m.ParticipantInfo.AGENT)
    alice.send(*alice.camera_and_microphone(), tone=1000)
    agent.send(agent.publish("audio"), tone=2000)
    try:
        started = api.StartEgress(e.StartEgressRequest(
            room_name="rules-kinds",
            media=e.MediaSource(participant_video=e.ParticipantVideo(identity="alice"), audio=e.AudioConfig(
                capture_all=True, routes=[e.AudioRoute(participant_kind=m.ParticipantInfo.AGENT, channel=e.AUDIO_CHANNEL_RIGHT)])),
            outputs=[e.Output(file=e.FileOutput(filepath="rules/kinds.mp4"))]), timeout=10)
        info, _ = record_for(api, stubs, started.egress_id, 4)
    finally:
        alice.leave()
        agent.leave()
    path = info.file_results[0].location
    left_1k, right_1k = band_energy(path, "FL", 1000), band_energy(path, "FR", 1000)
    left_2k, right_2k = band_energy(path, "FL", 2000), band_energy(path, "FR", 2000)
    assert left_1k > 0 and 0.5 < right_1k / left_1k < 2, (left_1k, right_1k)  # alice in both
    assert right_2k > 100 * left_2k, (left_2k, right_2k)  # the agent on the right only


def packet_times(path, stream):
    """Presentation times in seconds of every packet of one stream ("v:0", "a:0"), in order."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    return sorted(float(line) for line in out.split() if line and line != "N/A")


def frequency_between(path, start, end, rate=8000):
    """The strongest frequency in Hz of the first audio stream between two times (seconds)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(start), "-to", str(end), "-i", str(path), "-map", "0:a:0",
                          "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(raw, dtype=np.float32)
    assert len(samples) > rate // 2, f"less than half a second of audio between {start} and {end} s"
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(np.abs(np.fft.rfft(samples))))])


def test_a_remux_leaves_a_muted_stretch_as_a_gap_while_the_audio_goes_on(server, stubs, api):
    """PASSTHROUGH cannot draw black: the video packets stop for the muted stretch (a gap in their
    times as long as the mute) and resume after it; the audio has no gap."""
    dana = Publisher(server, stubs, "rules-remux-gap", "dana")
    video, audio = dana.camera_and_microphone()
    dana.send(video, audio)
    try:
        started = participant_egress(api, stubs, "rules-remux-gap", "dana", "rules/remux-gap.mp4", preset=stubs.egress.PASSTHROUGH)
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(2)
        dana.mute(video)
        time.sleep(2.5)
        dana.mute(video, muted=False)
        time.sleep(2.5)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        dana.leave()
    path = info.file_results[0].location
    video_times, audio_times = packet_times(path, "v:0"), packet_times(path, "a:0")
    video_gaps = sorted(b - a for a, b in zip(video_times, video_times[1:]))
    audio_gaps = [b - a for a, b in zip(audio_times, audio_times[1:])]
    assert 2.0 < video_gaps[-1] < 3.6, video_gaps[-3:]  # the mute, and up to a second to the next key frame
    assert video_gaps[-2] < 0.2, video_gaps[-3:]  # one gap only
    assert video_times[-1] > video_times[0] + 5.5  # the video resumed after the mute
    assert max(audio_gaps) < 0.1, max(audio_gaps)
    assert audio_times[-1] - audio_times[0] > 6.5


def test_a_remux_writes_the_first_audio_track_and_the_next_takes_over_when_it_is_gone(server, stubs, api):
    """A remux cannot mix: of two microphones routed into the recording, only the first (1 kHz)
    is written; when it is unpublished the other (2.5 kHz) takes its place."""
    e = stubs.egress
    alice = Publisher(server, stubs, "rules-remux-audio", "alice")
    bob = Publisher(server, stubs, "rules-remux-audio", "bob")
    video, alice_audio = alice.camera_and_microphone()
    alice.send(video, alice_audio, tone=1000)
    try:
        started = api.StartEgress(e.StartEgressRequest(
            room_name="rules-remux-audio", preset=e.PASSTHROUGH,
            media=e.MediaSource(participant_video=e.ParticipantVideo(identity="alice"), audio=e.AudioConfig(capture_all=True)),
            outputs=[e.Output(file=e.FileOutput(filepath="rules/remux-audio.mp4"))]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(1)
        bob.send(bob.publish("audio"), tone=2500)
        time.sleep(3)
        alice.unpublish(alice_audio)  # her sender goes on: the hub drops what it sends for the track
        handed_over = 4
        time.sleep(3)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
        bob.leave()
    path = info.file_results[0].location
    streams, _ = probe(path)
    assert sorted(s["codec_type"] for s in streams) == ["audio", "video"]
    assert frequency_between(path, 0.2, handed_over - 0.5) == pytest.approx(1000, abs=20)
    assert frequency_between(path, handed_over + 0.8, handed_over + 2.5) == pytest.approx(2500, abs=20)
