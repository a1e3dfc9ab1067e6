"""gRPC over HTTP/2 as real clients see it: grpcio for the call semantics, raw frames where
the server's side has to be observed directly."""
import concurrent.futures
import gzip
import time

import grpc

import tokens
from conftest import Server
import pytest

from h2frames import H2Client, RawConnection, grpc_message, grpc_status

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"
LIST_EGRESS = "/livekit.Egress/ListEgress"


def raw_unary(channel, path):
    return channel.unary_unary(path, request_serializer=None, response_deserializer=None)


def status(response):
    trailers = dict(response["trailers"] or response["headers"] or [])
    return int(trailers.get("grpc-status", -1)), trailers.get("grpc-message", "")


# --- Routing --------------------------------------------------------------------------------

def test_unknown_service_and_method_are_unimplemented(server):
    channel = server.channel()
    for path, message in [("/livekit.Nope/ListEgress", "unknown service livekit.Nope"),
                          ("/livekit.Egress/Nope", "unknown method Nope for service livekit.Egress")]:
        with pytest.raises(grpc.RpcError) as caught:
            raw_unary(channel, path)(b"", timeout=10)
        assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.UNIMPLEMENTED, message)


# --- Messages -------------------------------------------------------------------------------

def test_a_malformed_message_is_internal_with_a_clear_message(server):
    with pytest.raises(grpc.RpcError) as caught:
        raw_unary(server.channel(), LIST_EGRESS)(b"\x0a\x0a\x41", timeout=10)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "the request is not a valid livekit.ListEgressRequest: " \
                                     "the bytes are not a valid livekit.ListEgressRequest message"


def test_a_message_over_4_mib_is_resource_exhausted_and_one_at_the_limit_passes(server, stubs):
    e = stubs.egress
    channel = server.channel(**{"grpc.max_send_message_length": 64 << 20})
    api = stubs.egress_grpc.EgressStub(channel)
    overhead = len(e.ListEgressRequest(room_name="x" * (4 << 20)).SerializeToString()) - (4 << 20)
    at_limit = e.ListEgressRequest(room_name="x" * ((4 << 20) - overhead))
    assert at_limit.ByteSize() == 4 << 20
    assert list(api.ListEgress(at_limit, timeout=30).items) == []
    over = e.ListEgressRequest(room_name="x" * ((4 << 20) - overhead + 1))
    assert over.ByteSize() == (4 << 20) + 1
    with pytest.raises(grpc.RpcError) as caught:
        api.ListEgress(over, timeout=30)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert caught.value.details() == f"received message larger than max ({(4 << 20) + 1} vs. {4 << 20})"
    assert server.alive()
    assert list(api.ListEgress(e.ListEgressRequest(room_name="after"), timeout=10).items) == []


def test_gzip_compressed_requests_are_decompressed(server, stubs):
    channel = tokens.signed(grpc.insecure_channel(server.address, compression=grpc.Compression.Gzip))
    api = stubs.egress_grpc.EgressStub(channel)
    request = stubs.egress.ParticipantEgressRequest(room_name="gz" * 500, identity="alice",
                                                    file_outputs=[stubs.egress.EncodedFileOutput(filepath="gz.mp4")])
    info = api.StartParticipantEgress(request, timeout=10)
    assert info.participant == request


def test_a_gzip_bomb_is_stopped_at_the_receive_limit(server):
    client = H2Client(server.port)
    bomb = gzip.compress(b"\x0a" + b"\x00" * (64 << 20))  # 64 MiB of zeros, 64 KiB compressed
    state = client.call(LIST_EGRESS, grpc_message(bomb, compressed=True), extra_headers=[("grpc-encoding", "gzip")])
    code, message = grpc_status(state)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert message == f"decompressed message is larger than the limit of {4 << 20} bytes"
    client.close()


def test_unsupported_grpc_encoding_is_unimplemented_and_advertises_what_is_accepted(server):
    conn = RawConnection(server.port)
    conn.request(1, HEALTH_CHECK, grpc_message(b"", compressed=True), extra_headers=[("grpc-encoding", "br")])
    response = conn.response(1)
    assert status(response)[0] == grpc.StatusCode.UNIMPLEMENTED.value[0]
    assert dict(response["headers"])["grpc-accept-encoding"] == "identity,gzip,deflate"
    conn.close()


