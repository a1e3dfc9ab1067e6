#!/usr/bin/env python3
"""The demo: against a running egress-server, a participant joins the embedded room hub and
publishes a camera and a microphone (ffmpeg sending a test pattern over RTP: a white flash and
a beep at the start of every second); a LiveKit-style client records it with
StartParticipantEgress for ~10 s, stops, and shows the EgressInfo and the recorded file.
Usage: demo-client.py [HOST:PORT] [RTP_PORT]   (defaults 127.0.0.1:7880 7882)"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "Conformance"))
import grpc  # noqa: E402
from media import Endpoint, Publisher, av_offset, compile_stubs, probe  # noqa: E402

host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7880").rsplit(":", 1)
server = Endpoint(host, int(port), int(sys.argv[2]) if len(sys.argv) > 2 else 7882)
stubs = compile_stubs()
e = stubs.egress
api = stubs.egress_grpc.EgressStub(server.channel())


def show(title, message):
    print(f"== {title}")
    print("   " + str(message).strip().replace("\n", "\n   "))


def status(egress_id):
    return api.ListEgress(e.ListEgressRequest(egress_id=egress_id), timeout=5).items[0]


def wait_for(egress_id, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while (info := status(egress_id)).status != wanted:
        assert time.monotonic() < deadline, f"egress stuck in {e.EgressStatus.Name(info.status)}: {info.error}"
        time.sleep(0.1)
    return info


show("Health.Check", stubs.health_grpc.HealthStub(server.channel()).Check(stubs.health.HealthCheckRequest(), timeout=5))

alice = Publisher(server, stubs, "demo-room", "alice")
camera, microphone = alice.camera_and_microphone()
alice.send(camera, microphone, size="1280x720", seconds=30)
show("RoomIngest: alice joined demo-room and publishes (ffmpeg sends RTP to port %d)" % server.rtp_port,
     f"camera {camera.sid} (H.264, ssrc {camera.ssrc})\nmicrophone {microphone.sid} (Opus, ssrc {microphone.ssrc})")

try:
    info = api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="demo-room", identity="alice", preset=e.H264_720P_30,
        file_outputs=[e.EncodedFileOutput(filepath="{room_name}/{publisher_identity}-{time}.mp4")]), timeout=5)
    show("StartParticipantEgress", f"egress_id: {info.egress_id} status: {e.EgressStatus.Name(info.status)}")
    wait_for(info.egress_id, e.EGRESS_ACTIVE)
    print(f"== recording {info.egress_id} (ACTIVE) for 10 s ...")
    time.sleep(10)
    stopped = api.StopEgress(e.StopEgressRequest(egress_id=info.egress_id), timeout=5)
    show("StopEgress", f"status: {e.EgressStatus.Name(stopped.status)}")
    final = wait_for(info.egress_id, e.EGRESS_COMPLETE)
    show("EgressInfo (ListEgress)", final)
finally:
    alice.leave()

result = final.file_results[0]
streams, fmt = probe(result.location)
summary = [f"{result.location}", f"{int(fmt['size']):,} bytes, {float(fmt['duration']):.2f} s, {fmt['format_name']}"]
for s in streams:
    if s["codec_type"] == "video":
        summary.append(f"video: {s['codec_name']} {s['width']}x{s['height']} {s['r_frame_rate']} fps")
    else:
        summary.append(f"audio: {s['codec_name']} {s['sample_rate']} Hz, {s['channels']} channels")
offset, flashes, beeps = av_offset(result.location)
summary.append(f"flashes found at {len(flashes)} seconds, beeps at {len(beeps)}; A/V offset {offset * 1000:+.0f} ms")
show("ffprobe of the recording", "\n".join(summary))

try:
    api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="demo-room"), timeout=5)
except grpc.RpcError as error:
    show("StartParticipantEgress without identity", f"{error.code().name}: {error.details()}")
