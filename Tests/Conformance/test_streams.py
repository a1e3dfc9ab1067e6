"""Live streams (`stream_outputs`): a participant streamed over RTMP to nginx with Debian's RTMP
module and over SRT to an ffmpeg listener, from the same encode as its file; the stream pulled
back and checked (flashes and beeps in sync); nginx killed and restarted mid-stream (the egress
reconnects and counts it, the file goes on); UpdateStream adding and removing URLs, checked on
the RTMP server's side; what is refused at the request."""
import subprocess
import time

import grpc
import pytest

from media import Publisher, assert_index_in_front, av_offset, flash_times, probe
from stream_servers import PausingProxy, RTMPServer, SRTListener
from test_recording import stop_and_finish, wait_for


@pytest.fixture
def api(server, stubs):
    stub = stubs.egress_grpc.EgressStub(server.channel())
    stub.server = server
    return stub


@pytest.fixture
def rtmp():
    server = RTMPServer()
    yield server
    server.stop()


def info_of(api, stubs, egress_id):
    return api.ListEgress(stubs.egress.ListEgressRequest(egress_id=egress_id), timeout=10).items[0]


def until(what, condition, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.1)


def stream_participant(api, stubs, room, urls, protocol=None, file=None, noise=False):
    """Starts alice publishing in `room` and a participant egress of her to `urls` (and to the
    file `file`); returns (publisher, egress id)."""
    e = stubs.egress
    alice = Publisher(api.server, stubs, room, "alice")
    alice.send(*alice.camera_and_microphone(), noise=noise)
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name=room, identity="alice", preset=e.H264_720P_30,
            file_outputs=[e.EncodedFileOutput(filepath=file)] if file else [],
            stream_outputs=[e.StreamOutput(protocol=protocol or e.RTMP, urls=urls)]), timeout=10)
    except Exception:
        alice.leave()
        raise
    return alice, started


def growing(path, seconds=1.5):
    """Whether `path` grows within `seconds`."""
    before = path.stat().st_size
    time.sleep(seconds)
    return path.stat().st_size > before


def test_a_file_and_two_rtmp_streams_from_one_encode(server, stubs, api, rtmp, tmp_path):
    e = stubs.egress
    alice = Publisher(server, stubs, "r-rtmp", "alice")
    alice.send(*alice.camera_and_microphone())
    urls = [rtmp.url("first-secret"), rtmp.url("second-secret")]
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-rtmp", identity="alice", preset=e.H264_720P_30,
            file_outputs=[e.EncodedFileOutput(filepath="rtmp/{room_name}.mp4")],
            stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=urls)]), timeout=10)
        # Listed from the start, keys redacted, each with its id.
        assert [s.url for s in started.stream_results] == [u.replace("first-secret", "{stream_key}").replace("second-secret", "{stream_key}") for u in urls]
        assert all(s.id.startswith("ST_") and s.status == e.StreamInfo.ACTIVE for s in started.stream_results)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        # Pulled back from the RTMP server while it is live, as a viewer would.
        pulled = tmp_path / "pulled.flv"
        until("stream on the server", lambda: rtmp.recorded("first-secret"))
        pull = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", urls[0], "-t", "8", "-c", "copy", str(pulled)],
                              capture_output=True, text=True, timeout=60)
        assert pull.returncode == 0, pull.stderr
        during = info_of(api, stubs, started.egress_id)
        assert all(s.started_at > 0 and s.status == e.StreamInfo.ACTIVE for s in during.stream_results), during.stream_results
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()

    kinds = {s["codec_type"]: s for s in probe(pulled)[0]}
    assert (kinds["video"]["codec_name"], kinds["video"]["width"], kinds["video"]["height"]) == ("h264", 1280, 720)
    assert kinds["audio"]["codec_name"] == "aac"
    offset, flashes, beeps = av_offset(pulled)
    assert offset is not None and abs(offset) <= 0.1, (offset, flashes, beeps)
    assert len(flashes) >= 6, flashes
    # Both streams reached the server, and ended FINISHED with their time.
    for key in ("first-secret", "second-secret"):
        [recorded] = rtmp.recorded(key)
        assert float(probe(recorded)[1]["duration"]) > 5
    assert [s.status for s in info.stream_results] == [e.StreamInfo.FINISHED] * 2, info.stream_results
    for stream in info.stream_results:
        assert stream.ended_at > stream.started_at > 0 and stream.duration > 5e9 and stream.retries == 0
        assert "secret" not in stream.url
    [file] = info.file_results
    file_offset, _, _ = av_offset(file.location)
    assert file_offset is not None and abs(file_offset) <= 0.1
    assert_index_in_front(file.location)
    assert "first-secret" not in server.log_text() and "second-secret" not in server.log_text()


