"""The recording rules the README states, each with real media: a video track that goes silent
turns black, the file type follows video only within a second of the first media, a
TrackComposite ends with its tracks, and audio routes by participant kind and capture_all."""
import subprocess
import time

import numpy as np

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


def test_video_published_more_than_a_second_after_the_first_media_does_not_make_an_mp4(server, stubs, api):
    """DEFAULT_FILETYPE: the file type is chosen 1 s after the first media; a camera that comes
    later does not make the recording an MP4 (it is an OGG of the audio)."""
    bob = Publisher(server, stubs, "rules-late-video", "bob")
    bob.send(bob.publish("audio"))
    try:
        started = participant_egress(api, stubs, "rules-late-video", "bob", "rules/late-video")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(2)
        bob.send(bob.publish("video"))
        time.sleep(2)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        bob.leave()
    [result] = info.file_results
    assert result.filename == "rules/late-video.ogg"
    streams, _ = probe(result.location)
    assert [s["codec_type"] for s in streams] == ["audio"]


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
    assert info.details == f"track {audio.sid} ended"
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
