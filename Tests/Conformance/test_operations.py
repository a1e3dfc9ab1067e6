"""Operating the server: the HTTP health check a load balancer polls (200 while serving, 503
from SIGTERM on while live egresses finish), and admission by CPU cost (a start that does not
fit is refused with RESOURCE_EXHAUSTED and LiveKit's words, and fits again once an egress ends)."""
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request

import grpc
import pytest

from conftest import Server
from webhook_endpoint import endpoint  # noqa: F401 (a fixture)
from test_recording import wait_for


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port):
    """(status code, JSON body) of GET / on the health port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def start_waiting(api, stubs, room="ops"):
    """A Participant egress for someone who has not joined: live (STARTING) until stopped."""
    e = stubs.egress
    return api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name=room, identity="nobody", file_outputs=[e.EncodedFileOutput(filepath="ops/")]), timeout=10)


def test_health_is_200_while_serving_and_503_while_draining(fresh_server, stubs):
    port = free_port()
    server = fresh_server("--health-port", str(port), "--participant-wait-timeout", "60", "--drain-delay", "1")
    status, body = health(port)
    assert status == 200 and body["status"] == "serving" and body["draining"] is False
    assert body["live_egresses"] == 0 and body["CpuLoad"] >= 0
    api = stubs.egress_grpc.EgressStub(server.channel())
    start_waiting(api, stubs)
    assert health(port)[1]["live_egresses"] == 1
    # Any path, GET only.
    assert health(port)[0] == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"x", method="POST"), timeout=5)
    assert refused.value.code == 405

    server.process.send_signal(signal.SIGTERM)
    # During the drain delay the API still answers, but takes no new egress.
    deadline = time.monotonic() + 5
    while health(port)[0] == 200:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    with pytest.raises(grpc.RpcError) as refused:
        start_waiting(api, stubs)
    assert (refused.value.code(), refused.value.details()) == (grpc.StatusCode.UNAVAILABLE, "server is shutting down")
    seen = []
    deadline = time.monotonic() + 20
    while server.alive() and time.monotonic() < deadline:
        try:
            seen.append(health(port))
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            break
        time.sleep(0.005)
    assert server.process.wait(timeout=20) == 0
    draining = [body for status, body in seen if status == 503]
    assert draining, f"no 503 while the server drained: {seen}"
    assert draining[0]["status"] == "draining" and draining[0]["draining"] is True
    # Once it said 503 it never said 200 again.
    statuses = [status for status, _ in seen]
    assert 200 not in statuses[statuses.index(503):]
    log = server.log_text()
    assert log.index("health check listening") < log.index("GOAWAY sent")


def test_admission_by_cpu_cost_refuses_what_does_not_fit(fresh_server, stubs):
    cores = os.cpu_count()
    capacity = cores * 0.5
    cost = capacity / 2.5  # two fit, a third does not
    port = free_port()
    server = fresh_server("--max-cpu-utilization", "0.5", "--participant-cpu-cost", f"{cost:.4f}", "--health-port", str(port),
                          "--participant-wait-timeout", "60")
    api = stubs.egress_grpc.EgressStub(server.channel())
    first = start_waiting(api, stubs)
    second = start_waiting(api, stubs)
    # What is free: the capacity less the two costs (or less, when the machine measures busier).
    assert health(port)[1]["available_cpu"] <= capacity - 2 * cost + 0.011
    with pytest.raises(grpc.RpcError) as refused:
        start_waiting(api, stubs)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.details().startswith("not enough CPU: this egress needs")
    # Nothing was made of the refused start.
    listed = api.ListEgress(stubs.egress.ListEgressRequest(), timeout=10).items
    assert sorted(i.egress_id for i in listed) == sorted([first.egress_id, second.egress_id])
    # Once one ends, a participant fits again.
    api.StopEgress(stubs.egress.StopEgressRequest(egress_id=first.egress_id), timeout=10)
    wait_for(api, stubs, first.egress_id, stubs.egress.EGRESS_ABORTED)
    start_waiting(api, stubs)


@pytest.mark.parametrize("flag,value", [("--max-cpu-utilization", "1.5"), ("--max-cpu-utilization", "nan"),
                                        ("--participant-cpu-cost", "-1"), ("--track-cpu-cost", "inf"), ("--health-port", "70000")])
def test_bad_operations_settings_are_refused_naming_the_flag(flag, value):
    with pytest.raises(RuntimeError) as refused:
        Server(flag, value)
    assert flag in str(refused.value)


def test_json_logs_are_one_object_per_line_with_the_same_fields(fresh_server, stubs):
    server = fresh_server(env={"EGRESS_LOG_FORMAT": "json"})
    api = stubs.egress_grpc.EgressStub(server.channel())
    started = start_waiting(api, stubs, room="json-logs")
    deadline = time.monotonic() + 10
    while "egress starting" not in server.log_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    entries = [json.loads(line) for line in server.log_text().splitlines() if line.strip()]
    assert all({"time", "level", "label", "source", "message"} <= entry.keys() for entry in entries)
    assert all(entry["time"].endswith("Z") and entry["level"] in ("trace", "debug", "info", "notice", "warning", "error", "critical")
               for entry in entries)
    [starting] = [entry for entry in entries if entry["message"] == "egress starting"]
    assert starting["egress_id"] == started.egress_id and starting["room"] == "json-logs" and starting["level"] == "info"
    assert any(entry["message"] == "egress-server listening" and entry["address"] for entry in entries)


def test_an_unknown_log_format_is_refused():
    with pytest.raises(RuntimeError) as refused:
        Server("--log-format", "xml")
    assert "--log-format" in str(refused.value)


def scrape(port):
    """Every sample of GET /metrics, parsed by prometheus_client's own parser, by (name, labels)."""
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_prometheus_metrics_count_what_was_done(fresh_server, stubs, endpoint):
    from media import Publisher
    import tokens
    hook = endpoint()
    port = free_port()
    server = fresh_server("--prometheus-port", str(port), "--health-port", str(port), "--max-live-egresses", "2",
                          "--participant-wait-timeout", "60", "--webhook-url", hook.url)
    assert health(port)[0] == 200  # the health check on the same port, at /
    api = stubs.egress_grpc.EgressStub(server.channel())
    for _ in range(3):
        api.ListEgress(stubs.egress.ListEgressRequest(), timeout=10)
    twirp = urllib.request.Request(f"http://127.0.0.1:{server.port}/twirp/livekit.Egress/ListEgress", data=b"{}", method="POST",
                                   headers={"Content-Type": "application/json", "Authorization": "Bearer " + tokens.token(roomRecord=True)})
    urllib.request.urlopen(twirp, timeout=10).read()
    with pytest.raises(grpc.RpcError):
        stubs.egress_grpc.EgressStub(server.raw_channel()).ListEgress(stubs.egress.ListEgressRequest(), timeout=10)
    first, _ = start_waiting(api, stubs), start_waiting(api, stubs)
    with pytest.raises(grpc.RpcError) as refused:
        start_waiting(api, stubs)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    api.StopEgress(stubs.egress.StopEgressRequest(egress_id=first.egress_id), timeout=10)
    wait_for(api, stubs, first.egress_id, stubs.egress.EGRESS_ABORTED)
    alice = Publisher(server, stubs, "metrics-room", "alice")
    alice.send(alice.publish("audio"), seconds=2)
    hook.wait_for(4)
    time.sleep(2.5)

    m = scrape(port)
    rpc = lambda transport, method, code: m.get(("egress_rpc_requests_total", (("code", code), ("method", method), ("transport", transport))), 0)
    assert rpc("grpc", "livekit.Egress/ListEgress", "OK") >= 3  # (and the polls of wait_for)
    assert rpc("twirp", "livekit.Egress/ListEgress", "OK") == 1
    assert rpc("grpc", "livekit.Egress/ListEgress", "UNAUTHENTICATED") == 1
    assert rpc("grpc", "livekit.Egress/StartParticipantEgress", "OK") == 2
    assert rpc("grpc", "livekit.Egress/StartParticipantEgress", "RESOURCE_EXHAUSTED") == 1
    timed = m[("egress_rpc_duration_seconds_count", (("method", "livekit.Egress/StartParticipantEgress"), ("transport", "grpc")))]
    assert timed == 3
    assert m[("egress_started_total", (("type", "participant"),))] == 2
    assert m[("egress_refused_total", (("reason", "max_live_egresses"),))] == 1
    assert m[("egress_ended_total", (("status", "EGRESS_ABORTED"), ("type", "participant")))] == 1
    assert m[("livekit_egress_requests", (("type", "participant"),))] == 1 and m[("egress_live", ())] == 1
    assert m[("egress_webhook_deliveries_total", (("result", "delivered"),))] == len(hook.events) >= 4
    assert m[("egress_ingest_packets", (("room", "metrics-room"),))] > 50  # 2 s of 20 ms Opus packets
    assert m[("process_resident_memory_bytes", ())] > 10 << 20 and m[("process_open_fds", ())] > 5
    assert m[("process_cpu_seconds_total", ())] > 0
    assert m[("egress_draining", ())] == 0 and m[("livekit_egress_available", ())] >= 0


