"""A WHIP client on aiortc (its own ICE, DTLS and SRTP): publishes a file's picture and sound
to the server's /whip endpoint, as OBS or a WHIP tool would."""
import asyncio
import random
import re
import subprocess
import threading
import urllib.parse
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription, RTCRtpSender
from aiortc.contrib.media import MediaPlayer

from media import BEEP, FLASH, UDPRelay


def make_pattern(path, seconds=30, size="640x360"):
    """A file of the flash/beep pattern (a white flash and a 1 kHz beep every second, together)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x505050:s={size}:r=30,{FLASH}",
                    "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000,{BEEP}", "-t", str(seconds),
                    "-c:v", "mjpeg", "-q:v", "3", "-c:a", "pcm_s16le", "-ac", "2", str(path)], check=True)
    return path


def post(url, token, offer, content_type="application/sdp", method="POST"):
    """One HTTP request: (status, headers, body text)."""
    request = urllib.request.Request(url, data=offer.encode() if offer is not None else None, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class WHIPPublisher:
    """Publishes `media_file` (video and/or audio) over WHIP in a thread of its own until `stop`."""

    def __init__(self, base_url, token, media_file, video_codec="VP8", audio=True, video=True, path="/whip", relay=None,
                 edit_offer=None, decode=True, loop=False):
        """With `relay` (a LossyRelay), the answer's candidate is replaced by the relay's port; with
        `edit_offer`, the offer is changed before it is sent; with `decode=False`, the file's
        packets are sent as they are (VP8 or H.264, no encoding)."""
        self.base_url, self.token, self.media_file = base_url, token, media_file
        self.video_codec, self.audio, self.video, self.path, self.relay = video_codec, audio, video, path, relay
        self.edit_offer = edit_offer or (lambda sdp: sdp)
        self.player_options = {"decode": decode, "loop": loop}
        self.location = None
        self.answer = None
        self.status = None
        self.error = None
        self.connected = threading.Event()
        self.finished = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout=20):
        self.thread.start()
        if not self.connected.wait(timeout):
            raise RuntimeError(f"WHIP publish did not connect: status {self.status}, {self.error}")
        return self

    def _run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._publish())
        except Exception as error:  # reported through `error`
            self.error = error
            self.connected.set()
        finally:
            self.finished.set()

    async def _publish(self):
        self.pc = RTCPeerConnection()
        self.player = MediaPlayer(str(self.media_file), **self.player_options)
        if self.video:
            transceiver = self.pc.addTransceiver(self.player.video, direction="sendonly")
            codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == f"video/{self.video_codec}"]
            transceiver.setCodecPreferences(codecs)
        if self.audio:
            self.pc.addTransceiver(self.player.audio, direction="sendonly")
        state = asyncio.Event()

        @self.pc.on("connectionstatechange")
        def changed():
            if self.pc.connectionState in ("connected", "failed", "closed"):
                state.set()

        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.offer = self.edit_offer(self.pc.localDescription.sdp)
        status, headers, body = await asyncio.get_running_loop().run_in_executor(
            None, post, self.base_url + self.path, self.token, self.offer)
        self.status = status
        if status != 201:
            raise RuntimeError(f"WHIP POST answered {status}: {body}")
        self.location = headers.get("Location") or headers.get("location")
        self.answer = body
        if self.relay:
            body = re.sub(r"(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )(\d+)", lambda m: m.group(1) + str(self.relay.port), body)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        await asyncio.wait_for(state.wait(), 15)
        if self.pc.connectionState != "connected":
            raise RuntimeError(f"WebRTC connection {self.pc.connectionState}")
        self.connected.set()
        self.stopping = asyncio.Event()
        await self.stopping.wait()
        await self.pc.close()
        self.player.video and self.player.video.stop()

    def ssrc(self, kind):
        """The SSRC aiortc sends `kind` ("video"/"audio") with."""
        return next(s._ssrc for s in self.pc.getSenders() if s.kind == kind)

    def set_sending(self, kind, sending):
        """Stops (or resumes) sending `kind` without leaving: the sender's track replaced by none."""
        sender = next(s for s in self.pc.getSenders() if s.kind == kind)
        track = getattr(self.player, kind) if sending else None
        self.loop.call_soon_threadsafe(sender.replaceTrack, track)

    def stop(self, delete=True):
        """Ends the session: DELETE on its resource (as a WHIP client leaves), then closes."""
        result = None
        if delete and self.location:
            # Relative to the endpoint, or (a room hosted by another node of a cluster) absolute.
            url = urllib.parse.urljoin(self.base_url + self.path, self.location)
            result = post(url, self.token, None, content_type=None, method="DELETE")
        if hasattr(self, "stopping"):
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.finished.wait(10)
        return result


class LossyRelay(UDPRelay):
    """A UDP relay between a WebRTC client and the server's port, both ways, that drops `loss`
    of the client's SRTP packets (never STUN, DTLS or RTCP)."""

    def __init__(self, server_port, loss=0.03, seed=7):
        self.loss, self.random = loss, random.Random(seed)
        self.client = None
        self.dropped = self.forwarded = 0
        super().__init__(server_port)

    def returned(self, data):
        if self.client:
            self.socket.sendto(data, self.client)

    def forward(self, data):
        self.client = self.source
        is_srtp = 128 <= data[0] <= 191 and not 192 <= data[1] <= 223
        if is_srtp and self.random.random() < self.loss:
            self.dropped += 1
            return
        self.forwarded += 1
        self.send(data)