def test_the_stream_reconnects_after_its_server_restarts(server, stubs, api, rtmp):
    e = stubs.egress
    alice, started = stream_participant(api, stubs, "r-rtmp-restart", [rtmp.url("k")], file="restart/{room_name}.mp4")
    try:
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        [first] = until("stream on the server", lambda: rtmp.recorded("k"))
        until("the stream growing", lambda: growing(first))
        active_at = time.monotonic()
        rtmp.kill()
        time.sleep(2)
        rtmp.start()
        second = until("a second publish", lambda: rtmp.recorded("k")[1:], timeout=30)[0]
        until("the second stream growing", lambda: growing(second))
        during = info_of(api, stubs, started.egress_id)
        [stream] = during.stream_results
        assert stream.status == e.StreamInfo.ACTIVE and stream.retries >= 1 and stream.last_retry_at > stream.started_at, stream
        assert during.status == e.EGRESS_ACTIVE
        time.sleep(2)
        info = stop_and_finish(api, stubs, started.egress_id)
        wall = time.monotonic() - active_at
    finally:
        alice.leave()
    [stream] = info.stream_results
    assert stream.status == e.StreamInfo.FINISHED and stream.retries >= 1
    # The file did not notice: continuous, in sync, as long as the recording.
    [file] = info.file_results
    assert file.duration / 1e9 > wall
    offset, flashes, _ = av_offset(file.location)
    assert offset is not None and abs(offset) <= 0.1
    gaps = [b - a for a, b in zip(flashes, flashes[1:])]
    assert max(gaps) < 1.5, flashes


def test_a_server_that_stops_reading_is_cut_off_and_the_file_goes_on(server, stubs, api, rtmp):
    """The RTMP server hangs (a proxy in front of it stops reading): the stream's writes block,
    the connection is cut off and made again (counted in `retries`) once the server reads again;
    meanwhile the file is written as if nothing happened."""
    e = stubs.egress
    proxy = PausingProxy(rtmp.port)
    # A grainy picture: about 3 Mb/s, so that the socket buffers fill in seconds.
    alice, started = stream_participant(api, stubs, "r-rtmp-stall", [f"rtmp://127.0.0.1:{proxy.port}/live/stall"],
                                        file="stall/{room_name}.mp4", noise=True)
    try:
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        active_at = time.monotonic()
        [first] = until("stream on the server", lambda: rtmp.recorded("stall"))
        until("the stream growing", lambda: growing(first))
        proxy.paused.set()
        cut = until("the stuck connection cut off", lambda: info_of(api, stubs, started.egress_id).stream_results[0].retries >= 1, timeout=40)
        proxy.paused.clear()
        until("a new connection streaming", lambda: len(rtmp.recorded("stall")) >= 2 and growing(rtmp.recorded("stall")[-1]), timeout=40)
        during = info_of(api, stubs, started.egress_id)
        api.StopEgress(e.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        wall = time.monotonic() - active_at
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE)
    finally:
        proxy.close()
        alice.leave()
    assert cut and during.status == e.EGRESS_ACTIVE and during.stream_results[0].status == e.StreamInfo.ACTIVE
    assert "stopped taking data" in during.stream_results[0].error, during.stream_results
    [file] = info.file_results
    assert abs(file.duration / 1e9 - wall) < 1.0, (file.duration, wall)
    flashes, _ = flash_times(file.location)
    gaps = [b - a for a, b in zip(flashes, flashes[1:])]
    assert len(flashes) >= wall - 2 and max(gaps) < 1.5, flashes


