"""WebRTC publishers over WHIP (RFC 9725): aiortc, an independent WebRTC stack (its own ICE,
DTLS and SRTP), publishes the flash/beep pattern to /whip; participant egresses record it and
the files are checked as for RTP publishers. Then what an attacker would try: no or wrong
tokens, bad offers, another's session, spoofed RTP and SRTP, forged STUN, packet loss."""
import re
import socket
import struct
import time

import pytest

import tokens
import whip
from media import flash_times
from test_recording import (assert_black_between, assert_pattern_in_sync, assert_published_picture_between, participant_egress,
                            record_for, streams_by_type)


@pytest.fixture(scope="module")
def pattern(tmp_path_factory):
    return whip.make_pattern(tmp_path_factory.mktemp("whip") / "pattern.mkv", seconds=40)


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


@pytest.fixture
def rooms(server, stubs):
    return stubs.room_grpc.RoomServiceStub(server.channel())


def publisher_token(room, identity, **grant):
    return tokens.token(identity=identity, roomJoin=True, room=room, **grant)


def publish(server, pattern, room, identity, **options):
    return whip.WHIPPublisher(f"http://{server.address}", publisher_token(room, identity), pattern, **options).start()


def stats(server, stubs, room=""):
    ingest = stubs.ingest_grpc.RoomIngestStub(server.channel())
    return ingest.GetIngestStats(stubs.ingest.GetIngestStatsRequest(room=room), timeout=10)


def wait_until(condition, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def participants(rooms, stubs, room):
    listed = rooms.ListRooms(stubs.room.ListRoomsRequest(names=[room]), timeout=10).rooms
    if not listed:
        return []
    return [p.identity for p in rooms.ListParticipants(stubs.room.ListParticipantsRequest(room=room), timeout=10).participants]


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_a_whip_publisher_is_recorded_by_a_participant_egress(server, stubs, api, rooms, pattern, codec):
    room = f"whip-{codec.lower()}"
    alice = publish(server, pattern, room, "alice", video_codec=codec)
    try:
        assert alice.status == 201 and alice.location.startswith("/whip/sessions/WH_")
        assert "a=ice-lite" in alice.answer and "a=setup:passive" in alice.answer and "a=fingerprint:sha-256 " in alice.answer
        [p] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room=room), timeout=10).participants
        wait_until(lambda: len(rooms.ListParticipants(stubs.room.ListParticipantsRequest(room=room), timeout=10).participants[0].tracks) == 2,
                   "both tracks")
        [p] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room=room), timeout=10).participants
        sources = sorted(stubs.models.TrackSource.Name(t.source) for t in p.tracks)
        mimes = sorted(t.mime_type for t in p.tracks)
        assert sources == ["CAMERA", "MICROPHONE"] and mimes == sorted(["audio/opus", f"video/{codec}"])
        started = participant_egress(api, stubs, room, "alice", "{room_name}-{publisher_identity}", preset=stubs.egress.H264_720P_30)
        info, wall = record_for(api, stubs, started.egress_id, 8)
        track_stats = stats(server, stubs, room).tracks
    finally:
        alice.stop()
    assert {t.transport for t in track_stats} == {"webrtc"}
    [video_stats] = [t for t in track_stats if t.key_frame_requests > 0]
    assert video_stats.frames > 100
    [result] = info.file_results
    streams, fmt = streams_by_type(result.location)
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert abs(float(fmt["duration"]) - wall) < 1.0, (fmt["duration"], wall)
    # The flashes and beeps of the publisher's file: a second apart, together, to the end (the
    # picture moves: a frozen one would have no flashes).
    assert_pattern_in_sync(result.location, wall)


