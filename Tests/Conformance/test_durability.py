"""Egress records on disk: a server killed with SIGKILL during three recordings, started again on
the same directories, lists them FAILED with their files closed and playable, and its webhook
endpoint gets their egress_ended; a clean restart keeps every record byte for byte; events not
delivered before a crash are delivered after it; a database that cannot be used stops the start
with the file named, and is left as it was."""
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import Server
from media import Publisher, assert_index_in_front, probe
from test_recording import wait_for
from webhook_endpoint import endpoint  # noqa: F401 (a fixture)


@pytest.fixture
def directory():
    with tempfile.TemporaryDirectory(prefix="egress-durable-") as path:
        yield Path(path)


def egress_api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def listed(api, stubs):
    return list(api.ListEgress(stubs.egress.ListEgressRequest(), timeout=10).items)


def events_of(hook):
    return [json.loads(body) for _, body, _ in hook.events]


def wait_for_events(hook, predicate, count, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in events_of(hook) if predicate(e)]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} events arrived: {events_of(hook)}"
        time.sleep(0.1)


def test_a_server_killed_during_three_recordings_finalizes_them_on_restart(directory, fresh_server, stubs, endpoint):
    hook = endpoint()
    first = fresh_server("--webhook-url", hook.url, directory=directory)
    api, e = egress_api(first, stubs), stubs.egress
    alice = Publisher(first, stubs, "crash", "alice")
    camera, microphone = alice.camera_and_microphone()
    bob = Publisher(first, stubs, "crash", "bob")
    vp8 = bob.publish("video", codec="VP8")
    alice.send(camera, microphone, size="320x240")
    bob.send(vp8, size="320x240")
    try:
        participant = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="crash", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="crash/{room_name}-{publisher_identity}")]),
            timeout=10)
        audio = api.StartTrackEgress(e.TrackEgressRequest(room_name="crash", track_id=microphone.sid,
                                                          file=e.DirectFileOutput(filepath="crash/")), timeout=10)
        video = api.StartTrackEgress(e.TrackEgressRequest(room_name="crash", track_id=vp8.sid,
                                                          file=e.DirectFileOutput(filepath="crash/")), timeout=10)
        ids = [participant.egress_id, audio.egress_id, video.egress_id]
        for egress_id in ids:
            wait_for(api, stubs, egress_id, e.EGRESS_ACTIVE)
        time.sleep(6)
        before = {info.egress_id: info for info in listed(api, stubs)}
        killed_at = time.time()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
    finally:
        alice.stop_sending()
        bob.stop_sending()
    # The files as the killed process left them: the MP4 still fragmented.
    assert all(before[i].status == e.EGRESS_ACTIVE for i in ids)
    assert all(len(before[i].file_results) == 1 for i in ids)

    second = fresh_server("--webhook-url", hook.url, directory=directory)
    api = egress_api(second, stubs)
    after = {info.egress_id: info for info in listed(api, stubs)}
    assert sorted(after) == sorted(ids)
    for egress_id in ids:
        info = after[egress_id]
        assert info.status == e.EGRESS_FAILED, info
        assert info.error == "egress server restarted" and info.error_code == 500
        assert info.details == "End reason: Process killed"
        assert info.room_name == "crash" and info.ended_at > 0
        [result] = info.file_results
        assert result.location == str(second.output_dir / result.filename)
        assert result.size == os.path.getsize(result.location) > 0
        recorded = killed_at - result.started_at / 1e9
        streams, fmt = probe(result.location)
        duration = float(fmt["duration"])
        print(f"MEASURE {result.filename}: {duration:.2f} s of {recorded:.2f} s recorded before the kill")
        assert recorded - 2 <= duration <= recorded + 0.5, (result.filename, duration, recorded)
        assert abs(result.duration / 1e9 - duration) < 0.2
    files = {Path(after[i].file_results[0].filename).suffix: after[i].file_results[0].location for i in ids}
    assert sorted(files) == [".mp4", ".ogg", ".webm"]
    assert_index_in_front(files[".mp4"])  # made a plain MP4, as a clean stop leaves it
    kinds = {ext: sorted(s["codec_name"] for s in probe(path)[0]) for ext, path in files.items()}
    assert kinds == {".mp4": ["aac", "h264"], ".ogg": ["opus"], ".webm": ["vp8"]}
    # Decodable to the end: every packet the rewrite kept is whole.
    for path in files.values():
        decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
        assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr
    ended = wait_for_events(hook, lambda ev: ev["event"] == "egress_ended", 3)
    assert sorted(ev["egressInfo"]["egressId"] for ev in ended) == sorted(ids)
    assert all(ev["egressInfo"]["status"] == "EGRESS_FAILED" and ev["egressInfo"]["error"] == "egress server restarted" for ev in ended)
    assert "egress records restored" in second.log_text()


