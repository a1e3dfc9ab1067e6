"""A Track egress to a WebSocket (`websocket_url`): a server written with the `websockets` library
receives the microphone as raw PCM (s16le, 48 kHz, stereo) in 10 ms binary messages, finds its
beeps a second apart, gets `{"muted":true}`/`{"muted":false}` around a mute (silence between), and
a normal close at the end; a server that closes first ends the egress; bad URLs are refused."""
import asyncio
import threading
import time

import grpc
import numpy as np
import pytest
import websockets

from media import Publisher
from test_recording import stop_and_finish, wait_for


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


class Receiver:
    """A WebSocket server on 127.0.0.1 (its own event loop in a thread) that keeps what it gets;
    with `close_after` it closes the connection itself after that many seconds."""

    def __init__(self, close_after=None, reads=True):
        self.binary, self.texts, self.headers, self.close_code = [], [], None, None
        self.close_after, self.reads = close_after, reads
        self.connected = threading.Event()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)

        async def handler(connection):
            self.headers = connection.request.headers
            self.connected.set()
            if not self.reads:  # takes the handshake, then nothing more
                await asyncio.sleep(3600)
            started = time.monotonic()
            try:
                async for message in connection:
                    if isinstance(message, bytes):
                        self.binary.append(message)
                    else:
                        self.texts.append((time.monotonic(), message))
                    if self.close_after and time.monotonic() - started > self.close_after:
                        await connection.close(1000, "enough")
                        break
            finally:
                self.close_code = connection.close_code

        async def main():
            # A queue of one message: a handler that does not read stops the reading of the socket.
            self.server = await websockets.serve(handler, "127.0.0.1", 0, max_queue=1)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            await self.server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass

    def url(self, path="/transcribe?lang=en"):
        return f"ws://127.0.0.1:{self.port}{path}"

    def pcm(self):
        samples = np.frombuffer(b"".join(self.binary), dtype="<i2").reshape(-1, 2)
        return samples.astype(np.float64) / 32768

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)