def offer_of(server, pattern):
    """A real offer (aiortc's), made without sending it."""
    import asyncio
    from aiortc import RTCPeerConnection
    from aiortc.contrib.media import MediaPlayer

    async def make():
        pc = RTCPeerConnection()
        player = MediaPlayer(str(pattern))
        pc.addTransceiver(player.video, direction="sendonly")
        pc.addTransceiver(player.audio, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp
    return asyncio.run(make())


def test_refused_offers_say_why_and_nothing_joins(server, stubs, rooms, pattern):
    offer = offer_of(server, pattern)
    url = f"http://{server.address}/whip"
    cases = [
        ("no token", url, None, "application/sdp", offer, 401, "authorization"),
        ("expired", url, tokens.token(identity="bob", roomJoin=True, room="w-r", exp=int(time.time()) - 3600), "application/sdp", offer, 401, "expired"),
        ("wrong secret", url, tokens.token(secret="not-the-secret", identity="bob", roomJoin=True, room="w-r"), "application/sdp", offer, 401, "signature"),
        ("other room", url + "/elsewhere", publisher_token("w-r", "bob"), "application/sdp", offer, 403, "not \"elsewhere\""),
        ("no roomJoin", url, tokens.token(identity="bob", roomRecord=True, room="w-r"), "application/sdp", offer, 403, "roomJoin"),
        ("canPublish false", url, publisher_token("w-r", "bob", canPublish=False), "application/sdp", offer, 403, "canPublish"),
        ("no identity", url, tokens.token(roomJoin=True, room="w-r"), "application/sdp", offer, 403, "identity"),
        ("not SDP", url, publisher_token("w-r", "bob"), "application/json", offer, 415, "application/sdp"),
        ("garbage", url, publisher_token("w-r", "bob"), "application/sdp", "hello", 400, "line 1 is not of the form"),
        ("data channel only", url, publisher_token("w-r", "bob"), "application/sdp",
         "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n", 400, "no audio or video"),
        ("no fingerprint", url, publisher_token("w-r", "bob"), "application/sdp",
         "\r\n".join(line for line in offer.split("\r\n") if not line.startswith("a=fingerprint")), 400, "fingerprint"),
        ("no usable codec", url, publisher_token("w-r", "bob"), "application/sdp",
         offer.replace("opus/48000", "G722/48000").replace("VP8/90000", "AV1/90000").replace("H264/90000", "H265/90000"), 400, "no media section offers a codec"),
    ]
    for what, target, token, content_type, body, status, words in cases:
        code, headers, text = whip.post(target, token, body, content_type=content_type)
        assert (code, words.lower() in text.lower()) == (status, True), f"{what}: {code} {text}"
        assert headers.get("access-control-allow-origin") == "*", what
        if status == 401:
            assert headers.get("www-authenticate") == "Bearer", what
    assert participants(rooms, stubs, "w-r") == [] and participants(rooms, stubs, "elsewhere") == []
    assert stats(server, stubs).webrtc_sessions == 0


def test_options_allows_a_page_of_another_origin(server):
    request = whip.urllib.request.Request(f"http://{server.address}/whip", method="OPTIONS")
    request.add_header("Origin", "http://example.test")
    request.add_header("Access-Control-Request-Method", "POST")
    request.add_header("Access-Control-Request-Headers", "authorization, content-type")
    with whip.urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
        headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"] and "DELETE" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"] and "content-type" in headers["access-control-allow-headers"]
    assert "location" in headers["access-control-expose-headers"]


def test_delete_leaves_the_room_and_only_its_owner_may(server, stubs, rooms, pattern):
    alice = publish(server, pattern, "w-del", "alice")
    try:
        url = f"http://{server.address}{alice.location}"
        # A second identity of the same room cannot end alice's session, nor can PATCH change it.
        assert whip.post(url, publisher_token("w-del", "mallory"), None, content_type=None, method="DELETE")[0] == 404
        assert whip.post(url, publisher_token("w-del", "alice"), "a=candidate:x", content_type="application/trickle-ice-sdpfrag", method="PATCH")[0] == 405
        assert whip.post(url, None, None, content_type=None, method="DELETE")[0] == 401
        assert participants(rooms, stubs, "w-del") == ["alice"]
        code, _, _ = alice.stop()
        assert code == 200
        assert participants(rooms, stubs, "w-del") == []
        assert stats(server, stubs).webrtc_sessions == 0
        assert whip.post(url, publisher_token("w-del", "alice"), None, content_type=None, method="DELETE")[0] == 404
    finally:
        alice.stop(delete=False)


def test_a_second_session_of_one_identity_is_a_conflict(server, stubs, pattern):
    alice = publish(server, pattern, "w-dup", "alice")
    try:
        code, _, text = whip.post(f"http://{server.address}/whip", publisher_token("w-dup", "alice"), offer_of(server, pattern))
        assert code == 409 and "already in room" in text
    finally:
        alice.stop()


