#!/usr/bin/env python3
"""A participant in its own process, for tests and demos that use LiveKit's own Python classes
(which cannot share a process with the grpcio stubs of Protos/): joins ROOM as IDENTITY over
RoomIngest, publishes a camera and a microphone, sends the test pattern with ffmpeg, prints
{"video": TRACK_SID, "audio": TRACK_SID} on one line, and keeps sending until stdin closes or
SECONDS pass; then it leaves.
Usage: publish.py HOST:PORT RTP_PORT ROOM IDENTITY [SECONDS] [WIDTHxHEIGHT]"""
import json
import select
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from media import Endpoint, Publisher, compile_stubs  # noqa: E402

address, rtp_port, room, identity = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 60
size = sys.argv[6] if len(sys.argv) > 6 else "640x360"
host, port = address.rsplit(":", 1)
publisher = Publisher(Endpoint(host, int(port), rtp_port), compile_stubs(), room, identity)
video, audio = publisher.camera_and_microphone()
publisher.send(video, audio, seconds=seconds, size=size)
print(json.dumps({"video": video.sid, "audio": audio.sid}), flush=True)
select.select([sys.stdin], [], [], seconds)
publisher.stop_sending()
publisher.leave()