def test_successful_responses_carry_headers_message_and_trailers(server):
    conn = RawConnection(server.port)
    conn.request(1, HEALTH_CHECK, grpc_message(b""))
    response = conn.response(1)
    headers = dict(response["headers"])
    assert headers[":status"] == "200" and headers["content-type"] == "application/grpc"
    assert response["data"] == grpc_message(b"\x08\x01")  # HealthCheckResponse{status: SERVING}
    assert dict(response["trailers"])["grpc-status"] == "0"
    conn.close()


def test_errors_before_any_message_are_trailers_only_with_percent_encoded_message(server):
    conn = RawConnection(server.port)
    conn.request(1, "/grpc.health.v1.Health/Check", grpc_message(b"\x0a\x05caf\xc3\xa9"))  # service "café"
    response = conn.response(1)
    assert response["trailers"] is None, "an early error is a single HEADERS frame"
    headers = dict(response["headers"])
    assert headers["grpc-status"] == str(grpc.StatusCode.NOT_FOUND.value[0])
    assert headers["grpc-message"] == "unknown service caf%C3%A9"
    conn.close()


# --- Metadata -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def interop_server():
    """A server that echoes the interop suites' metadata, as it does only when asked."""
    s = Server("--grpc-interop-echo")
    yield s
    s.stop()


def test_interop_metadata_is_not_echoed_unless_asked(server, stubs):
    health = stubs.health_grpc.HealthStub(server.channel())
    _, call = health.Check.with_call(
        stubs.health.HealthCheckRequest(), timeout=10,
        metadata=[("x-grpc-test-echo-initial", "hello"), ("x-grpc-test-echo-trailing-bin", b"\x01")])
    assert not [key for key, _ in call.initial_metadata() if key.startswith("x-grpc-test-echo")]
    assert not [key for key, _ in call.trailing_metadata() if key.startswith("x-grpc-test-echo")]


def test_text_and_binary_metadata_are_echoed_in_headers_and_trailers(interop_server, stubs):
    server = interop_server
    health = stubs.health_grpc.HealthStub(server.channel())
    binary = bytes(range(256))
    response, call = health.Check.with_call(
        stubs.health.HealthCheckRequest(), timeout=10,
        metadata=[("x-grpc-test-echo-initial", "hello"), ("x-grpc-test-echo-trailing-bin", binary), ("x-user", "u1")])
    assert response.status == stubs.health.HealthCheckResponse.SERVING
    assert ("x-grpc-test-echo-initial", "hello") in call.initial_metadata()
    assert ("x-grpc-test-echo-trailing-bin", binary) in call.trailing_metadata()


def test_metadata_is_echoed_on_errors_too(interop_server, stubs):
    health = stubs.health_grpc.HealthStub(interop_server.channel())
    with pytest.raises(grpc.RpcError) as caught:
        health.Check(stubs.health.HealthCheckRequest(service="nope"), timeout=10,
                     metadata=[("x-grpc-test-echo-trailing-bin", b"\x00\xff")])
    assert ("x-grpc-test-echo-trailing-bin", b"\x00\xff") in caught.value.trailing_metadata()


def test_invalid_base64_binary_metadata_is_invalid_argument(server):
    conn = RawConnection(server.port)
    conn.request(1, HEALTH_CHECK, grpc_message(b""), extra_headers=[("x-data-bin", "not base64!")])
    code, message = status(conn.response(1))
    assert code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and message == "metadata x-data-bin is not valid base64"
    conn.close()


# --- Deadlines and cancellation -------------------------------------------------------------

def test_the_server_ends_a_call_at_its_grpc_timeout(server):
    """The client sends grpc-timeout and keeps no timer of its own: only the server's deadline can
    end the watch (which otherwise runs until the client leaves)."""
    conn = RawConnection(server.port)
    started = time.monotonic()
    conn.request(1, HEALTH_WATCH, grpc_message(b""), extra_headers=[("grpc-timeout", "300m")])
    response = conn.response(1, timeout=10)
    elapsed = time.monotonic() - started
    assert response["data"] == grpc_message(b"\x08\x01"), "the watch sent SERVING first"
    assert status(response) == (grpc.StatusCode.DEADLINE_EXCEEDED.value[0], "deadline exceeded")
    assert 0.25 <= elapsed < 3
    conn.close()


def test_a_malformed_grpc_timeout_is_rejected(server):
    conn = RawConnection(server.port)
    conn.request(1, HEALTH_CHECK, grpc_message(b""), extra_headers=[("grpc-timeout", "soon")])
    assert status(conn.response(1)) == (grpc.StatusCode.INVALID_ARGUMENT.value[0], "malformed grpc-timeout 'soon'")
    conn.close()