def rtp(ssrc, sequence, payload_type=96):
    return struct.pack("!BBHII", 0x80, payload_type, sequence, sequence * 3000, ssrc) + b"\x00" * 100


def test_spoofed_rtp_srtp_and_stun_are_dropped_and_counted(server, stubs, rooms, pattern):
    alice = publish(server, pattern, "w-spoof", "alice")
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        wait_until(lambda: len(stats(server, stubs, "w-spoof").tracks) == 2, "both tracks")
        video_ssrc = alice.ssrc("video")
        [participant] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="w-spoof"), timeout=10).participants
        [video_sid] = [t.sid for t in participant.tracks if t.type == stubs.models.VIDEO]
        [video] = [t for t in stats(server, stubs, "w-spoof").tracks if t.track_sid == video_sid]
        before = stats(server, stubs)
        target = ("127.0.0.1", server.rtp_port)
        # Plain RTP with the WebRTC track's SSRC, from another address.
        for sequence in range(50):
            attacker.sendto(rtp(video_ssrc, sequence), target)
        # SRTP with the track's SSRC (its header is in the clear) under a key the attacker made up,
        # and DTLS records, from an address no ICE check verified: the first is taken as plain
        # RTP from the wrong source, the second goes nowhere.
        for sequence in range(20):
            attacker.sendto(rtp(video_ssrc, 1000 + sequence) + bytes(10), target)
            attacker.sendto(bytes([22, 0xFE, 0xFD]) + bytes(60), target)
        # Binding requests with the session's username and a wrong MESSAGE-INTEGRITY.
        ufrag = next(line.split(":", 1)[1] for line in alice.answer.split("\r\n") if line.startswith("a=ice-ufrag:"))
        remote = next(line.split(":", 1)[1] for line in alice.pc.localDescription.sdp.split("\r\n") if line.startswith("a=ice-ufrag:"))
        for _ in range(30):
            attacker.sendto(forged_binding_request(f"{ufrag}:{remote}"), target)

        def spoof_counted():
            now = stats(server, stubs)
            [track] = [t for t in now.tracks if t.track_sid == video.track_sid]
            return (track.packets_wrong_source - video.packets_wrong_source == 70
                    and now.secured_unrouted - before.secured_unrouted == 20
                    and now.unknown_ssrc_packets == before.unknown_ssrc_packets
                    and now.stun_ignored - before.stun_ignored == 30)
        wait_until(spoof_counted, "the spoofed datagrams counted")
        # The attacker's address got no answer: no STUN response, no DTLS.
        attacker.settimeout(0.3)
        with pytest.raises(socket.timeout):
            attacker.recvfrom(2048)
        assert participants(rooms, stubs, "w-spoof") == ["alice"]
    finally:
        attacker.close()
        alice.stop()


def forged_binding_request(username):
    """A Binding request with USERNAME, a made-up MESSAGE-INTEGRITY and a valid FINGERPRINT."""
    return binding_request(username, None)


def binding_request(username, password):
    """A Binding request with USERNAME and USE-CANDIDATE, its MESSAGE-INTEGRITY keyed with
    `password` (RFC 5389 short-term credentials; made up when None), and its FINGERPRINT."""
    import binascii
    import hashlib
    import hmac
    import os as _os
    name = username.encode()
    attributes = struct.pack("!HH", 0x0006, len(name)) + name + b"\x00" * ((4 - len(name) % 4) % 4)
    attributes += struct.pack("!HH", 0x0025, 0)  # USE-CANDIDATE
    transaction = _os.urandom(12)
    header = lambda length: struct.pack("!HHI", 0x0001, length, 0x2112A442) + transaction
    # The integrity covers the message up to itself, its length counting the integrity attribute.
    signed = header(len(attributes) + 24) + attributes
    integrity = hmac.new(password.encode(), signed, hashlib.sha1).digest() if password is not None else _os.urandom(20)
    attributes += struct.pack("!HH", 0x0008, 20) + integrity
    body = header(len(attributes) + 8) + attributes
    crc = (binascii.crc32(body) ^ 0x5354554E) & 0xFFFFFFFF
    return body + struct.pack("!HHI", 0x8028, 4, crc)


