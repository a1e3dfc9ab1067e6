"""Counts an attacker would push: stream URLs on one egress (each call used to hold the store's
lock longer as the list grew), and the same URL list sent again and again."""
import time

import grpc
import pytest


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def streaming_egress(api, stubs, urls=()):
    e = stubs.egress
    return api.StartParticipantEgress(e.ParticipantEgressRequest(
        room_name="limits", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="limits.mp4")],
        stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=list(urls))]), timeout=10)


def rpc_error(call, request):
    with pytest.raises(grpc.RpcError) as error:
        call(request, timeout=10)
    return error.value.code(), error.value.details()


def active_urls(api, stubs, egress_id):
    [info] = api.ListEgress(stubs.egress.ListEgressRequest(egress_id=egress_id), timeout=10).items
    return [s.url for s in info.stream_results if s.status == stubs.egress.StreamInfo.ACTIVE]


def test_a_request_with_more_than_20_stream_urls_is_refused(api, stubs):
    code, message = rpc_error(api.StartParticipantEgress, stubs.egress.ParticipantEgressRequest(
        room_name="limits", identity="alice",
        stream_outputs=[stubs.egress.StreamOutput(protocol=stubs.egress.RTMP, urls=[f"rtmp://h/live/k{i}" for i in range(21)])]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == "request has missing or invalid field: stream url (21 URLs; at most 20 are allowed)"
    assert api.ListEgress(stubs.egress.ListEgressRequest(room_name="limits"), timeout=10).items == []


def test_update_stream_keeps_an_egress_at_20_urls_and_a_refusal_changes_nothing(api, stubs):
    e = stubs.egress
    egress = streaming_egress(api, stubs)
    first = [f"rtmp://h/live/a{i}" for i in range(15)]
    api.UpdateStream(e.UpdateStreamRequest(egress_id=egress.egress_id, add_output_urls=first), timeout=10)
    # 15 + 6 = 21: refused whole, not 5 of the 6 taken.
    code, message = rpc_error(api.UpdateStream, e.UpdateStreamRequest(
        egress_id=egress.egress_id, add_output_urls=[f"rtmp://h/live/b{i}" for i in range(6)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == f"egress {egress.egress_id} would stream to 21 URLs; at most 20 are allowed"
    assert len(active_urls(api, stubs, egress.egress_id)) == 15
    # Removing some makes room in the same call.
    info = api.UpdateStream(e.UpdateStreamRequest(egress_id=egress.egress_id, remove_output_urls=first[:3],
                                                  add_output_urls=[f"rtmp://h/live/b{i}" for i in range(8)]), timeout=10)
    assert len([s for s in info.stream_results if s.status == e.StreamInfo.ACTIVE]) == 20
    # A refused remove (an URL not streamed to) changes nothing either.
    code, _ = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id=egress.egress_id, remove_output_urls=["rtmp://h/live/b0", "rtmp://nowhere/x/y"]))
    assert code == grpc.StatusCode.NOT_FOUND
    assert len(active_urls(api, stubs, egress.egress_id)) == 20


def test_twelve_thousand_urls_are_refused_without_holding_anyone_up(api, stubs, server):
    e = stubs.egress
    egress = streaming_egress(api, stubs)
    urls = [f"rtmp://h/l/{i}" for i in range(12_000)]
    started = time.monotonic()
    code, message = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id=egress.egress_id, add_output_urls=urls))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "at most 20" in message
    assert time.monotonic() - started < 2
    assert active_urls(api, stubs, egress.egress_id) == []


def test_adding_and_removing_forever_keeps_a_bounded_history(api, stubs):
    e = stubs.egress
    egress = streaming_egress(api, stubs)
    for i in range(60):
        url = f"rtmp://h/live/cycle{i}"
        api.UpdateStream(e.UpdateStreamRequest(egress_id=egress.egress_id, add_output_urls=[url, url + "x"]), timeout=10)
        api.UpdateStream(e.UpdateStreamRequest(egress_id=egress.egress_id, remove_output_urls=[url, url + "x"]), timeout=10)
    [info] = api.ListEgress(e.ListEgressRequest(egress_id=egress.egress_id), timeout=10).items
    assert len(info.stream_results) == 100
    # The newest are the ones kept.
    assert info.stream_results[-1].url.startswith("rtmp://h/live/")


def test_a_small_body_that_decodes_into_much_is_refused_before_it_is_decoded(fresh_server, stubs):
    """`[{},{},…]` is 3 bytes an output in JSON (2 in protobuf) and hundreds once decoded. A token
    without roomRecord (a participant's) is refused on its grant, and a Start* request over the
    egress limit on its size, both before the body is decoded: such bodies, four at once, leave
    the server's peak memory where it was (they once took it to almost 1 GB)."""
    import json
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import tokens

    server = fresh_server()
    e = stubs.egress
    json_body = b'{"room_name":"r","identity":"a","file_outputs":[' + b",".join([b"{}"] * 1_390_000) + b"]}"
    message = e.ParticipantEgressRequest(room_name="r", identity="a", file_outputs=[e.EncodedFileOutput()] * 1_500_000)
    assert len(json_body) < 4 << 20 and message.ByteSize() < 4 << 20

    def twirp(token):
        request = urllib.request.Request(f"http://127.0.0.1:{server.port}/twirp/livekit.Egress/StartParticipantEgress", data=json_body,
                                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        return 200, None

    def grpc_call(token):
        stub = stubs.egress_grpc.EgressStub(server.raw_channel())
        with pytest.raises(grpc.RpcError) as refused:
            stub.StartParticipantEgress(message, metadata=[("authorization", f"Bearer {token}")], timeout=30)
        return refused.value.code(), refused.value.details()

    def peak_kib():
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])

    before = peak_kib()
    participant = tokens.token(roomJoin=True, room="r", identity="a")
    recorder = tokens.token(roomRecord=True)
    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(grpc_call, participant), pool.submit(grpc_call, recorder),
                 pool.submit(twirp, recorder), pool.submit(twirp, recorder)]
        answers = [call.result() for call in calls]
    assert answers[0] == (grpc.StatusCode.PERMISSION_DENIED, "permission denied: the token has no roomRecord grant")
    assert answers[1] == (grpc.StatusCode.INVALID_ARGUMENT,
                          f"request of {message.ByteSize()} bytes is larger than the 32768 bytes an egress request may have")
    for status, error in answers[2:]:
        assert (status, error) == (400, {"code": "invalid_argument",
                                         "msg": f"request of {len(json_body)} bytes is larger than the 32768 bytes an egress request may have"})
    growth = (peak_kib() - before) / 1024
    print(f"MEASURE peak memory growth {growth:.0f} MiB for four such bodies")
    assert growth < 64, f"the server's peak memory grew by {growth:.0f} MiB"