def test_the_longest_grpc_timeout_is_accepted(server):
    conn = RawConnection(server.port)
    conn.request(1, HEALTH_CHECK, grpc_message(b""), extra_headers=[("grpc-timeout", "99999999H")])  # 11,000 years
    assert status(conn.response(1)) == (0, "")
    conn.close()
    assert server.alive()


def test_client_cancellation_cancels_the_handler(fresh_server, stubs):
    server = fresh_server("--log-level", "debug")
    watch = stubs.health_grpc.HealthStub(server.channel()).Watch(stubs.health.HealthCheckRequest(), timeout=30)
    assert next(watch).status == stubs.health.HealthCheckResponse.SERVING
    watch.cancel()
    deadline = time.monotonic() + 5
    while "call cancelled by the client" not in server.log_text():
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.05)
    assert "path=/grpc.health.v1.Health/Watch" in server.log_text()
    assert "reason=CANCEL" in server.log_text()


# --- Concurrency ----------------------------------------------------------------------------

def test_1000_concurrent_calls_on_one_channel(server, stubs):
    api = stubs.egress_grpc.EgressStub(server.channel())
    e = stubs.egress
    started = api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="concurrent", identity="nobody", file_outputs=[e.EncodedFileOutput(filepath="concurrent.mp4")]), timeout=10)
    request = e.ListEgressRequest(room_name="concurrent")
    futures = [api.ListEgress.future(request, timeout=60) for _ in range(1000)]
    assert all([i.egress_id for i in f.result().items] == [started.egress_id] for f in futures)
    api.StopEgress(e.StopEgressRequest(egress_id=started.egress_id), timeout=10)


def test_1000_concurrent_calls_on_50_channels(server, stubs):
    channels = [server.channel(**{"grpc.use_local_subchannel_pool": 1}) for _ in range(50)]
    stubs_ = [stubs.health_grpc.HealthStub(c) for c in channels]
    futures = [stubs_[i % 50].Check.future(stubs.health.HealthCheckRequest(), timeout=60) for i in range(1000)]
    assert [f.result().status for f in futures] == [stubs.health.HealthCheckResponse.SERVING] * 1000
    for c in channels:
        c.close()


def test_start_and_stop_from_many_threads_keep_state_consistent(server, stubs):
    api = stubs.egress_grpc.EgressStub(server.channel())
    e = stubs.egress

    def one(i):
        info = api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="threads", identity=f"p{i}",
                                                                     file_outputs=[e.EncodedFileOutput()]), timeout=30)
        api.StopEgress(e.StopEgressRequest(egress_id=info.egress_id), timeout=30)
        return info.egress_id

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        ids = set(pool.map(one, range(90)))
    assert len(ids) == 90
    deadline = time.monotonic() + 10
    while True:
        items = api.ListEgress(e.ListEgressRequest(room_name="threads"), timeout=10).items
        if {i.egress_id for i in items if i.status == e.EGRESS_ABORTED} == ids:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_large_response_reaches_grpcio_across_many_flow_control_windows(fresh_server, stubs):
    server = fresh_server("--max-live-egresses", "100")
    api = stubs.egress_grpc.EgressStub(server.channel())
    e = stubs.egress
    for _ in range(100):
        api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="large", identity="x" * 20000,
                                                              file_outputs=[e.EncodedFileOutput()]), timeout=10)
    for _ in range(3):
        response = api.ListEgress(e.ListEgressRequest(room_name="large"), timeout=10)
        assert len(response.items) == 100 and response.ByteSize() > 2_000_000


def test_a_busy_client_on_one_connection_is_not_taken_for_a_flood(server):
    """grpcio sends a WINDOW_UPDATE or two with every call: tens of thousands of calls on one
    channel are that many control frames, earned by the requests, not a flood to cut off."""
    import asyncio

    async def run():
        errors, done = [], 0
        async with grpc.aio.insecure_channel(server.address) as channel:
            check = channel.unary_unary("/grpc.health.v1.Health/Check")

            async def worker():
                nonlocal done
                for _ in range(40_000 // 64):
                    try:
                        await check(b"", timeout=30)
                        done += 1
                    except grpc.RpcError as error:
                        errors.append(error.code())
            await asyncio.gather(*(worker() for _ in range(64)))
        return done, errors

    done, errors = asyncio.run(run())
    assert errors == [] and done == 40_000 // 64 * 64
    assert "ENHANCE_YOUR_CALM" not in server.log_text()