def test_plain_rtp_from_an_address_a_webrtc_track_used_is_not_taken_as_its_media(server, stubs, rooms, pattern):
    """Another session verifies the address alice's packets come from (its owner's ICE check,
    sent from there), then ends, so the hub knows the address no more: what comes from it with
    alice's SSRC is plain RTP for the hub. It is a wrong source for alice's WebRTC track, never
    her media (her own SRTP from there would otherwise be read as clear payload)."""
    relay = whip.LossyRelay(server.rtp_port, loss=0)
    alice = publish(server, pattern, "w-moved", "alice", relay=relay)
    try:
        wait_until(lambda: len(stats(server, stubs, "w-moved").tracks) == 2, "both tracks")
        video_ssrc = alice.ssrc("video")
        [participant] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="w-moved"), timeout=10).participants
        [video_sid] = [t.sid for t in participant.tracks if t.type == stubs.models.VIDEO]
        token, offer = publisher_token("w-thief", "mallory"), offer_of(server, pattern)
        remote = next(line.split(":", 1)[1] for line in offer.split("\r\n") if line.startswith("a=ice-ufrag:"))
        code, headers, answer = whip.post(f"http://{server.address}/whip/w-thief", token, offer)
        assert code == 201, answer
        ufrag, password = (next(line.split(":", 1)[1] for line in answer.split("\r\n") if line.startswith(f"a=ice-{key}:"))
                           for key in ("ufrag", "pwd"))
        # The hub's answer comes back to the relay's socket: noted there, then passed on as usual.
        answers, passed_on = [], relay.returned
        relay.returned = lambda data: (answers.append(data), passed_on(data))
        check = binding_request(f"{ufrag}:{remote}", password)
        relay.socket.sendto(check, relay.target)
        # A Binding success response (0x0101) to that check's transaction.
        wait_until(lambda: any(a[:2] == b"\x01\x01" and a[8:20] == check[8:20] for a in answers), "the check answered")
        assert whip.post(f"http://{server.address}{dict((k.lower(), v) for k, v in headers.items())['location']}", token, None, content_type=None, method="DELETE")[0] == 200
        [video] = [t for t in stats(server, stubs, "w-moved").tracks if t.track_sid == video_sid]
        for sequence in range(30):
            relay.socket.sendto(rtp(video_ssrc, 20_000 + sequence), relay.target)

        def refused():
            [track] = [t for t in stats(server, stubs, "w-moved").tracks if t.track_sid == video_sid]
            return track.packets_wrong_source - video.packets_wrong_source >= 30
        wait_until(refused, "the plain packets refused as from a wrong source")
    finally:
        alice.stop()
        relay.close()


def test_lost_packets_are_asked_for_again_and_recovered(server, stubs, api, pattern):
    relay = whip.LossyRelay(server.rtp_port, loss=0.03)
    alice = publish(server, pattern, "w-loss", "alice", relay=relay)
    try:
        started = participant_egress(api, stubs, "w-loss", "alice", "{room_name}", preset=stubs.egress.H264_720P_30)
        info, wall = record_for(api, stubs, started.egress_id, 8)
        track_stats = stats(server, stubs, "w-loss").tracks
    finally:
        alice.stop()
        relay.close()
    assert relay.dropped > 20, relay.dropped
    [video] = [t for t in track_stats if t.packets_nacked > 0]
    print(f"MEASURE nack dropped={relay.dropped} nacked={video.packets_nacked} recovered={video.packets_recovered} lost={video.packets_lost}")
    assert video.packets_recovered >= 0.9 * video.packets_nacked, video
    [result] = info.file_results
    decode = whip.subprocess.run(["ffmpeg", "-v", "error", "-i", result.location, "-f", "null", "-"], capture_output=True, text=True)
    assert decode.returncode == 0 and decode.stderr.strip() == "", decode.stderr[-2000:]
    assert_pattern_in_sync(result.location, wall)


