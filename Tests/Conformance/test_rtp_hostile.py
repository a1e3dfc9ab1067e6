"""RTP from whoever can reach the UDP port: a second sender with a track's SSRC (it is in every
packet, in the clear), one forged packet far ahead in sequence, datagrams over the old 2 KiB
read size and over the hub's limit, and SSRC probing through PublishTrack. A track's RTP is
pinned to its sender's address, a jump must be confirmed by the packets after it, datagrams
are read whole, and a clash says nothing about whose SSRC it is."""
import socket
import struct
import subprocess
import time

import grpc
import numpy as np
import pytest

from media import Publisher, UDPRelay, beep_times, flash_times, probe
from test_recording import info_of, participant_egress, wait_for


def stats_of(publisher, track):
    stats = publisher.ingest.GetIngestStats(publisher.stubs.ingest.GetIngestStatsRequest(room=publisher.room), timeout=10)
    return next(t for t in stats.tracks if t.track_sid == track.sid), stats


def wait_until(check, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def rtp(ssrc, sequence, timestamp=0, payload_type=96, payload=b"\x00" * 20, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, sequence & 0xFFFF, timestamp, ssrc) + payload


def attacker_ffmpeg(port, video, audio, seconds):
    """A second ffmpeg, from ports of its own, sending a white picture and a loud 300 Hz tone with
    the genuine tracks' SSRCs and payload types."""
    url = f"rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=1200"
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "color=c=white:s=640x360:r=30",
         "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000",
         "-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
         "-t", str(seconds), "-payload_type", str(video.payload_type), "-ssrc", str(video.ssrc), "-f", "rtp", url,
         "-map", "1:a", "-c:a", "libopus", "-ac", "2", "-t", str(seconds), "-payload_type", str(audio.payload_type),
         "-ssrc", str(audio.ssrc), "-f", "rtp", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_another_process_cannot_bind_the_hubs_udp_port(server):
    """On Linux two UDP sockets that both ask for SO_REUSEADDR may bind one port, and unicast
    datagrams then go to the newer one: a local process (or a second server started by mistake)
    would take the publishers' media. The hub's port does not allow it."""
    for reuse in (False, True):
        thief = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if reuse:
            thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            with pytest.raises(OSError) as refused:
                thief.bind(("127.0.0.1", server.rtp_port))
            assert refused.value.errno == 98, refused.value  # EADDRINUSE
        finally:
            thief.close()


def test_a_second_sender_with_the_tracks_ssrcs_changes_nothing_in_the_recording(server, stubs):
    api = stubs.egress_grpc.EgressStub(server.channel())
    pub = Publisher(server, stubs, "hostile-hijack", "alice")
    video, audio = pub.camera_and_microphone()
    pub.send(video, audio, seconds=30)
    attacker = None
    try:
        started = participant_egress(api, stubs, "hostile-hijack", "alice", filepath="hijack.mp4")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(1.5)
        attacker = attacker_ffmpeg(server.rtp_port, video, audio, seconds=20)
        time.sleep(5)  # the attacker sends in real time (-re): 150 frames
        assert attacker.poll() is None, "the attacker's ffmpeg did not run"
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    finally:
        if attacker:
            attacker.kill()
        pub.stop_sending()
    # The picture stays the genuine one: dark grey with a flash a second. The attacker's white
    # picture would make most frames bright.
    path = info.file_results[0].location
    flashes, brightness = flash_times(path)
    duration = len(brightness) / 30
    late = brightness[int(len(brightness) * 0.3):]
    assert len(late) > 90
    assert np.mean(late > 128) < 0.2, f"bright frames: {np.mean(late > 128):.2f}"
    assert 60 < np.median(late) < 100, np.median(late)
    # ... and the genuine flashes and beeps go on to the end, once a second.
    assert len([f for f in flashes if f > duration - 5.5]) >= 4, f"flashes {flashes} in {duration:.1f} s"
    beeps, _ = beep_times(path)
    assert len([b for b in beeps if b > duration - 5.5]) >= 4, f"beeps {beeps} in {duration:.1f} s"
    # The attacker's packets were seen, counted and dropped before the buffers: no restarts.
    video_stats, _ = stats_of(pub, video)
    audio_stats, _ = stats_of(pub, audio)
    assert video_stats.packets_wrong_source > 100 and audio_stats.packets_wrong_source > 100
    assert video_stats.sequence_restarts == 0 and audio_stats.sequence_restarts == 0


class SequenceWatchingRelay(UDPRelay):
    """A relay that notes each SSRC's latest sequence number; `send` injects from the relay's
    own address, which the hub has bound the tracks to."""

    def __init__(self, target_port):
        self.last_sequence = {}
        super().__init__(target_port)

    def forward(self, data):
        if len(data) >= 12 and not 200 <= data[1] <= 204:  # RTP, not RTCP
            (sequence,), (ssrc,) = struct.unpack("!H", data[2:4]), struct.unpack("!I", data[8:12])
            self.last_sequence[ssrc] = sequence
        self.send(data)


def test_one_packet_far_ahead_in_sequence_does_not_end_the_recording(server, stubs):
    api = stubs.egress_grpc.EgressStub(server.channel())
    pub = Publisher(server, stubs, "hostile-jump", "alice")
    video, audio = pub.camera_and_microphone()
    relay = SequenceWatchingRelay(server.rtp_port)
    pub.send(video, audio, seconds=30, dest_port=relay.port)
    try:
        started = participant_egress(api, stubs, "hostile-jump", "alice", filepath="jump.mp4")
        wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        active = time.monotonic()
        time.sleep(2)
        # From the sender's own address: 32 bytes, the video SSRC, 30,000 ahead.
        forged = rtp(video.ssrc, relay.last_sequence[video.ssrc] + 30_000, payload=b"\x00" * 20)
        assert len(forged) == 32
        relay.send(forged)
        relay.send(rtp(audio.ssrc, relay.last_sequence[audio.ssrc] + 30_000, payload_type=audio.payload_type))
        time.sleep(4)
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        wall = time.monotonic() - active
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    finally:
        pub.stop_sending()
        relay.close()
    # The whole time is there, with pictures and sound to the end (the file used to stop at the forged packet).
    flashes, _ = flash_times(info.file_results[0].location)
    assert flashes and flashes[-1] > wall - 2.5, f"last flash at {flashes[-1] if flashes else None} of {wall:.1f} s"
    assert info.file_results[0].duration / 1e9 > wall - 1
    _, fmt = probe(info.file_results[0].location)
    assert float(fmt["duration"]) > wall - 1
    video_stats, _ = stats_of(pub, video)
    assert video_stats.packets_out_of_range >= 1 and video_stats.sequence_restarts == 0
    assert video_stats.packets_late == 0


def test_a_named_rtp_source_is_the_only_address_taken(server, stubs):
    pub = Publisher(server, stubs, "hostile-named", "alice")
    genuine = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    genuine.bind(("127.0.0.1", 0))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    track = pub.publish("audio", rtp_source=f"127.0.0.1:{genuine.getsockname()[1]}")
    hub = ("127.0.0.1", server.rtp_port)
    # The first packets come from elsewhere: they would have bound an unnamed track.
    for sequence in range(5):
        other.sendto(rtp(track.ssrc, sequence, sequence * 960, payload_type=track.payload_type), hub)
    wait_until(lambda: stats_of(pub, track)[0].packets_wrong_source == 5, what="5 wrong-source packets")
    assert stats_of(pub, track)[0].packets_received == 0
    for sequence in range(5, 10):
        genuine.sendto(rtp(track.ssrc, sequence, sequence * 960, payload_type=track.payload_type), hub)
    wait_until(lambda: stats_of(pub, track)[0].packets_received == 5, what="the genuine packets")
    assert stats_of(pub, track)[0].packets_wrong_source == 5


def test_the_first_packet_binds_an_unnamed_track_and_rtcp_from_elsewhere_is_counted(server, stubs):
    pub = Publisher(server, stubs, "hostile-bind", "alice")
    track = pub.publish("audio")
    first, second = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    hub = ("127.0.0.1", server.rtp_port)
    first.sendto(rtp(track.ssrc, 1, 960, payload_type=track.payload_type), hub)
    wait_until(lambda: stats_of(pub, track)[0].packets_received == 1, what="the first packet")
    second.sendto(rtp(track.ssrc, 2, 1920, payload_type=track.payload_type), hub)
    # A sender report for the track from another port (not the sender's, nor the one after it).
    report = struct.pack("!BBHIIIIII", 0x80, 200, 6, track.ssrc, 3_000_000_000, 0, 960, 0, 0)
    second.sendto(report, hub)
    wait_until(lambda: stats_of(pub, track)[0].packets_wrong_source == 2, what="2 wrong-source datagrams")
    first.sendto(rtp(track.ssrc, 2, 1920, payload_type=track.payload_type), hub)
    wait_until(lambda: stats_of(pub, track)[0].packets_received == 2, what="the sender's second packet")


def test_datagrams_are_read_whole_and_oversize_ones_are_counted(server, stubs):
    pub = Publisher(server, stubs, "hostile-size", "alice")
    track = pub.publish("audio")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hub = ("127.0.0.1", server.rtp_port)
    # 3,000 bytes of Opus payload: more than the 2,048 bytes a read used to take.
    sender.sendto(rtp(track.ssrc, 1, 960, payload_type=track.payload_type, payload=b"\x01" * 3000), hub)
    wait_until(lambda: stats_of(pub, track)[0].frames == 1, what="the large packet")
    assert stats_of(pub, track)[0].bytes == 3000
    _, before = stats_of(pub, track)
    sender.sendto(rtp(track.ssrc, 2, 1920, payload_type=track.payload_type, payload=b"\x01" * 20_000), hub)
    wait_until(lambda: stats_of(pub, track)[1].oversize_packets == before.oversize_packets + 1, what="the oversize count")
    assert stats_of(pub, track)[0].frames == 1 and stats_of(pub, track)[1].malformed_packets == before.malformed_packets


def test_publishing_tells_nothing_about_other_rooms_ssrcs(server, stubs):
    owner = Publisher(server, stubs, "hostile-oracle-a", "alice")
    taken = owner.publish("audio")
    prober = Publisher(server, stubs, "hostile-oracle-b", "mallory")
    with pytest.raises(grpc.RpcError) as refused:
        prober.publish("audio", ssrc=taken.ssrc)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    message = refused.value.details()
    assert "hostile-oracle-a" not in message and "alice" not in message and str(taken.ssrc) not in message
    assert taken.sid not in message
    # Leaving the SSRC to the hub always works and gives a fresh one.
    chosen = {prober.publish("audio").ssrc for _ in range(3)}
    assert len(chosen) == 3 and taken.ssrc not in chosen and all(0 < s < 2**31 for s in chosen)


def test_sender_reports_are_pinned_to_the_address_they_first_come_from(server, stubs):
    """A sender with one socket (RTP and RTCP on one port, as a relay or WebRTC sends): another
    process that binds the port after it cannot feed the track sender reports (which would move
    its frames in time) once the sender's own have come."""
    pub = Publisher(server, stubs, "hostile-rtcp", "alice")
    track = pub.publish("audio")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    neighbour = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        neighbour.bind(("127.0.0.1", sender.getsockname()[1] + 1))
    except OSError:
        pytest.skip("the port after the sender's is taken")
    hub = ("127.0.0.1", server.rtp_port)
    report = lambda ntp: struct.pack("!BBHIIIIII", 0x80, 200, 6, track.ssrc, ntp, 0, 0, 0, 0)
    sender.sendto(rtp(track.ssrc, 1, 960, payload_type=track.payload_type), hub)
    sender.sendto(report(3_900_000_000), hub)  # the sender's own report, from its RTP port
    wait_until(lambda: stats_of(pub, track)[0].packets_received == 1, what="the first packet")
    time.sleep(0.2)
    neighbour.sendto(report(3_000_000_000), hub)
    wait_until(lambda: stats_of(pub, track)[0].packets_wrong_source == 1, what="the neighbour's report refused")


def test_a_key_frame_that_cannot_be_read_fails_the_recording_and_leaves_no_file(server, stubs):
    api = stubs.egress_grpc.EgressStub(server.channel())
    e = stubs.egress
    pub = Publisher(server, stubs, "hostile-keyframe", "alice")
    track = pub.publish("video", codec="VP8")
    started = api.StartTrackEgress(e.TrackEgressRequest(room_name="hostile-keyframe", track_id=track.sid,
                                                        file=e.DirectFileOutput(filepath="broken.webm")), timeout=10)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # VP8 payload descriptor (start of partition 0), then a "key frame" (P bit 0) without the
    # start code a key frame must have.
    for sequence in range(30):
        sender.sendto(rtp(track.ssrc, sequence, sequence * 3000, payload_type=track.payload_type,
                          payload=b"\x10" + b"\x00" * 40, marker=True), ("127.0.0.1", server.rtp_port))
        time.sleep(0.02)
    from test_recording import wait_for
    info = wait_for(api, stubs, started.egress_id, e.EGRESS_FAILED)
    assert "malformed VP8 key frame" in info.error
    assert not (server.output_dir / "broken.webm").exists()