def onsets(pcm, rate=48000):
    """Times (s) at which the sound starts after silence, in 10 ms windows."""
    windows = pcm[: len(pcm) // 480 * 480, 0].reshape(-1, 480)
    loud = np.sqrt((windows ** 2).mean(axis=1)) > 0.05
    return [i * 0.01 for i in range(1, len(loud)) if loud[i] and not loud[i - 1]], loud


def test_the_microphone_as_pcm_with_mute_messages(server, stubs, api):
    e = stubs.egress
    receiver = Receiver()
    alice = Publisher(server, stubs, "r-ws", "alice")
    audio = alice.publish("audio")
    alice.send(audio)
    try:
        started = api.StartTrackEgress(e.TrackEgressRequest(room_name="r-ws", track_id=audio.sid, websocket_url=receiver.url()), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(4)
        alice.mute(audio)
        muted_at = time.monotonic()
        time.sleep(3)
        alice.mute(audio, muted=False)
        time.sleep(4)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
        time.sleep(0.5)
        receiver.stop()
    assert receiver.headers["Content-Type"] == "audio/x-raw"
    # The query (where a token would go) is sent to the server, and not echoed.
    assert started.track.websocket_url == receiver.url("/transcribe?lang={lang}")
    assert {len(m) for m in receiver.binary} == {1920}  # 10 ms of s16le stereo at 48 kHz
    pcm = receiver.pcm()
    # As long as the egress was recording (11 s), at the recording's pace.
    seconds = len(pcm) / 48000
    assert 10.5 < seconds < 13, seconds
    # The mute messages, in order, around the mute.
    assert [t for _, t in receiver.texts] == ['{"muted":true}', '{"muted":false}'], receiver.texts
    assert 2 < receiver.texts[1][0] - receiver.texts[0][0] < 4
    assert abs(receiver.texts[0][0] - muted_at) < 1.5
    # Beeps one second apart while unmuted; silence while muted.
    beeps, _ = onsets(pcm)
    gaps = np.diff(beeps)
    assert len(beeps) >= 7, beeps
    assert sum(abs(g - 1.0) < 0.05 for g in gaps) >= len(gaps) - 2, gaps  # the mute leaves one longer gap
    assert any(2.5 < g < 4.5 for g in gaps), gaps
    assert receiver.close_code == 1000
    assert info.status == e.EGRESS_COMPLETE


def test_a_server_that_closes_ends_the_egress(server, stubs, api):
    e = stubs.egress
    receiver = Receiver(close_after=2)
    alice = Publisher(server, stubs, "r-ws-close", "alice")
    audio = alice.publish("audio")
    alice.send(audio)
    try:
        started = api.StartTrackEgress(e.TrackEgressRequest(room_name="r-ws-close", track_id=audio.sid, websocket_url=receiver.url("/")), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE, e.EGRESS_FAILED, timeout=20)
    finally:
        alice.leave()
        receiver.stop()
    assert info.status == e.EGRESS_COMPLETE and "WebSocket server closed" in info.details, info
    assert 1.5 < len(receiver.pcm()) / 48000 < 4


def test_a_server_that_is_not_there_fails_the_egress(server, stubs, api):
    e = stubs.egress
    alice = Publisher(server, stubs, "r-ws-none", "alice")
    audio = alice.publish("audio")
    alice.send(audio)
    try:
        started = api.StartTrackEgress(e.TrackEgressRequest(room_name="r-ws-none", track_id=audio.sid, websocket_url="ws://127.0.0.1:9/x"), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_FAILED, timeout=20)
    finally:
        alice.leave()
    assert "127.0.0.1:9" in info.error and info.error_code == 503, info


@pytest.mark.parametrize("url", ["ws://", "ws://host:0/x", "http://host/x", "ws://h/" + "x" * 3000])
def test_bad_websocket_urls_are_refused(server, stubs, api, url):
    e = stubs.egress
    with pytest.raises(grpc.RpcError) as refused:
        api.StartTrackEgress(e.TrackEgressRequest(room_name="r", track_id="TR_x", websocket_url=url), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "websocket_url" in refused.value.details()


def test_a_server_that_stops_reading_is_cut_off_without_the_memory_growing(server, stubs, api):
    """The server takes the handshake and then reads nothing: what waits to be sent is bounded
    (1 MiB beyond the socket's buffers), then the connection is closed and the egress FAILS
    saying why; the server's memory does not grow with what it could not send."""
    e = stubs.egress
    receiver = Receiver(reads=False)
    alice = Publisher(server, stubs, "r-ws-stall", "alice")
    audio = alice.publish("audio")
    alice.send(audio)
    try:
        before = server.rss_kib()
        started = api.StartTrackEgress(e.TrackEgressRequest(room_name="r-ws-stall", track_id=audio.sid, websocket_url=receiver.url()), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_FAILED, timeout=90)
        growth = (server.rss_kib() - before) / 1024
    finally:
        alice.leave()
        receiver.stop()
    assert receiver.connected.is_set()
    assert "not reading" in info.error and info.error_code == 503, info
    assert growth < 20, growth


def test_a_participants_mix_to_websocket_stream_outputs(server, stubs, api):
    """`stream_outputs` over WEBSOCKET on a Participant egress: the mix as the same PCM, beside an
    OGG file from the same decode; the mute messages; UpdateStream adds a second WebSocket and
    removes the first (closed normally), each listed in `stream_results`."""
    e = stubs.egress
    first, second = Receiver(), Receiver()
    alice = Publisher(server, stubs, "r-ws-mix", "alice")
    audio = alice.publish("audio")
    alice.send(audio)
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-ws-mix", identity="alice",
            file_outputs=[e.EncodedFileOutput(file_type=e.OGG, filepath="wsmix/{room_name}")],
            stream_outputs=[e.StreamOutput(protocol=e.WEBSOCKET, urls=[first.url("/a?token=t1")])]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(3)
        alice.mute(audio)
        time.sleep(2)
        alice.mute(audio, muted=False)
        api.UpdateStream(e.UpdateStreamRequest(egress_id=started.egress_id, add_output_urls=[second.url("/b")]), timeout=10)
        time.sleep(3)
        api.UpdateStream(e.UpdateStreamRequest(egress_id=started.egress_id, remove_output_urls=[first.url("/a?token=t1")]), timeout=10)
        time.sleep(3)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
        time.sleep(0.5)
        first.stop()
        second.stop()
    assert info.status == e.EGRESS_COMPLETE, (info.error, info.details)
    assert {len(m) for m in first.binary} == {1920} and first.headers["Content-Type"] == "audio/x-raw"
    assert [t for _, t in first.texts] == ['{"muted":true}', '{"muted":false}'], first.texts
    assert first.close_code == 1000 and second.close_code == 1000
    beeps, _ = onsets(first.pcm())
    gaps = np.diff(beeps)
    assert len(beeps) >= 5 and sum(abs(g - 1.0) < 0.05 for g in gaps) >= len(gaps) - 2, gaps
    # The second got the mix from when it was added: about the last 6 s.
    later = len(second.pcm()) / 48000
    assert 4.5 < later < 8, later
    beeps, _ = onsets(second.pcm())
    assert len(beeps) >= 4, beeps
    # The token in the query is not echoed.
    assert "token=t1" not in str(info) and info.participant.stream_outputs[0].urls == [first.url("/a?token={token}")]
    urls = {s.url: s for s in info.stream_results}
    assert urls[first.url("/a?token={token}")].status == e.StreamInfo.FINISHED
    assert urls[second.url("/b")].status == e.StreamInfo.FINISHED
    [file] = info.file_results
    assert file.filename == "wsmix/r-ws-mix.ogg" and file.size > 0


def test_a_websocket_stream_of_a_composite_with_video_is_refused(server, stubs, api):
    e = stubs.egress
    with pytest.raises(grpc.RpcError) as refused:
        api.StartTrackCompositeEgress(e.TrackCompositeEgressRequest(
            room_name="r-ws-video", audio_track_id="TR_a", video_track_id="TR_v",
            stream_outputs=[e.StreamOutput(protocol=e.WEBSOCKET, urls=["ws://127.0.0.1:9/x"])]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "websocket" in refused.value.details(), refused.value.details()