def test_update_stream_adds_and_removes_urls_while_recording(server, stubs, api, rtmp):
    e = stubs.egress
    alice, started = stream_participant(api, stubs, "r-rtmp-update", [rtmp.url("one")])
    try:
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        [one] = until("the first stream", lambda: rtmp.recorded("one"))
        updated = api.UpdateStream(e.UpdateStreamRequest(egress_id=started.egress_id, add_output_urls=[rtmp.url("two")]), timeout=10)
        assert [s.status for s in updated.stream_results] == [e.StreamInfo.ACTIVE] * 2
        [two] = until("the added stream", lambda: rtmp.recorded("two"))
        until("the added stream growing", lambda: growing(two))
        # Removing the first: it stops on the server, the second goes on.
        removed = api.UpdateStream(e.UpdateStreamRequest(egress_id=started.egress_id, remove_output_urls=[rtmp.url("one")]), timeout=10)
        assert [s.status for s in removed.stream_results] == [e.StreamInfo.FINISHED, e.StreamInfo.ACTIVE]
        time.sleep(1)
        assert not growing(one) and growing(two)
        # The removed one stays removed in later reports, and cannot be removed twice.
        time.sleep(2.5)
        later = info_of(api, stubs, started.egress_id)
        assert [s.status for s in later.stream_results] == [e.StreamInfo.FINISHED, e.StreamInfo.ACTIVE], later.stream_results
        with pytest.raises(grpc.RpcError) as twice:
            api.UpdateStream(e.UpdateStreamRequest(egress_id=started.egress_id, remove_output_urls=[rtmp.url("one")]), timeout=10)
        assert twice.value.code() == grpc.StatusCode.NOT_FOUND and "not found" in twice.value.details() and "one" not in twice.value.details()
        # Removing the last output ends the egress.
        api.UpdateStream(e.UpdateStreamRequest(egress_id=started.egress_id, remove_output_urls=[rtmp.url("two")]), timeout=10)
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE)
    finally:
        alice.leave()
    assert [s.status for s in info.stream_results] == [e.StreamInfo.FINISHED] * 2
    for key in ("one", "two"):
        [recorded] = rtmp.recorded(key)
        kinds = {s["codec_type"]: s["codec_name"] for s in probe(recorded)[0]}
        assert kinds == {"video": "h264", "audio": "aac"}


def test_srt_to_an_ffmpeg_listener(server, stubs, api, tmp_path):
    e = stubs.egress
    received = tmp_path / "srt.ts"
    listener = SRTListener(received, seconds=8)
    alice, started = stream_participant(api, stubs, "r-srt", [listener.url], protocol=e.SRT)
    try:
        errors = listener.wait(timeout=40)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        listener.stop()
        alice.leave()
    assert received.exists() and float(probe(received)[1]["duration"]) > 6, errors
    kinds = {s["codec_type"]: s["codec_name"] for s in probe(received)[0]}
    assert kinds == {"video": "h264", "audio": "aac"}
    offset, flashes, beeps = av_offset(received)
    assert offset is not None and abs(offset) <= 0.1, (offset, flashes, beeps)
    assert len(flashes) >= 5
    [stream] = info.stream_results
    assert stream.url == listener.url and stream.started_at > 0


def test_a_stream_whose_server_never_answers_fails_alone(server, stubs, api, rtmp):
    """Two URLs, one nobody listens on: that one is FAILED at once with the error (it never
    streamed, as with a wrong URL or key: nothing to retry); the other streams on and the egress
    is COMPLETE. With only the dead URL, the egress FAILS (503, as LiveKit's)."""
    e = stubs.egress
    dead = "rtmp://127.0.0.1:9/live/nobody"
    alice = Publisher(server, stubs, "r-rtmp-dead", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        both = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-rtmp-dead", identity="alice", preset=e.H264_720P_30,
            stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=[dead, rtmp.url("alive")])]), timeout=10)
        alone = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-rtmp-dead", identity="alice", preset=e.H264_720P_30,
            stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=[dead])]), timeout=10)
        failed = wait_for(api, stubs, alone.egress_id, e.EGRESS_FAILED, timeout=15)
        going = info_of(api, stubs, both.egress_id)
        info = stop_and_finish(api, stubs, both.egress_id)
    finally:
        alice.leave()
    [stream] = failed.stream_results
    assert stream.status == e.StreamInfo.FAILED and stream.retries == 0 and "Connection refused" in stream.error, stream
    assert "Connection refused" in failed.error and failed.error_code == 503
    assert going.status == e.EGRESS_ACTIVE
    dead_one, alive = info.stream_results
    assert dead_one.status == e.StreamInfo.FAILED and alive.status == e.StreamInfo.FINISHED
    assert "output failed: stream" in info.details
    assert rtmp.recorded("alive")


@pytest.mark.parametrize("request_fields, field", [
    ({"preset": "PASSTHROUGH"}, "stream_outputs"),
])
def test_what_a_stream_cannot_go_with_is_refused(server, stubs, api, rtmp, request_fields, field):
    e = stubs.egress
    before = api.ListEgress(e.ListEgressRequest(), timeout=10).items
    request = e.ParticipantEgressRequest(room_name="r-refused", identity="x",
                                         stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=[rtmp.url("k")])])
    if request_fields.get("preset") == "PASSTHROUGH":
        request.preset = e.PASSTHROUGH
    with pytest.raises(grpc.RpcError) as refused:
        api.StartParticipantEgress(request, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in refused.value.details(), refused.value.details()
    assert api.ListEgress(e.ListEgressRequest(), timeout=10).items == before
