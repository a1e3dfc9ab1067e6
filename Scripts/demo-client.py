#!/usr/bin/env python3
"""The demo, against a running egress-server started with --dev (API key devkey, secret
"secret"): a participant joins the embedded room hub and publishes a camera and a microphone
(publish.py: ffmpeg sending a test pattern over RTP, a white flash and a beep at the start of
every second); LiveKit's own Python SDK (livekit-api) records it with StartParticipantEgress
over Twirp for ~10 s and stops; the `egress` CLI lists what was recorded; ffprobe shows the file.
Usage: demo-client.py [HOST:PORT] [RTP_PORT] [EGRESS_CLI]"""
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "Tests" / "Conformance"))
from livekit import api  # noqa: E402
from media import av_offset, probe  # noqa: E402

address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7880"
rtp_port = sys.argv[2] if len(sys.argv) > 2 else "7882"
cli = sys.argv[3] if len(sys.argv) > 3 else str(HERE.parent / ".build/release/egress")
url, key, secret = f"http://{address}", "devkey", "secret"


def show(title, text):
    print(f"== {title}")
    print("   " + str(text).strip().replace("\n", "\n   "))


async def record():
    lk = api.LiveKitAPI(url, key, secret)
    try:
        room = await lk.room.list_participants(api.ListParticipantsRequest(room="demo-room"))
        show("room.list_participants(demo-room)", "\n".join(
            f"{p.identity}: " + ", ".join(f"{t.sid} {api.TrackSource.Name(t.source)}" for t in p.tracks) for p in room.participants))
        info = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="demo-room", identity="alice", preset=api.H264_720P_30,
            file_outputs=[api.EncodedFileOutput(filepath="{room_name}/{publisher_identity}-{time}.mp4")]))
        show("egress.start_participant_egress", f"egress_id: {info.egress_id} status: {api.EgressStatus.Name(info.status)}")
        while (await lk.egress.list_egress(api.ListEgressRequest(egress_id=info.egress_id))).items[0].status != api.EGRESS_ACTIVE:
            await asyncio.sleep(0.1)
        print(f"== recording {info.egress_id} (ACTIVE) for 10 s ...")
        await asyncio.sleep(10)
        stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        show("egress.stop_egress", f"status: {api.EgressStatus.Name(stopped.status)}")
        while (final := (await lk.egress.list_egress(api.ListEgressRequest(egress_id=info.egress_id))).items[0]).status != api.EGRESS_COMPLETE:
            assert final.status == api.EGRESS_ENDING, final.error
            await asyncio.sleep(0.1)
        show("EgressInfo (egress.list_egress)", final)
        try:
            await lk.egress.start_participant_egress(api.ParticipantEgressRequest(room_name="demo-room"))
        except api.TwirpError as error:
            show("start_participant_egress without identity", f"TwirpError {error.code} ({error.status}): {error.message}")
        return final
    finally:
        await lk.aclose()


alice = subprocess.Popen([sys.executable, str(HERE.parent / "Tests/Conformance/publish.py"), address, rtp_port, "demo-room", "alice",
                          "40", "1280x720"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
tracks = json.loads(alice.stdout.readline())
show(f"alice joined demo-room and publishes (ffmpeg sends RTP to port {rtp_port})",
     f"camera {tracks['video']} (H.264 1280x720)\nmicrophone {tracks['audio']} (Opus)")
try:
    final = asyncio.run(record())
finally:
    alice.stdin.close()
    alice.wait(timeout=20)

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

environment = {**os.environ, "LIVEKIT_URL": url, "LIVEKIT_API_KEY": key, "LIVEKIT_API_SECRET": secret}
listing = subprocess.run([cli, "list", "--room", "demo-room"], capture_output=True, text=True, env=environment, check=True).stdout
show("egress list --room demo-room  (the command-line client)", listing)

# The demo is run by Scripts/test too: it fails when what it shows is wrong.
video = next((s for s in streams if s["codec_type"] == "video"), None)
problems = []
if sorted(s["codec_type"] for s in streams) != ["audio", "video"]:
    problems.append(f"the recording's streams are {[s['codec_type'] for s in streams]}, not audio and video")
if video and (video["codec_name"], video["width"], video["height"]) != ("h264", 1280, 720):
    problems.append(f"the video is {video['codec_name']} {video['width']}x{video['height']}, not h264 1280x720")
if not 9.5 < float(fmt["duration"]) < 11.5:
    problems.append(f"the recording lasts {float(fmt['duration']):.2f} s, not about 10 s")
if offset is None or abs(offset) > 0.05:
    problems.append(f"audio and video are {offset} s apart, not within 50 ms")
if not any(line.split()[:2] == [final.egress_id, "COMPLETE"] for line in listing.splitlines()):
    problems.append(f"the CLI's listing does not show {final.egress_id} complete")
if problems:
    sys.exit("== the demo went wrong: " + "; ".join(problems))
print("== the demo worked: every check above holds")