def test_a_killed_hls_recording_gets_its_playlists_ended_on_restart(directory, fresh_server, stubs):
    """HLS segments of 1 s and a live playlist: after a kill and a restart both playlists end with
    #EXT-X-ENDLIST, list the segments that were complete (all on disk), and play to within a
    segment and a second of the kill; segment_results say what the playlist lists."""
    first = fresh_server(directory=directory)
    api, e = egress_api(first, stubs), stubs.egress
    alice = Publisher(first, stubs, "crash-hls", "alice")
    alice.send(*alice.camera_and_microphone(), size="320x240")
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="crash-hls", identity="alice", segment_outputs=[e.SegmentedFileOutput(
                filename_prefix="hls/s", playlist_name="full.m3u8", live_playlist_name="live.m3u8", segment_duration=1)]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(5)
        killed_at = time.time()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
    finally:
        alice.stop_sending()
    playlist, live = first.output_dir / "hls/full.m3u8", first.output_dir / "hls/live.m3u8"
    assert "#EXT-X-ENDLIST" not in playlist.read_text()  # as the killed process left it

    second = fresh_server(directory=directory)
    [info] = listed(egress_api(second, stubs), stubs)
    assert info.status == e.EGRESS_FAILED and info.error == "egress server restarted"
    [result] = info.segment_results
    text = playlist.read_text()
    assert text.endswith("#EXT-X-ENDLIST\n") and text.count("#EXT-X-ENDLIST") == 1
    assert live.read_text().endswith("#EXT-X-ENDLIST\n")
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert result.segment_count == len(names) >= 3 and all((playlist.parent / name).exists() for name in names)
    assert result.size == sum((playlist.parent / name).stat().st_size for name in names)
    assert result.playlist_location == str(playlist)
    streams, fmt = probe(playlist)
    duration = float(fmt["duration"])
    recorded = killed_at - result.started_at / 1e9
    print(f"MEASURE HLS: {duration:.2f} s of {recorded:.2f} s recorded before the kill")
    assert recorded - 2.5 <= duration <= recorded + 0.5, (duration, recorded)
    assert abs(result.duration / 1e9 - duration) < 0.5
    assert sorted(s["codec_name"] for s in streams) == ["aac", "h264"]


def test_a_clean_restart_keeps_every_record_byte_for_byte(directory, fresh_server, stubs):
    first = fresh_server(directory=directory)
    api, e = egress_api(first, stubs), stubs.egress
    alice = Publisher(first, stubs, "kept", "alice")
    alice.send(*alice.camera_and_microphone(), size="320x240")
    try:
        done = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="kept", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="kept/")]), timeout=10)
        wait_for(api, stubs, done.egress_id, e.EGRESS_ACTIVE)
        time.sleep(2)
        api.StopEgress(e.StopEgressRequest(egress_id=done.egress_id), timeout=10)
        wait_for(api, stubs, done.egress_id, e.EGRESS_COMPLETE)
    finally:
        alice.leave()
    nobody = api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="kept", identity="nobody", file_outputs=[e.EncodedFileOutput(filepath="kept/")]), timeout=10)
    api.StopEgress(e.StopEgressRequest(egress_id=nobody.egress_id), timeout=10)
    wait_for(api, stubs, nobody.egress_id, e.EGRESS_ABORTED)
    before = [info.SerializeToString() for info in listed(api, stubs)]
    assert first.terminate() == 0

    second = fresh_server(directory=directory)
    api = egress_api(second, stubs)
    assert [info.SerializeToString() for info in listed(api, stubs)] == before
    # Newest first still, and a new egress goes before the restored ones.
    later = api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="kept", identity="nobody", file_outputs=[e.EncodedFileOutput(filepath="kept/")]), timeout=10)
    ids = [info.egress_id for info in listed(api, stubs)]
    assert ids == [later.egress_id, nobody.egress_id, done.egress_id]


