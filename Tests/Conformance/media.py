"""Media peers for tests, the demo and the benchmark: stubs compiled from Protos/, an ffmpeg
publisher that joins the hub over RoomIngest and sends RTP, and the checks run on recorded
files (ffprobe, and decoding to find the flashes and beeps)."""
import importlib
import json
import subprocess
import sys
import socket
import tempfile
import threading
import time
from pathlib import Path

import grpc
import numpy as np

import tokens
from grpc_tools import protoc

PROTOS = Path(__file__).resolve().parents[2] / "Protos"


def compile_stubs():
    """The grpcio modules generated from Protos/ by grpcio-tools, as a namespace."""
    out = Path(tempfile.mkdtemp(prefix="egress-stubs-"))
    files = [str(p) for p in sorted(PROTOS.glob("*.proto"))]
    rc = protoc.main(["protoc", f"-I{PROTOS}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    assert rc == 0, "grpcio-tools could not compile Protos/"
    sys.path.insert(0, str(out))

    class Stubs:
        egress = importlib.import_module("livekit_egress_pb2")
        egress_grpc = importlib.import_module("livekit_egress_pb2_grpc")
        models = importlib.import_module("livekit_models_pb2")
        health = importlib.import_module("grpc_health_pb2")
        health_grpc = importlib.import_module("grpc_health_pb2_grpc")
        room = importlib.import_module("livekit_room_pb2")
        room_grpc = importlib.import_module("livekit_room_pb2_grpc")
        ingest = importlib.import_module("egress_ingest_pb2")
        ingest_grpc = importlib.import_module("egress_ingest_pb2_grpc")
        cluster = importlib.import_module("egress_cluster_pb2")
        cluster_grpc = importlib.import_module("egress_cluster_pb2_grpc")

    return Stubs


class Endpoint:
    """A running server's addresses: gRPC at host:port, RTP at host:rtp_port."""

    def __init__(self, host, port, rtp_port):
        self.address, self.rtp_port = f"{host}:{port}", rtp_port

    def channel(self):
        return tokens.signed(grpc.insecure_channel(self.address))

# The test pattern: a dark grey picture (mean luma ~80, so that black and a frozen picture tell
# apart) that is white for the first 100 ms of every second, and a 1 kHz beep for the first 100 ms
# of every second. Their onsets in a recording give A/V sync to a frame.
FLASH = "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'"
BEEP = "volume=volume=0:enable='gte(mod(t\\,1)\\,0.1)'"

VIDEO_PT, AUDIO_PT = 96, 111


class Track:
    """A published track: the hub's TrackInfo, and what the sender needs to send it."""

    def __init__(self, info, kind, codec, ssrc, payload_type):
        self.info, self.kind, self.codec, self.ssrc, self.payload_type = info, kind, codec, ssrc, payload_type
        self.sid = info.sid


class Publisher:
    """One participant of the hub: joins `room` over RoomIngest, publishes tracks, sends them with ffmpeg."""

    def __init__(self, server, stubs, room, identity, kind=0, media=None):
        """`media`: the server whose hub hosts the room, when that is not `server` (a cluster)."""
        self.server, self.stubs, self.room, self.identity = server, stubs, room, identity
        self.media = media or server
        self.ingest = stubs.ingest_grpc.RoomIngestStub(server.channel())
        self.ingest.JoinRoom(stubs.ingest.JoinRoomRequest(room=room, identity=identity, name=identity, kind=kind), timeout=10)
        self.senders = []

    def publish(self, kind, source=None, codec=None, **publish):
        """Announces a track; `publish` adds PublishTrackRequest fields (ssrc, rtp_source)."""
        m, i = self.stubs.models, self.stubs.ingest
        codec = codec or ("H264" if kind == "video" else "OPUS")
        source = source or ("CAMERA" if kind == "video" else "MICROPHONE")
        pt = VIDEO_PT if kind == "video" else AUDIO_PT
        # ssrc 0: the hub chooses one and answers it.
        r = self.ingest.PublishTrack(i.PublishTrackRequest(
            room=self.room, identity=self.identity, type=m.VIDEO if kind == "video" else m.AUDIO,
            source=getattr(m, source), codec=getattr(i, codec), payload_type=pt, stereo=kind == "audio", **publish),
            timeout=10)
        assert r.rtp_port == self.media.rtp_port and r.ssrc != 0
        return Track(r.track, kind, codec, r.ssrc, pt)

    def camera_and_microphone(self, video_codec="H264"):
        return self.publish("video", codec=video_codec), self.publish("audio")

    def send(self, *tracks, seconds=60, size="640x360", dest_port=None, clock_offset=0, tone=1000, noise=False, color="0x505050"):
        """Starts one ffmpeg sending the test pattern on `tracks` in real time, one wall clock for
        all (`clock_offset` seconds away from ours, as a sender on another machine might be); the
        beeps are a `tone` Hz sine. With `noise` the picture is grainy, so that its encodings
        take their full bitrate; `color` is the picture's colour between flashes."""
        port = dest_port or self.media.rtp_port
        url = f"rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=1200"
        now_us = int((time.time() + clock_offset) * 1_000_000)
        args = ["ffmpeg", "-nostdin", "-v", "error", "-re",
                "-f", "lavfi", "-i", f"color=c={color}:s={size}:r=30,{'noise=alls=40:allf=t,' if noise else ''}{FLASH}",
                "-re", "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000,{BEEP}"]  # -re is per input
        for track in tracks:
            if track.kind == "video":
                if track.codec == "H264":
                    codec = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p"]
                else:
                    codec = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "1M"]
                args += ["-map", "0:v", *codec]
            else:
                args += ["-map", "1:a", "-c:a", "libopus", "-b:a", "64k", "-ac", "2"]
            args += ["-t", str(seconds), "-payload_type", str(track.payload_type), "-ssrc", str(track.ssrc),
                     "-start_time_realtime", str(now_us), "-f", "rtp", url]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.senders.append(process)
        return process

    def stop_sending(self):
        for process in self.senders:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
        self.senders = []

    def mute(self, track, muted=True):
        self.ingest.SetTrackMuted(self.stubs.ingest.SetTrackMutedRequest(
            room=self.room, identity=self.identity, track_sid=track.sid, muted=muted), timeout=10)

    def unpublish(self, track):
        self.ingest.UnpublishTrack(self.stubs.ingest.UnpublishTrackRequest(
            room=self.room, identity=self.identity, track_sid=track.sid), timeout=10)

    def leave(self):
        self.stop_sending()
        self.ingest.LeaveRoom(self.stubs.ingest.LeaveRoomRequest(room=self.room, identity=self.identity), timeout=10)


class UDPRelay:
    """A UDP relay on 127.0.0.1: what a sender sends to `port` goes on to `target_port` from one
    socket, so the receiver sees one sender. Subclasses change `forward`."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                data, self.source = self.socket.recvfrom(65536)
            except socket.timeout:
                continue
            if self.source == self.target:
                self.returned(data)
            else:
                self.forward(data)

    def forward(self, data):
        self.send(data)

    def returned(self, data):
        """What the target sends back (RTCP feedback): dropped unless a subclass takes it."""

    def send(self, data):
        self.socket.sendto(data, self.target)

    def close(self):
        self.running = False
        self.thread.join()
        self.socket.close()


def probe(path):
    """ffprobe's streams and format of a file, as dicts."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    return data["streams"], data["format"]


def top_level_boxes(path):
    """The types of an MP4 file's top-level boxes, in order ("ftyp", "moov", "mdat", ...)."""
    boxes = []
    with open(path, "rb") as f:
        while header := f.read(8):
            assert len(header) == 8, f"a truncated box header in {path}"
            size, kind = int.from_bytes(header[:4], "big"), header[4:].decode("latin-1")
            if size == 1:
                size = int.from_bytes(f.read(8), "big") - 8
            elif size == 0:
                boxes.append(kind)
                break
            boxes.append(kind)
            f.seek(size - 8, 1)
    return boxes


def assert_index_in_front(path):
    """A finished, plain MP4: its index (moov) before its media (mdat), and no fragments (moof)."""
    boxes = top_level_boxes(path)
    assert "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"), boxes
    assert "moof" not in boxes, boxes


