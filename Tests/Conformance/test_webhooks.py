"""Webhooks as LiveKit's ecosystem receives them: a real local HTTP endpoint collects what the
server POSTs, and livekit-api's own WebhookReceiver verifies each event (signature, sha256 of
the body) and parses it. Egresses are started with livekit-api over Twirp."""
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from livekit import api
from livekit.protocol import models

from webhook_endpoint import Endpoint, endpoint  # noqa: F401 (a fixture)

HERE = Path(__file__).resolve().parent
LONG_SECRET = "a-secret-that-is-long-enough-for-hs256-0123456789"


def call(server, body, key="devkey", secret="secret"):
    async def run():
        lk = api.LiveKitAPI(f"http://127.0.0.1:{server.port}", key, secret)
        try:
            return await body(lk)
        finally:
            await lk.aclose()
    return asyncio.run(run())


def receive(events, key="devkey", secret="secret"):
    """Each event verified and parsed by LiveKit's WebhookReceiver."""
    receiver = api.WebhookReceiver(api.TokenVerifier(key, secret))
    return [receiver.receive(body, headers["Authorization"]) for headers, body, _ in events]


def participant(room, identity, **kwargs):
    return api.ParticipantEgressRequest(room_name=room, identity=identity,
                                        file_outputs=[api.EncodedFileOutput(filepath="hooks/{room_name}.mp4")], **kwargs)


def test_started_updated_and_ended_events_verify_with_livekits_receiver(fresh_server, endpoint):
    hook = endpoint()
    server = fresh_server("--webhook-url", hook.url)
    info = call(server, lambda lk: lk.egress.start_participant_egress(participant("hooks", "nobody")))
    call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    raw = hook.wait_for(3)
    events = receive(raw)
    assert [(e.event, e.egress_info.status) for e in events] == [
        ("egress_started", api.EGRESS_STARTING), ("egress_updated", api.EGRESS_ENDING), ("egress_ended", api.EGRESS_ABORTED)]
    assert all(e.egress_info.egress_id == info.egress_id and e.egress_info.room_name == "hooks" for e in events)
    assert all(e.id.startswith("EV_") for e in events) and len({e.id for e in events}) == 3
    assert all(abs(e.created_at - time.time()) < 30 for e in events)
    headers, body, _ = raw[0]
    assert headers["Content-Type"] == "application/webhook+json"
    assert not headers["Authorization"].startswith("Bearer")  # the bare JWT, as LiveKit sends it
    document = json.loads(body)
    assert document["event"] == "egress_started" and "egressInfo" in document and "createdAt" in document  # camelCase
    assert "numDropped" not in document and "error" not in document["egressInfo"]  # defaults left out
    # A tampered body fails LiveKit's check.
    with pytest.raises(Exception, match="hash mismatch"):
        api.WebhookReceiver(api.TokenVerifier("devkey", "secret")).receive(body.replace("hooks", "hookz"), headers["Authorization"])


def test_a_failed_participant_wait_ends_with_the_error(fresh_server, endpoint):
    hook = endpoint()
    server = fresh_server("--webhook-url", hook.url, "--participant-wait-timeout", "1")
    info = call(server, lambda lk: lk.egress.start_participant_egress(participant("hooks", "ghost")))
    events = receive(hook.wait_for(2))
    assert [e.event for e in events] == ["egress_started", "egress_ended"]
    ended = events[1].egress_info
    assert (ended.egress_id, ended.status, ended.error) == (info.egress_id, api.EGRESS_FAILED, "participant ghost not found")