def test_a_certificate_other_than_the_offers_fingerprint_is_refused(server, stubs, rooms, pattern):
    """An offer whose fingerprint is not its DTLS certificate's (a man in the middle's offer):
    the handshake fails, no track is published and the participant is gone."""
    def other_fingerprint(sdp):
        return re.sub(r"a=fingerprint:sha-256 ([0-9A-F:]+)", "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), sdp)
    mallory = whip.WHIPPublisher(f"http://{server.address}", publisher_token("w-mitm", "mallory"), pattern, edit_offer=other_fingerprint)
    try:
        mallory.start()
    except RuntimeError:
        pass  # aiortc saw the connection fail before calling it connected
    # Either way it does not stay up: the server ends the handshake with a close_notify.
    wait_until(lambda: mallory.finished.is_set() or mallory.pc.connectionState in ("closed", "failed"), "the connection to end")
    assert mallory.status == 201
    wait_until(lambda: participants(rooms, stubs, "w-mitm") == [], "the participant to leave")
    assert stats(server, stubs).webrtc_sessions == 0
    assert "does not match the fingerprint of its offer" in server.log_text()
    mallory.stop(delete=False)


def test_plain_rtp_off_leaves_only_webrtc(fresh_server, stubs, pattern):
    server = fresh_server("--rtp-ingest", "off")
    ingest = stubs.ingest_grpc.RoomIngestStub(server.channel())
    ingest.JoinRoom(stubs.ingest.JoinRoomRequest(room="w-off", identity="ffmpeg"), timeout=10)
    with pytest.raises(whip_grpc_error()) as refused:
        ingest.PublishTrack(stubs.ingest.PublishTrackRequest(
            room="w-off", identity="ffmpeg", type=stubs.models.VIDEO, source=stubs.models.CAMERA, codec=stubs.ingest.H264,
            payload_type=96), timeout=10)
    assert refused.value.code().name == "FAILED_PRECONDITION" and "--rtp-ingest off" in refused.value.details()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for sequence in range(10):
        sender.sendto(rtp(1234, sequence), ("127.0.0.1", server.rtp_port))
    sender.close()
    wait_until(lambda: stats(server, stubs).plain_rtp_refused == 10, "10 refused datagrams")
    alice = publish(server, pattern, "w-off", "alice")
    try:
        wait_until(lambda: len(stats(server, stubs, "w-off").tracks) == 2, "alice's WebRTC tracks")
    finally:
        alice.stop()


def whip_grpc_error():
    import grpc
    return grpc.RpcError


def test_a_track_that_stops_sending_is_muted_black_in_the_recording_and_comes_back(server, stubs, api, rooms, pattern):
    alice = publish(server, pattern, "w-mute", "alice")
    try:
        started = participant_egress(api, stubs, "w-mute", "alice", "{room_name}", preset=stubs.egress.H264_720P_30)
        from test_recording import wait_for
        active = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        # The recording's clock starts at its started_at: the test saw it active later than that
        # (by its polling, more on a loaded machine), and counts from there plus the difference.
        active_at = time.monotonic() - max(0.0, time.time() - active.started_at / 1e9)
        time.sleep(3)
        alice.set_sending("video", False)
        paused_at = time.monotonic() - active_at

        def video_muted():
            [p] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="w-mute"), timeout=10).participants
            return [t.muted for t in p.tracks if t.type == stubs.models.VIDEO] == [True]
        wait_until(video_muted, "the quiet video track to be muted", timeout=5)
        time.sleep(3)
        alice.set_sending("video", True)
        resumed_at = time.monotonic() - active_at
        wait_until(lambda: not video_muted(), "the video track to be unmuted", timeout=5)
        time.sleep(3)
        api.StopEgress(stubs.egress.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        info = wait_for(api, stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
    finally:
        alice.stop()
    [result] = info.file_results
    _, luma = flash_times(result.location)
    assert_published_picture_between(luma, 0.5, paused_at - 0.3)
    # Muted 1.5 s after the last packet (the hub looks every 500 ms, so 1.5–2.0 s; aiortc stops within a frame
    # or two): black from then until it sends again.
    assert_black_between(luma, paused_at + 2.3, resumed_at - 0.2)
    # Back within 1.5 s of sending again.
    assert_published_picture_between(luma, resumed_at + 1.5, resumed_at + 2.8)


def test_a_flood_of_forged_checks_does_not_slow_the_api_or_the_session(server, stubs, rooms, pattern):
    """30 000 Binding requests with the session's username and a wrong MESSAGE-INTEGRITY, as fast
    as one socket sends them: each that reaches the hub is checked (HMAC-SHA1) and dropped on the
    hub's own loop, unanswered, so API calls keep their latency and the session keeps recording."""
    alice = publish(server, pattern, "w-flood", "alice")
    flooder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        wait_until(lambda: len(stats(server, stubs, "w-flood").tracks) == 2, "both tracks")

        def latencies(count):
            times = []
            for _ in range(count):
                start = time.monotonic()
                rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="w-flood"), timeout=10)
                times.append(time.monotonic() - start)
            return sorted(times)
        quiet = latencies(30)
        ufrag = next(line.split(":", 1)[1] for line in alice.answer.split("\r\n") if line.startswith("a=ice-ufrag:"))
        remote = next(line.split(":", 1)[1] for line in alice.pc.localDescription.sdp.split("\r\n") if line.startswith("a=ice-ufrag:"))
        forged = forged_binding_request(f"{ufrag}:{remote}")
        before = stats(server, stubs)
        frames_before = sum(t.frames for t in before.tracks if t.room == "w-flood")
        import threading
        done = threading.Event()

        def flood():
            for _ in range(30_000):
                flooder.sendto(forged, ("127.0.0.1", server.rtp_port))
            done.set()
        threading.Thread(target=flood, daemon=True).start()
        during = latencies(30)
        done.wait(30)
        # What the socket's buffer held is checked last; then the count stays put.
        after = stats(server, stubs)
        while (again := stats(server, stubs)).stun_ignored != after.stun_ignored:
            after = again
            time.sleep(0.2)
        median_quiet, median_flood = quiet[len(quiet) // 2], during[len(during) // 2]
        print(f"MEASURE stun flood: ListParticipants median {median_quiet * 1000:.1f} ms quiet, {median_flood * 1000:.1f} ms flooded; "
              f"{after.stun_ignored - before.stun_ignored} checks dropped")
        assert median_flood < median_quiet * 3 + 0.02, (quiet, during)
        # Many reached the hub (the kernel drops what overflows the socket's buffer), none was answered.
        assert after.stun_ignored - before.stun_ignored > 1_000
        flooder.settimeout(0.2)
        with pytest.raises(socket.timeout):
            flooder.recvfrom(2048)
        # The session went on: frames kept coming, the participant is still there.
        wait_until(lambda: sum(t.frames for t in stats(server, stubs, "w-flood").tracks) > frames_before + 50, "more frames")
        assert participants(rooms, stubs, "w-flood") == ["alice"]
    finally:
        flooder.close()
        alice.stop()


def test_a_screen_share_session_publishes_the_screen_and_its_audio(server, stubs, rooms, pattern):
    carol = publish(server, pattern, "w-screen", "carol", path="/whip?source=screen_share")
    try:
        def sources():
            [p] = rooms.ListParticipants(stubs.room.ListParticipantsRequest(room="w-screen"), timeout=10).participants
            return sorted(stubs.models.TrackSource.Name(t.source) for t in p.tracks)
        wait_until(lambda: len(sources()) == 2, "both tracks")
        assert sources() == ["SCREEN_SHARE", "SCREEN_SHARE_AUDIO"]
    finally:
        carol.stop()


def test_a_full_room_answers_503_and_nothing_joins(server, stubs, rooms, pattern):
    rooms.CreateRoom(stubs.room.CreateRoomRequest(name="w-full", max_participants=1), timeout=10)
    ingest = stubs.ingest_grpc.RoomIngestStub(server.channel())
    ingest.JoinRoom(stubs.ingest.JoinRoomRequest(room="w-full", identity="first"), timeout=10)
    code, _, text = whip.post(f"http://{server.address}/whip", publisher_token("w-full", "second"), offer_of(server, pattern))
    assert code == 503 and "is full (1 participants)" in text, (code, text)
    assert participants(rooms, stubs, "w-full") == ["first"] and stats(server, stubs).webrtc_sessions == 0


def test_webrtc_hosts_are_the_answers_candidates(fresh_server, stubs, pattern):
    server = fresh_server("--webrtc-host", "127.0.0.2, 127.0.0.1")
    alice = publish(server, pattern, "w-hosts", "alice")
    try:
        candidates = [line.split()[4] for line in alice.answer.split("\r\n") if line.startswith("a=candidate:")]
        assert candidates[:2] == ["127.0.0.2", "127.0.0.1"] and len(candidates) == 4  # two sections, BUNDLE
        wait_until(lambda: len(stats(server, stubs, "w-hosts").tracks) == 2, "tracks through the second candidate")
    finally:
        alice.stop()
    with pytest.raises(RuntimeError, match="is not a numeric IPv4 or IPv6 address"):
        fresh_server("--webrtc-host", "example.com")