def flash_times(path, fps=30):
    """Seconds at which the picture turns white (onset of each flash), decoded by ffmpeg."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-vf", f"fps={fps},scale=32:18",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18 * 32).mean(axis=1)
    bright = frames > 128
    return [i / fps for i in range(len(bright)) if bright[i] and (i == 0 or not bright[i - 1])], frames


def beep_times(path, rate=8000, channel=None):
    """Seconds at which the 1 kHz beep starts, decoded by ffmpeg (in one channel: "FL" or "FR")."""
    mono = ["-af", f"pan=mono|c0={channel}"] if channel else ["-ac", "1"]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", *mono, "-ar", str(rate),
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(raw, dtype=np.float32)
    window = rate // 200  # 5 ms
    energy = np.sqrt(np.mean(samples[: len(samples) // window * window].reshape(-1, window) ** 2, axis=1))
    loud = energy > 0.05
    return [i * window / rate for i in range(len(loud)) if loud[i] and (i == 0 or not loud[i - 1])], energy


def dominant_frequency(path, rate=8000):
    """The strongest frequency in Hz of the first audio stream (mono), decoded by ffmpeg."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate),
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(raw, dtype=np.float32)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def av_offset(path):
    """Median (flash onset - nearest beep onset) in seconds, with the onsets found."""
    flashes, _ = flash_times(path)
    beeps, _ = beep_times(path)
    pairs = []
    for f in flashes:
        if beeps:
            b = min(beeps, key=lambda b: abs(b - f))
            if abs(b - f) < 0.5:
                pairs.append(f - b)
    return (float(np.median(pairs)) if pairs else None), flashes, beeps