def test_a_requests_webhook_is_signed_with_its_own_key(fresh_server, endpoint):
    server_hook, request_hook = endpoint(), endpoint()
    server = fresh_server("--keys", f"devkey: secret, other: {LONG_SECRET}", "--webhook-url", server_hook.url, dev=False)
    request = participant("own-key", "nobody", webhooks=[api.WebhookConfig(url=request_hook.url, signing_key="other")])
    info = call(server, lambda lk: lk.egress.start_participant_egress(request))
    call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    mine = receive(request_hook.wait_for(3), key="other", secret=LONG_SECRET)
    assert [e.event for e in mine] == ["egress_started", "egress_updated", "egress_ended"]
    with pytest.raises(jwt.InvalidSignatureError):
        receive(request_hook.events[:1], key="other", secret="secret")  # signed with other's secret, not devkey's
    assert [e.event for e in receive(server_hook.wait_for(3))] == ["egress_started", "egress_updated", "egress_ended"]


def test_a_webhook_naming_an_unknown_key_is_refused_and_nothing_starts(fresh_server, endpoint):
    hook = endpoint()
    server = fresh_server("--webhook-url", hook.url)
    request = participant("refused", "x", webhooks=[api.WebhookConfig(url="http://127.0.0.1:1/h", signing_key="nokey")])
    with pytest.raises(api.TwirpError) as caught:
        call(server, lambda lk: lk.egress.start_participant_egress(request))
    assert (caught.value.code, caught.value.status) == ("invalid_argument", 400)
    assert "webhooks[0].signing_key" in caught.value.message
    bad_url = participant("refused", "x", webhooks=[api.WebhookConfig(url="ftp://example/h")])
    with pytest.raises(api.TwirpError, match="webhooks\\[0\\].url"):
        call(server, lambda lk: lk.egress.start_participant_egress(bad_url))
    assert list(call(server, lambda lk: lk.egress.list_egress(api.ListEgressRequest())).items) == []
    time.sleep(0.5)
    assert hook.events == []


def test_deliveries_are_retried_with_backoff_and_stay_in_order(fresh_server, endpoint):
    hook = endpoint(failures=2)  # 503, 503, then 200: retried after 1 s and 2 s
    server = fresh_server("--webhook-url", hook.url)
    started = time.monotonic()
    info = call(server, lambda lk: lk.egress.start_participant_egress(participant("retry", "nobody")))
    call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    events = hook.wait_for(3)
    assert hook.attempts == 5
    assert 2.5 < events[0][2] - started < 6
    assert [e.event for e in receive(events)] == ["egress_started", "egress_updated", "egress_ended"]


def test_an_unreachable_endpoint_never_holds_up_the_api(fresh_server):
    server = fresh_server("--webhook-url", "http://127.0.0.1:1/nobody-listens")
    started = time.monotonic()
    for i in range(5):
        info = call(server, lambda lk: lk.egress.start_participant_egress(participant(f"unreachable-{i}", "nobody")))
        call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    assert time.monotonic() - started < 5
    # A stop is answered ENDING; the last one may still be ending when listed at once.
    deadline = time.monotonic() + 5
    while True:
        statuses = [e.status for e in call(server, lambda lk: lk.egress.list_egress(api.ListEgressRequest())).items]
        if statuses == [api.EGRESS_ABORTED] * 5 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert statuses == [api.EGRESS_ABORTED] * 5


def test_a_requests_filter_params_choose_its_events(fresh_server, endpoint):
    only_ended, no_updates = endpoint(), endpoint()
    server = fresh_server()
    request = participant("filtered", "nobody", webhooks=[
        api.WebhookConfig(url=only_ended.url, filter_params=models.FilterParams(include_events=["egress_ended"])),
        api.WebhookConfig(url=no_updates.url, filter_params=models.FilterParams(exclude_events=["egress_updated"])),
    ])
    info = call(server, lambda lk: lk.egress.start_participant_egress(request))
    call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    assert [e.event for e in receive(only_ended.wait_for(1))] == ["egress_ended"]
    assert [e.event for e in receive(no_updates.wait_for(2))] == ["egress_started", "egress_ended"]
    time.sleep(0.5)
    assert (len(only_ended.events), len(no_updates.events)) == (1, 2)