def test_events_not_delivered_before_a_crash_are_delivered_after_it(directory, fresh_server, stubs, endpoint):
    hook = endpoint(failures=10_000)  # answers 503 until told otherwise
    first = fresh_server("--webhook-url", hook.url, directory=directory)
    api, e = egress_api(first, stubs), stubs.egress
    waiting = api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="later", identity="nobody", file_outputs=[e.EncodedFileOutput(filepath="later/")]), timeout=10)
    deadline = time.monotonic() + 10
    while hook.attempts == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    assert hook.events == []
    hook.failures = 0

    second = fresh_server("--webhook-url", hook.url, directory=directory)
    started = wait_for_events(hook, lambda ev: ev["event"] == "egress_started", 1)
    ended = wait_for_events(hook, lambda ev: ev["event"] == "egress_ended", 1)
    # The first server's egress_started, made before the crash (the second server never starts it).
    assert started[0]["egressInfo"]["egressId"] == waiting.egress_id
    assert started[0]["egressInfo"].get("status", "EGRESS_STARTING") == "EGRESS_STARTING"  # the default is left out
    assert ended[0]["egressInfo"]["egressId"] == waiting.egress_id and ended[0]["egressInfo"]["status"] == "EGRESS_FAILED"
    assert started[0]["id"] != ended[0]["id"]
    # Delivered now: a third start sends none of them again.
    assert second.terminate() == 0
    count = len(hook.events)
    fresh_server("--webhook-url", hook.url, directory=directory)
    time.sleep(1.5)
    assert len(hook.events) == count


def test_a_corrupt_database_stops_the_start_naming_the_file_and_is_left_as_it_was(directory):
    state = directory / "recordings-state"
    state.mkdir()
    database = state / "egress.sqlite"
    garbage = b"this is not an SQLite database " * 200
    database.write_bytes(garbage)
    with pytest.raises(RuntimeError) as failed:
        Server(directory=directory)
    assert str(database) in str(failed.value) and "not a database" in str(failed.value)
    assert database.read_bytes() == garbage


def test_an_unusable_state_directory_stops_the_start_naming_it(directory):
    (directory / "recordings-state").write_text("a file where the directory should be")
    with pytest.raises(RuntimeError) as failed:
        Server(directory=directory)
    assert str(directory / "recordings-state") in str(failed.value)
    assert (directory / "recordings-state").read_text() == "a file where the directory should be"


def test_a_second_server_on_the_same_records_is_refused(directory, fresh_server):
    fresh_server(directory=directory)
    with pytest.raises(RuntimeError) as failed:
        Server(directory=directory)
    assert "in use by another egress-server" in str(failed.value)


def test_state_dir_none_keeps_records_in_memory_only(directory, fresh_server, stubs):
    first = fresh_server("--state-dir", "none", directory=directory)
    api, e = egress_api(first, stubs), stubs.egress
    api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="gone", identity="nobody", file_outputs=[e.EncodedFileOutput(filepath="gone/")]), timeout=10)
    assert first.terminate() == 0
    assert not (directory / "recordings-state").exists()
    second = fresh_server("--state-dir", "none", directory=directory)
    assert listed(egress_api(second, stubs), stubs) == []


def test_the_state_directory_and_retention_from_flags_and_environment(directory, fresh_server, stubs):
    elsewhere = directory / "records-here"
    server = fresh_server(env={"EGRESS_STATE_DIR": str(elsewhere), "EGRESS_RECORD_RETENTION_DAYS": "7"}, directory=directory)
    api, e = egress_api(server, stubs), stubs.egress
    api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="here", identity="nobody", file_outputs=[e.EncodedFileOutput(filepath="here/")]), timeout=10)
    assert (elsewhere / "egress.sqlite").exists() and not (directory / "recordings-state").exists()
    assert oct((elsewhere / "egress.sqlite").stat().st_mode & 0o777) == "0o600"
    assert f"egress records in {elsewhere}/egress.sqlite" in server.log_text()
    for days in ("0", "3651", "soon"):
        with pytest.raises(RuntimeError) as refused:
            Server("--record-retention-days", days, directory=directory)
        assert "--record-retention-days" in str(refused.value)
