"""Recording through trouble: a lossy, reordering network between the publisher and the hub,
and the server killed mid-recording."""
import json
import random
import signal
import subprocess
import time

from media import Publisher, UDPRelay, assert_index_in_front, flash_times, probe, top_level_boxes
from test_recording import assert_duration, assert_pattern_in_sync, participant_egress, record_for, wait_for


class LossyRelay(UDPRelay):
    """A relay that drops `loss` of the RTP packets and swaps `reorder` of them with the next
    one, forwarding the rest; RTCP is forwarded too, except during the first `hold_rtcp`
    seconds (a sender whose reports start after its media)."""

    def __init__(self, target_port, loss=0.02, reorder=0.03, seed=7, hold_rtcp=0.0):
        self.loss, self.reorder, self.hold_rtcp = loss, reorder, hold_rtcp
        self.started = self.held = None
        self.random = random.Random(seed)
        self.dropped = self.swapped = 0
        super().__init__(target_port)

    def forward(self, data):
        self.started = self.started or time.monotonic()
        if 200 <= data[1] <= 204:  # RTCP
            if time.monotonic() - self.started >= self.hold_rtcp:
                self.send(data)
            return
        if self.random.random() < self.loss:
            self.dropped += 1
            return
        if self.held is None and self.random.random() < self.reorder:
            self.held = data
            self.swapped += 1
            return
        self.send(data)
        if self.held is not None:
            self.send(self.held)
            self.held = None


def test_loss_and_reordering_are_counted_and_the_file_stays_playable(server, stubs):
    api = stubs.egress_grpc.EgressStub(server.channel())
    relay = LossyRelay(server.rtp_port)
    pub = Publisher(server, stubs, "lossy", "alice")
    video, audio = pub.camera_and_microphone()
    pub.send(video, audio, dest_port=relay.port)
    try:
        started = participant_egress(api, stubs, "lossy", "alice")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        t0 = time.monotonic()
        time.sleep(6)
        stats = stubs.ingest_grpc.RoomIngestStub(server.channel()).GetIngestStats(
            stubs.ingest.GetIngestStatsRequest(room="lossy"), timeout=10)
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        wall = time.monotonic() - t0
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    finally:
        pub.leave()
        relay.close()
    assert relay.dropped > 0 and relay.swapped > 0
    lost = sum(t.packets_lost for t in stats.tracks)
    reordered = sum(t.packets_reordered for t in stats.tracks)
    assert lost > 0 and reordered > 0, stats
    print(f"relay dropped {relay.dropped}, swapped {relay.swapped}; hub counted {lost} lost, {reordered} reordered")
    assert lost <= relay.dropped
    path = info.file_results[0].location
    streams, fmt = probe(path)
    assert {s["codec_type"] for s in streams} == {"video", "audio"}
    assert_duration(float(fmt["duration"]), wall)
    # Every frame decodes, and the pattern is still there.
    decode = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
    assert decode.returncode == 0 and decode.stderr == ""
    assert len(flash_times(path)[0]) >= 3


def test_a_killed_server_leaves_a_file_that_plays_up_to_the_kill(fresh_server, stubs):
    server = fresh_server()
    api = stubs.egress_grpc.EgressStub(server.channel())
    pub = Publisher(server, stubs, "killed", "alice")
    pub.send(*pub.camera_and_microphone())
    try:
        started = participant_egress(api, stubs, "killed", "alice", "kill/{room_name}.mp4")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        t0 = time.monotonic()
        time.sleep(6)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        recorded = time.monotonic() - t0
    finally:
        pub.stop_sending()
    path = server.output_dir / "kill" / "killed.mp4"
    streams, fmt = probe(path)
    assert {s["codec_type"] for s in streams} == {"video", "audio"}
    print(f"recorded {recorded:.2f} s before the kill; the file plays {float(fmt['duration']):.2f} s")
    # Fragments of a second at most: about a second is lost (README, "Crash safety").
    assert float(fmt["duration"]) >= recorded - 1.25, (fmt["duration"], recorded)
    assert "moof" in top_level_boxes(path)
    flashes, _ = flash_times(path)
    assert len(flashes) >= int(recorded) - 2


def test_a_sender_clock_an_hour_off_with_late_reports_records_in_sync(server, stubs):
    """The sender's clock is an hour behind ours and its first sender reports are lost: the
    first second is timed by arrival, the rest by the reports, and the file shows no jump."""
    api = stubs.egress_grpc.EgressStub(server.channel())
    relay = LossyRelay(server.rtp_port, loss=0, reorder=0, hold_rtcp=1.5)
    pub = Publisher(server, stubs, "skewed", "alice")
    video, audio = pub.camera_and_microphone()
    pub.send(video, audio, dest_port=relay.port, clock_offset=-3600)
    try:
        started = participant_egress(api, stubs, "skewed", "alice")
        # ffmpeg reports every 5 s: the first report gets through after ~5 s of media.
        info, wall = record_for(api, stubs, started.egress_id, 8)
    finally:
        pub.leave()
        relay.close()
    path = info.file_results[0].location
    _, fmt = probe(path)
    assert_duration(float(fmt["duration"]), wall)
    assert_pattern_in_sync(path, wall)


def test_sigterm_finishes_live_recordings_before_exiting(fresh_server, stubs):
    server = fresh_server()
    api = stubs.egress_grpc.EgressStub(server.channel())
    pub = Publisher(server, stubs, "terminated", "alice")
    pub.send(*pub.camera_and_microphone())
    try:
        e = stubs.egress
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="terminated", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="term.mp4")]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(3)
        assert server.terminate() == 0
    finally:
        pub.stop_sending()
    streams, fmt = probe(server.output_dir / "term.mp4")
    assert_index_in_front(server.output_dir / "term.mp4")  # finished, not just fragments
    assert {s["codec_type"] for s in streams} == {"video", "audio"}
    assert float(fmt["duration"]) > 2.5
    manifest = json.loads((server.output_dir / f"{started.egress_id}.json").read_text())
    assert manifest["files"][0]["size"] == (server.output_dir / "term.mp4").stat().st_size