def test_sigterm_delivers_the_last_events_before_the_server_exits(fresh_server, endpoint):
    hook = endpoint()
    server = fresh_server("--webhook-url", hook.url)
    info = call(server, lambda lk: lk.egress.start_participant_egress(participant("shutdown", "nobody")))
    hook.wait_for(1)
    hook.failures = 1  # the next event's first attempt gets a 503: it goes out on the retry, 1 s later
    assert server.terminate() == 0
    events = receive(hook.events)  # no waiting: what arrived before the process ended
    assert [e.event for e in events][-1] == "egress_ended"
    assert events[-1].egress_info.egress_id == info.egress_id and hook.attempts == len(events) + 1
    assert "delivered=" in server.log_text() and "undelivered_at_exit=false" in server.log_text()


def test_a_recording_reports_active_ending_and_complete_with_its_file(fresh_server, endpoint):
    hook = endpoint()
    server = fresh_server("--webhook-url", hook.url)
    publisher = subprocess.Popen([sys.executable, str(HERE / "publish.py"), server.address, str(server.rtp_port), "live", "erin", "30"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        json.loads(publisher.stdout.readline())  # published
        info = call(server, lambda lk: lk.egress.start_participant_egress(participant("live", "erin")))
        hook.wait_for(2)  # started, then ACTIVE once media flows
        time.sleep(2)
        call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
        events = receive(hook.wait_for(4))
    finally:
        publisher.stdin.close()
        publisher.wait(timeout=20)
    assert [(e.event, e.egress_info.status) for e in events] == [
        ("egress_started", api.EGRESS_STARTING), ("egress_updated", api.EGRESS_ACTIVE),
        ("egress_updated", api.EGRESS_ENDING), ("egress_ended", api.EGRESS_COMPLETE)]
    [result] = events[-1].egress_info.file_results
    assert result.filename.endswith("hooks/live.mp4") and result.size > 0 and result.duration > 1_000_000_000


def test_webhook_urls_and_key_from_the_environment(fresh_server, endpoint):
    first, second = endpoint(), endpoint()
    server = fresh_server("--keys", f"devkey: secret, other: {LONG_SECRET}", dev=False,
                          env={"EGRESS_WEBHOOK_URLS": f"{first.url},{second.url}", "EGRESS_WEBHOOK_KEY": "other"})
    info = call(server, lambda lk: lk.egress.start_participant_egress(participant("env-hooks", "nobody")))
    call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    for hook in (first, second):
        events = receive(hook.wait_for(3), key="other", secret=LONG_SECRET)
        assert [(e.event, e.egress_info.egress_id) for e in events] == [
            ("egress_started", info.egress_id), ("egress_updated", info.egress_id), ("egress_ended", info.egress_id)]


def test_events_dropped_from_a_full_queue_are_counted_in_the_next_event(fresh_server, endpoint):
    """An endpoint that holds its first delivery: the queue (256) overflows, the oldest waiting
    events are dropped, and the first event sent after them says how many (numDropped)."""
    hook = endpoint(held=True)
    server = fresh_server("--webhook-url", hook.url)
    for i in range(100):  # 300 events: started, updated (ending) and ended of each
        info = call(server, lambda lk: lk.egress.start_participant_egress(participant("dropped", f"p{i}")))
        call(server, lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    # Every egress_ended is sent once its recording has stopped, a little after StopEgress
    # answers: release the endpoint only when all 300 events are queued or dropped.
    deadline = time.monotonic() + 20
    while server.log_text().count("webhook queue full") < 300 - 1 - 256:
        assert time.monotonic() < deadline, "the queue did not overflow by the expected 43 events"
        time.sleep(0.05)
    hook.release()
    events = hook.wait_for(1 + 256)
    time.sleep(0.5)
    documents = [json.loads(body) for _, body, _ in events]
    assert len(documents) == 1 + 256  # the held one and a full queue; the rest were dropped
    assert documents[0].get("numDropped") is None
    assert documents[1]["numDropped"] == 300 - 1 - 256
    assert all(d.get("numDropped") is None for d in documents[2:])
    assert documents[-1]["event"] == "egress_ended"  # the newest kept, the oldest waiting dropped