def test_output_and_upload_metrics_count_what_was_written(fresh_server, stubs):
    """One egress with a file (uploaded to S3), HLS segments, thumbnails and a live stream nobody
    receives: bytes by output kind as the outputs on disk and in the bucket add up, the dead
    stream as a failure, the upload as a success of the file's size."""
    from media import Publisher
    from s3_server import S3Server
    from test_recording import record_for
    s3 = S3Server()
    port = free_port()
    server = fresh_server("--prometheus-port", str(port))
    e = stubs.egress
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "out-metrics", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="out-metrics", identity="alice",
            file_outputs=[e.EncodedFileOutput(filepath="m/a.mp4", s3=s3.upload(stubs))],
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="m/hls/s", segment_duration=1)],
            image_outputs=[e.ImageOutput(capture_interval=1, width=320, height=180, filename_prefix="m/img/i")],
            stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=["rtmp://127.0.0.1:9/live/nobody"])]), timeout=10)
        info, _ = record_for(api, stubs, started.egress_id, 3)
        stored = s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]  # the file and its manifest
    finally:
        alice.leave()
        s3.stop()
    [file] = info.file_results
    m = scrape(port)
    written = lambda kind: m.get(("egress_output_bytes_total", (("kind", kind),)), 0)
    failed = lambda kind: m.get(("egress_output_failures_total", (("kind", kind),)), 0)
    # The encoded media handed to each output: the file's payload (all of it but the container's
    # own bytes), and the very same packets to the segments (MPEG-TS adds much more around them).
    assert 0.7 * file.size < written("file") <= file.size, (written("file"), file.size)
    segments = sum(p.stat().st_size for p in (server.output_dir / "m/hls").glob("*.ts"))
    assert written("segments") == written("file") < segments
    images = sum(p.stat().st_size for p in (server.output_dir / "m/img").glob("*.jpeg"))
    assert images > 0 and written("images") == images
    assert written("stream") == 0 and failed("stream") == 1
    assert failed("file") == failed("segments") == failed("images") == 0
    assert file.size in [o["Size"] for o in stored] and len(stored) == 2
    assert m[("egress_uploads_total", (("result", "succeeded"),))] == 2
    assert m[("egress_upload_bytes_total", ())] == sum(o["Size"] for o in stored)
