"""Servers as a cluster on a real redis-server (started by the tests, on 127.0.0.1): records in
Redis survive a restart; a node killed with SIGKILL is declared lost after --node-lost-after, its
live egresses end FAILED with exactly one egress_ended each, sent by a surviving node; when the
lost node comes back under its id it takes none of them back; a node that stops on SIGTERM
leaves the registry; a bad Redis is refused at start with the reason."""
import http.client
import socket
import subprocess
import tempfile
import time

import grpc
import jwt
import pytest

import tokens
import whip
from conftest import Server
from media import Publisher, av_offset
from test_recording import participant_egress, record_for, streams_by_type, wait_for
from test_whip import wait_until as whip_wait_until
from test_durability import egress_api, events_of, listed, wait_for_events
from webhook_endpoint import endpoint  # noqa: F401 (a fixture)


class Redis:
    """A redis-server of the test's own, without persistence."""

    def __init__(self, arguments=()):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.dir = tempfile.TemporaryDirectory(prefix="egress-redis-")
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", self.dir.name, *arguments],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while self.cli("PING") not in ("PONG", "NOAUTH Authentication required."):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def cli(self, *args):
        result = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=10)
        return result.stdout.strip()

    def kill(self):
        self.process.kill()
        self.process.wait()

    def restart(self, arguments=()):
        """Starts it again on its port and directory (what it wrote to its AOF comes back)."""
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--dir", self.dir.name, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            assert time.monotonic() < deadline, "redis-server did not start again"
            time.sleep(0.05)

    def stop(self):
        self.kill()
        self.dir.cleanup()


@pytest.fixture
def redis():
    server = Redis()
    yield server
    server.stop()


def start_waiting(server, stubs, count, room="cluster"):
    """Participant egresses for participants who never come (they wait: --participant-wait-timeout)."""
    api, e = egress_api(server, stubs), stubs.egress
    return [api.StartParticipantEgress(e.ParticipantEgressRequest(room_name=room, identity=f"nobody-{i}",
                                                                  file_outputs=[e.EncodedFileOutput(filepath="cluster/")]), timeout=10).egress_id
            for i in range(count)]


SECRET = "a-cluster-secret-of-at-least-32-characters"


def node(fresh_server, redis, name, *args, secret=SECRET, env=None, **kwargs):
    return fresh_server("--redis", redis.url, "--node-id", name, "--node-lost-after", "2", "--participant-wait-timeout", "600",
                        *args, env={"EGRESS_CLUSTER_SECRET": secret, **(env or {})}, **kwargs)


def place(redis, room, node_id):
    """Puts `room` on a node as the first join would (which draws two nodes at random)."""
    redis.cli("SET", f"egress:room:{{{room}}}", node_id)
    redis.cli("ZADD", f"egress:node-rooms:{{{node_id}}}", str(int(time.time() * 1000)), room)


def test_a_killed_nodes_egresses_end_failed_once_from_a_survivor(fresh_server, redis, stubs, endpoint):
    hook = endpoint()
    a = node(fresh_server, redis, "node-a", "--webhook-url", hook.url)
    b = node(fresh_server, redis, "node-b", "--webhook-url", hook.url)
    place(redis, "cluster", "node-a")
    ids = start_waiting(b, stubs, 2)  # started through b, they run on the room's node
    wait_for_events(hook, lambda ev: ev["event"] == "egress_started", 2)
    assert sorted(redis.cli("HKEYS", "egress:{nodes}:records").split()) == ["node-a", "node-b"]
    assert sorted(redis.cli("SMEMBERS", "egress:live:{node-a}").split()) == sorted(ids)

    a.process.kill()
    a.process.wait()
    killed = time.monotonic()
    ended = wait_for_events(hook, lambda ev: ev["event"] == "egress_ended", 2, timeout=20)
    took = time.monotonic() - killed
    # Its last heartbeat was up to one heartbeat (0.5 s) before the kill.
    assert 1.4 <= took < 5, f"declared lost {took:.1f} s after the kill (--node-lost-after 2)"
    assert sorted(ev["egressInfo"]["egressId"] for ev in ended) == sorted(ids)
    assert all(ev["egressInfo"]["status"] == "EGRESS_FAILED" and ev["egressInfo"]["error"] == "egress node lost"
               and ev["egressInfo"]["details"] == "End reason: Node node-a lost" for ev in ended)
    time.sleep(2)  # a few more rounds of b's: nothing is sent twice
    assert len([ev for ev in events_of(hook) if ev["event"] == "egress_ended"]) == 2
    on_b = {info.egress_id: info for info in listed(egress_api(b, stubs), stubs)}
    assert all(on_b[i].status == stubs.egress.EGRESS_FAILED for i in ids)
    assert redis.cli("HKEYS", "egress:{nodes}:records").split() == ["node-b"]
    assert all(redis.cli("HGET", f"egress:egress:{{{i}}}", "node") == "node-b" for i in ids)
    assert "lost node cleaned up" in b.log_text() and "lost_node=node-a" in b.log_text()
    # Its room was freed: a participant joining it now gets it placed on the survivor.
    assert redis.cli("GET", "egress:room:{cluster}") == ""
    stubs.ingest_grpc.RoomIngestStub(b.channel()).JoinRoom(stubs.ingest.JoinRoomRequest(room="cluster", identity="late"), timeout=10)
    assert redis.cli("GET", "egress:room:{cluster}") == "node-b"

    # node-a comes back under its id: the egresses are b's now; it recovers none of them, and lists
    # them as every node does, FAILED.
    again = node(fresh_server, redis, "node-a", "--webhook-url", hook.url)
    on_again = {info.egress_id: info for info in listed(egress_api(again, stubs), stubs)}
    assert all(on_again[i].SerializeToString() == on_b[i].SerializeToString() for i in ids)
    assert "egress records restored" not in again.log_text()
    time.sleep(1)
    assert len([ev for ev in events_of(hook) if ev["event"] == "egress_ended"]) == 2
    assert sorted(redis.cli("HKEYS", "egress:{nodes}:records").split()) == ["node-a", "node-b"]


def test_records_in_redis_come_back_after_a_restart_and_a_node_leaves_on_sigterm(fresh_server, redis, stubs):
    first = node(fresh_server, redis, "node-r")
    api, e = egress_api(first, stubs), stubs.egress
    [waiting] = start_waiting(first, stubs, 1)
    stopped = api.StopEgress(e.StopEgressRequest(egress_id=waiting), timeout=10)
    assert stopped.status == e.EGRESS_ENDING
    deadline = time.monotonic() + 10
    while (before := {info.egress_id: info for info in listed(api, stubs)})[waiting].status != e.EGRESS_ABORTED:
        assert time.monotonic() < deadline, "the stopped egress did not end"
        time.sleep(0.05)
    assert first.terminate() == 0
    assert redis.cli("HKEYS", "egress:{nodes}:records") == ""  # it left: nobody will take it for lost
    # Its node is gone, its record stays: another node answers a stop of it as any node would.
    other = node(fresh_server, redis, "node-o")
    with pytest.raises(grpc.RpcError) as ended:
        egress_api(other, stubs).StopEgress(e.StopEgressRequest(egress_id=waiting), timeout=10)
    assert ended.value.code() == grpc.StatusCode.FAILED_PRECONDITION, ended.value.details()
    assert ended.value.details() == f"egress {waiting} has already ended (EGRESS_ABORTED)"
    second = node(fresh_server, redis, "node-r")
    after = {info.egress_id: info for info in listed(egress_api(second, stubs), stubs)}
    assert after[waiting].status == before[waiting].status == e.EGRESS_ABORTED
    assert after[waiting].SerializeToString() == before[waiting].SerializeToString()


def test_the_config_files_redis_block_with_a_password_and_a_database(fresh_server, tmp_path):
    redis = Redis(arguments=["--requirepass", "example-redis-password"])
    try:
        config = tmp_path / "egress.yaml"
        config.write_text(f"redis:\n  address: 127.0.0.1:{redis.port}\n  password: example-redis-password\n  db: 2\nnode_id: node-c\n"
                          f"cluster_secret: {SECRET}\n")
        config.chmod(0o600)
        server = fresh_server("--config", str(config))
        assert redis.cli("-a", "example-redis-password", "-n", "2", "--no-auth-warning", "HKEYS", "egress:{nodes}:records") == "node-c"
        server.terminate()
        config.write_text(f"redis:\n  address: 127.0.0.1:{redis.port}\n  password: wrong-password\ncluster_secret: {SECRET}\n")
        with pytest.raises(RuntimeError) as refused:
            Server("--config", str(config)).stop()
        assert "AUTH refused" in str(refused.value) and "wrong-password" not in str(refused.value)
        config.chmod(0o644)
        with pytest.raises(RuntimeError) as readable:
            Server("--config", str(config)).stop()
        assert "chmod 600" in str(readable.value)
    finally:
        redis.stop()


@pytest.mark.parametrize("args, env, expected", [
    (["--redis", "redis://127.0.0.1:1"], {}, "cannot be used"),
    (["--redis", "redis://:hunter2@127.0.0.1:6379"], {}, "--redis carries a password"),
    ([], {"EGRESS_REDIS_URL": "redis://:hunter2@127.0.0.1:1"}, "cannot be used"),
    (["--redis", "rediss://127.0.0.1:6379"], {}, "TLS"),
    (["--redis", "redis://127.0.0.1:99999"], {}, "not from 1 to 65535"),
    (["--node-id", "a b"], {}, "is not a node id"),
    (["--redis", "redis://127.0.0.1:6379"], {"EGRESS_CLUSTER_SECRET": ""}, "needs a secret"),
    (["--redis", "redis://127.0.0.1:6379"], {"EGRESS_CLUSTER_SECRET": "short"}, "32 to 1024 characters"),
    ([], {"EGRESS_CLUSTER_SECRET": SECRET}, "without --redis"),
    (["--redis", "redis://127.0.0.1:6379", "--host", "0.0.0.0"], {}, "listens on every address: with --redis, say which one the other nodes reach this node at with --node-address"),
    (["--redis", "redis://127.0.0.1:6379", "--node-address", "0.0.0.0"], {}, "--node-address 0.0.0.0 is not a host name or address the other nodes can reach"),
])
def test_a_bad_redis_stops_the_start_naming_why(args, env, expected):
    with pytest.raises(RuntimeError) as failure:
        Server(*args, env={"EGRESS_CLUSTER_SECRET": SECRET, **env}).stop()
    assert expected in str(failure.value)
    assert "hunter2" not in str(failure.value)  # a password is never repeated


def test_three_nodes_answer_any_call_where_its_room_or_egress_is(fresh_server, redis, stubs):
    """Room R is hosted by node B; its participant joins through node A, its egress is started on
    node C and stopped through A: the egress runs on B, records in sync, and every node lists the
    same egresses and rooms."""
    a, b, c = (node(fresh_server, redis, f"node-{n}") for n in "abc")
    e, r = stubs.egress, stubs.room
    place(redis, "r-three", "node-b")
    alice = Publisher(a, stubs, "r-three", "alice", media=b)  # its RTP goes to B's port
    alice.send(*alice.camera_and_microphone())
    try:
        started = participant_egress(egress_api(c, stubs), stubs, "r-three", "alice", "three/{room_name}-{publisher_identity}")
        assert redis.cli("HGET", f"egress:egress:{{{started.egress_id}}}", "node") == "node-b"
        info, wall = record_for(egress_api(a, stubs), stubs, started.egress_id, 6)
        rooms = {n: [(room.name, room.num_participants) for room in r_api(n, stubs).ListRooms(r.ListRoomsRequest(), timeout=10).rooms]
                 for n in (a, b, c)}
        participants = r_api(c, stubs).ListParticipants(r.ListParticipantsRequest(room="r-three"), timeout=10).participants
    finally:
        alice.leave()
    assert all(found == [("r-three", 1)] for found in rooms.values()), rooms
    assert [p.identity for p in participants] == ["alice"]
    [result] = info.file_results
    assert result.location == str(b.output_dir / "three/r-three-alice.mp4")
    streams, fmt = streams_by_type(result.location)
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert abs(float(fmt["duration"]) - wall) < 1
    offset, flashes, beeps = av_offset(result.location)
    assert offset is not None and abs(offset) <= 0.1, (offset, flashes, beeps)
    listings = [[item.SerializeToString() for item in listed(egress_api(n, stubs), stubs)] for n in (a, b, c)]
    assert listings[0] == listings[1] == listings[2] and len(listings[0]) == 1
    assert listed(egress_api(a, stubs), stubs)[0].status == e.EGRESS_COMPLETE


def r_api(server, stubs):
    return stubs.room_grpc.RoomServiceStub(server.channel())


def test_a_new_room_is_placed_once_and_every_call_about_it_goes_there(fresh_server, redis, stubs):
    a, b = node(fresh_server, redis, "node-a"), node(fresh_server, redis, "node-b")
    i = stubs.ingest
    ingest_a, ingest_b = (stubs.ingest_grpc.RoomIngestStub(n.channel()) for n in (a, b))
    ingest_a.JoinRoom(i.JoinRoomRequest(room="r-new", identity="one"), timeout=10)
    host = redis.cli("GET", "egress:room:{r-new}")
    assert host in ("node-a", "node-b")
    # The second participant joins through the other node: the same room, on the same node.
    ingest_b.JoinRoom(i.JoinRoomRequest(room="r-new", identity="two"), timeout=10)
    hosting = a if host == "node-a" else b
    listing = r_api(hosting, stubs).ListParticipants(stubs.room.ListParticipantsRequest(room="r-new"), timeout=10)
    assert sorted(p.identity for p in listing.participants) == ["one", "two"]
    assert redis.cli("ZRANGE", f"egress:node-rooms:{{{host}}}", "0", "-1") == "r-new"
    # A participant of the room is known only to the room's node, whichever node is asked.
    with pytest.raises(grpc.RpcError) as taken:
        ingest_a.JoinRoom(i.JoinRoomRequest(room="r-new", identity="two"), timeout=10)
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    ingest_a.LeaveRoom(i.LeaveRoomRequest(room="r-new", identity="one"), timeout=10)
    ingest_b.LeaveRoom(i.LeaveRoomRequest(room="r-new", identity="two"), timeout=10)
    # A node that leaves frees its rooms.
    hosting.terminate()
    assert redis.cli("GET", "egress:room:{r-new}") == ""


def test_a_whip_offer_for_a_room_hosted_elsewhere_is_answered_by_its_node(fresh_server, redis, stubs, tmp_path):
    """Not a redirect: browsers and curl-based tools drop Authorization when they follow one to
    another origin. Node A takes the offer for B's room, B answers it, and media goes to B."""
    a, b = node(fresh_server, redis, "node-a"), node(fresh_server, redis, "node-b")
    place(redis, "r-whip", "node-b")
    pattern = whip.make_pattern(tmp_path / "pattern.mkv", seconds=20)
    token = tokens.token(identity="pub", roomJoin=True, room="r-whip", canPublish=True)
    publisher = whip.WHIPPublisher(f"http://127.0.0.1:{a.port}", token, pattern, path="/whip/r-whip?source=screen_share").start()
    try:
        # B's session (DELETE there ends it), B's candidates (aiortc connected to them).
        assert publisher.status == 201 and publisher.location.startswith(f"http://127.0.0.1:{b.port}/whip/sessions/WH_")
        assert f" 127.0.0.1 {b.rtp_port} typ host" in publisher.answer
        room_b = r_api(b, stubs)

        def sources():
            try:
                listed = room_b.ListParticipants(stubs.room.ListParticipantsRequest(room="r-whip"), timeout=10).participants
            except grpc.RpcError as error:  # the room ends with its last participant
                assert error.code() == grpc.StatusCode.NOT_FOUND
                return []
            return [(p.identity, sorted(stubs.models.TrackSource.Name(t.source) for t in p.tracks)) for p in listed]
        whip_wait_until(lambda: sources() == [("pub", ["SCREEN_SHARE", "SCREEN_SHARE_AUDIO"])], "pub's two tracks on B", timeout=15)
        # The room's node's refusals come back through A with their reasons.
        again, _, body = whip.post(f"http://127.0.0.1:{a.port}/whip/r-whip", token, publisher.offer)
        assert again == 409 and "pub" in body
        bad, _, body = whip.post(f"http://127.0.0.1:{a.port}/whip/r-whip",
                                 tokens.token(identity="other", roomJoin=True, room="r-whip", canPublish=True), "v=0\r\n")
        assert bad == 400 and body.startswith("bad offer")
        # Without a valid token nobody learns where a room is, nor reaches its node.
        refused, _, _ = whip.post(f"http://127.0.0.1:{a.port}/whip/r-whip", None, publisher.offer)
        assert refused == 401
        deleted = publisher.stop()
        assert deleted[0] == 200
        whip_wait_until(lambda: sources() == [], "pub gone from B after the DELETE")
    finally:
        publisher.stop(delete=False)


def test_a_call_between_nodes_needs_the_cluster_secret(fresh_server, redis, stubs):
    a = node(fresh_server, redis, "node-a")
    b = node(fresh_server, redis, "node-b", secret="another-cluster-secret-of-32-characters")
    place(redis, "r-secret", "node-b")
    i = stubs.ingest
    # A's call to B is signed with another secret than B's: refused, and the client is told why.
    with pytest.raises(grpc.RpcError) as refused:
        stubs.ingest_grpc.RoomIngestStub(a.channel()).JoinRoom(i.JoinRoomRequest(room="r-secret", identity="x"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INTERNAL
    assert "cluster secrets differ" in refused.value.details()
    # Nobody joined on B.
    with pytest.raises(grpc.RpcError) as nobody:
        r_api(b, stubs).ListParticipants(stubs.room.ListParticipantsRequest(room="r-secret"), timeout=10)
    assert nobody.value.code() == grpc.StatusCode.NOT_FOUND

    # An outsider calling a node's service: no token, an API key's token, a token signed with
    # another secret — each refused before anything runs; the cluster's own secret works.
    call = stubs.cluster.NodeCall(method="/livekit.RoomService/ListRooms", request=b"", to_node="node-a")
    now = int(time.time())
    wrong = jwt.encode({"iss": "egress-cluster", "nbf": now, "exp": now + 60, "video": {}}, "not-the-cluster-secret-but-32-chars-long", algorithm="HS256")
    # Publish would put a WebRTC participant in any room of the node, for no publisher's token.
    publish = stubs.cluster.NodePublish(room="r-outsider", identity="mallory", offer="v=0\r\n", to_node="node-a")
    for metadata in ([], [tokens.bearer(roomList=True, roomAdmin=True, roomRecord=True)], [("authorization", f"Bearer {wrong}")]):
        with pytest.raises(grpc.RpcError) as outsider:
            stubs.cluster_grpc.NodeStub(a.raw_channel()).Call(call, metadata=metadata, timeout=10)
        assert outsider.value.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
        with pytest.raises(grpc.RpcError) as outsider:
            stubs.cluster_grpc.NodeStub(a.raw_channel()).Publish(publish, metadata=metadata, timeout=10)
        assert outsider.value.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
    right = jwt.encode({"iss": "egress-cluster", "nbf": now, "exp": now + 60, "video": {}}, SECRET, algorithm="HS256")
    reply = stubs.cluster_grpc.NodeStub(a.raw_channel()).Call(call, metadata=[("authorization", f"Bearer {right}")], timeout=10)
    assert stubs.room.ListRoomsResponse.FromString(reply.response).rooms == []
    # A call for another node (one that had this address before) is refused, and so is one that names none.
    for to_node, code, details in [("node-x", grpc.StatusCode.UNAVAILABLE, "this is node node-a, not node-x (the address changed hands); try again"),
                                   ("", grpc.StatusCode.INVALID_ARGUMENT, "a call between nodes must name the node it is for (to_node)")]:
        with pytest.raises(grpc.RpcError) as misdirected:
            stubs.cluster_grpc.NodeStub(a.raw_channel()).Call(stubs.cluster.NodeCall(method="/livekit.RoomService/ListRooms", to_node=to_node),
                                                              metadata=[("authorization", f"Bearer {right}")], timeout=10)
        assert (misdirected.value.code(), misdirected.value.details()) == (code, details)
        with pytest.raises(grpc.RpcError) as misdirected:
            stubs.cluster_grpc.NodeStub(a.raw_channel()).Publish(stubs.cluster.NodePublish(room="r-outsider", identity="m", offer="v=0\r\n",
                                                                                           to_node=to_node),
                                                                 metadata=[("authorization", f"Bearer {right}")], timeout=10)
        assert (misdirected.value.code(), misdirected.value.details()) == (code, details)
    # A node's Publish checks what it is sent as the hub checks a WHIP offer of its own.
    with pytest.raises(grpc.RpcError) as bad:
        stubs.cluster_grpc.NodeStub(a.raw_channel()).Publish(publish, metadata=[("authorization", f"Bearer {right}")], timeout=10)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad.value.details().startswith("bad offer")
    with pytest.raises(grpc.RpcError) as nobody:
        r_api(a, stubs).ListParticipants(stubs.room.ListParticipantsRequest(room="r-outsider"), timeout=10)
    assert nobody.value.code() == grpc.StatusCode.NOT_FOUND


def test_recordings_ride_out_a_redis_restart_and_no_record_is_lost(fresh_server, stubs, endpoint):
    """Redis (AOF on) is killed during two recordings and started again 5 s later. The recordings
    go on and end while Redis is away (their 5 s limit); calls that need Redis are UNAVAILABLE
    meanwhile; once Redis is back, their ends are written and each egress_ended is sent once."""
    aof = ["--appendonly", "yes", "--appendfsync", "always"]
    redis = Redis(arguments=aof)
    hook = endpoint()
    e = stubs.egress
    try:
        a = node(fresh_server, redis, "node-a", "--webhook-url", hook.url, "--file-output-max-duration", "5")
        api = egress_api(a, stubs)
        alice = Publisher(a, stubs, "r-outage", "alice")
        video, audio = alice.camera_and_microphone()
        alice.send(video, audio)
        try:
            participant = participant_egress(api, stubs, "r-outage", "alice", "outage/{room_name}-{publisher_identity}").egress_id
            track = api.StartTrackEgress(e.TrackEgressRequest(room_name="r-outage", track_id=audio.sid,
                                                              file=e.DirectFileOutput(filepath="outage/audio")), timeout=10).egress_id
            for egress_id in (participant, track):
                wait_for(api, stubs, egress_id, e.EGRESS_ACTIVE)
            active_at = time.monotonic()
            time.sleep(1.5)
            redis.kill()
            for call in (lambda: api.ListEgress(e.ListEgressRequest(), timeout=10),
                         lambda: api.StopEgress(e.StopEgressRequest(egress_id=participant), timeout=10)):
                with pytest.raises(grpc.RpcError) as unavailable:
                    call()
                assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
            time.sleep(max(0.0, active_at + 7 - time.monotonic()))  # both ended at their limit meanwhile
            assert "egress records not stored" in a.log_text()
            assert not [ev for ev in events_of(hook) if ev["event"] == "egress_ended"]  # not before it is stored
            redis.restart(aof)
            finished = {i: wait_for(api, stubs, i, e.EGRESS_LIMIT_REACHED) for i in (participant, track)}
        finally:
            alice.leave()
        for info in finished.values():
            [result] = info.file_results
            _, fmt = streams_by_type(result.location)
            assert abs(float(fmt["duration"]) - 5) < 1, (result.location, fmt["duration"])  # recorded through the outage
        assert set(redis.cli("ZRANGE", "egress:egresses", "0", "-1").split()) == {participant, track}
        assert all(redis.cli("HGET", f"egress:egress:{{{i}}}", "status") == str(e.EGRESS_LIMIT_REACHED) for i in (participant, track))
        ended = wait_for_events(hook, lambda ev: ev["event"] == "egress_ended", 2)
        time.sleep(1)
        assert sorted(ev["egressInfo"]["egressId"] for ev in ended) == sorted([participant, track])
        assert len([ev for ev in events_of(hook) if ev["event"] == "egress_ended"]) == 2
    finally:
        redis.stop()


def test_a_room_name_the_hubs_refuse_is_neither_looked_up_nor_placed(fresh_server, redis, stubs):
    a = node(fresh_server, redis, "node-a")
    long_name = "r" * 256
    with pytest.raises(grpc.RpcError) as refused:
        stubs.ingest_grpc.RoomIngestStub(a.channel()).JoinRoom(stubs.ingest.JoinRoomRequest(room=long_name, identity="x"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 255" in refused.value.details()
    assert redis.cli("KEYS", "egress:room:*") == ""
    assert redis.cli("KEYS", "egress:node-rooms:*") == ""


def test_a_room_left_to_a_node_that_is_gone_is_placed_again(fresh_server, redis, stubs):
    """Placed on a node just as it left (or was cleaned up after), a room would point at nobody:
    the next call about it frees it and places it on a node of the cluster."""
    a = node(fresh_server, redis, "node-a")
    place(redis, "r-orphan", "node-gone")
    stubs.ingest_grpc.RoomIngestStub(a.channel()).JoinRoom(stubs.ingest.JoinRoomRequest(room="r-orphan", identity="x"), timeout=10)
    assert redis.cli("GET", "egress:room:{r-orphan}") == "node-a"
    listing = r_api(a, stubs).ListParticipants(stubs.room.ListParticipantsRequest(room="r-orphan"), timeout=10)
    assert [p.identity for p in listing.participants] == ["x"]


def check_recording(location, wall):
    """The recorded file as the three-node test checks it: H.264 + AAC, its length, A/V in sync."""
    streams, fmt = streams_by_type(location)
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert abs(float(fmt["duration"]) - wall) < 1
    offset, flashes, beeps = av_offset(location)
    assert offset is not None and abs(offset) <= 0.1, (offset, flashes, beeps)


def test_an_egress_its_rooms_node_has_no_cpu_for_runs_elsewhere_following_the_room(fresh_server, redis, stubs):
    """Room R's node B may fill almost none of its CPU (--max-cpu-utilization 0.01): an egress for
    R started on C runs on a node with CPU to spare, which follows R through B's relay; the
    recording is as good as on one node, and B's participants are seen there as they come."""
    a, c = node(fresh_server, redis, "node-a"), node(fresh_server, redis, "node-c")
    b = node(fresh_server, redis, "node-b", "--max-cpu-utilization", "0.01")
    place(redis, "r-relay", "node-b")
    started = participant_egress(egress_api(c, stubs), stubs, "r-relay", "alice", "relay/{room_name}-{publisher_identity}")
    runs_on = redis.cli("HGET", f"egress:egress:{{{started.egress_id}}}", "node")
    assert runs_on in ("node-a", "node-c")
    # The participant comes after the egress started: the relay brings its join and its tracks.
    alice = Publisher(a, stubs, "r-relay", "alice", media=b)
    alice.send(*alice.camera_and_microphone())
    try:
        info, wall = record_for(egress_api(b, stubs), stubs, started.egress_id, 6)
    finally:
        alice.leave()
    recorder = {"node-a": a, "node-c": c}[runs_on]
    [result] = info.file_results
    assert result.location == str(recorder.output_dir / "relay/r-relay-alice.mp4")
    assert not (b.output_dir / "relay").exists()
    check_recording(result.location, wall)
    assert "relay opened" in b.log_text() and f"to_node={runs_on}" in b.log_text()
    assert "following a room on another node" in recorder.log_text()
    # The egress ended: its relay is closed on B too (its subscription to B's hub is gone).
    deadline = time.monotonic() + 5
    while "relay closed" not in b.log_text():
        assert time.monotonic() < deadline, "the relay stayed open after its egress ended"
        time.sleep(0.05)


def test_a_relayed_recording_keeps_what_it_wrote_when_the_rooms_node_is_lost(fresh_server, redis, stubs):
    """The room's node is killed during a relayed recording: the egress ends at once (its
    participant is gone with the node), and its file plays, up to the kill."""
    b = node(fresh_server, redis, "node-b", "--max-cpu-utilization", "0.01")
    c = node(fresh_server, redis, "node-c")
    place(redis, "r-lost", "node-b")
    alice = Publisher(b, stubs, "r-lost", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = participant_egress(egress_api(c, stubs), stubs, "r-lost", "alice", "lost/{room_name}")
        assert redis.cli("HGET", f"egress:egress:{{{started.egress_id}}}", "node") == "node-c"
        wait_for(egress_api(c, stubs), stubs, started.egress_id, stubs.egress.EGRESS_ACTIVE)
        time.sleep(4)
        b.process.kill()
        b.process.wait()
        killed = time.monotonic()
        info = wait_for(egress_api(c, stubs), stubs, started.egress_id, stubs.egress.EGRESS_COMPLETE)
        assert time.monotonic() - killed < 5
    finally:
        alice.stop_sending()
    assert info.details.startswith("End reason: the relay from room r-lost's node node-b failed"), info.details
    [result] = info.file_results
    assert result.location == str(c.output_dir / "lost/r-lost.mp4")
    streams, fmt = streams_by_type(result.location)
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert 3 <= float(fmt["duration"]) <= 6, fmt["duration"]


def test_the_relay_needs_the_cluster_secret(fresh_server, redis, stubs):
    """Outsiders cannot follow a room: egress.cluster.Relay/Follow without a token, with an API
    key's, or with one signed by another secret is refused before anything is streamed."""
    b = node(fresh_server, redis, "node-b")
    relay = stubs.cluster_grpc.RelayStub(b.raw_channel())
    request = stubs.cluster.RelayRequest(room="r-outsider", to_node="node-b")
    now = int(time.time())
    wrong = jwt.encode({"iss": "egress-cluster", "nbf": now, "exp": now + 60, "video": {}}, "not-the-cluster-secret-but-32-chars-long", algorithm="HS256")
    for metadata in ([], [tokens.bearer(roomList=True, roomAdmin=True, roomRecord=True)], [("authorization", f"Bearer {wrong}")]):
        with pytest.raises(grpc.RpcError) as outsider:
            list(relay.Follow(request, metadata=metadata, timeout=5))
        assert outsider.value.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
    right = jwt.encode({"iss": "egress-cluster", "nbf": now, "exp": now + 60, "video": {}}, SECRET, algorithm="HS256")
    stream = relay.Follow(request, metadata=[("authorization", f"Bearer {right}")], timeout=5)
    first = next(stream)
    assert first.WhichOneof("kind") == "room" and not first.room.exists  # nobody is in it yet
    stream.cancel()
    with pytest.raises(grpc.RpcError) as misdirected:
        list(relay.Follow(stubs.cluster.RelayRequest(room="r-outsider", to_node="node-x"), metadata=[("authorization", f"Bearer {right}")], timeout=5))
    assert misdirected.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_join_handed_to_a_node_its_room_left_is_refused_and_one_for_a_freed_room_places_it_there(fresh_server, redis, stubs):
    """A join reaches the room's node after the room moved (freed as unused, placed elsewhere): the
    node does not take it into its hub, the client is told to try again; a join for a room freed
    meanwhile and not placed since places it on the node that takes the join."""
    a = node(fresh_server, redis, "node-a")
    now = int(time.time())
    signed = jwt.encode({"iss": "egress-cluster", "nbf": now, "exp": now + 60, "video": {}}, SECRET, algorithm="HS256")
    metadata = [("authorization", f"Bearer {signed}")]
    i = stubs.ingest

    def handed_join(room):
        call = stubs.cluster.NodeCall(method="/egress.ingest.RoomIngest/JoinRoom", request=i.JoinRoomRequest(room=room, identity="p").SerializeToString(),
                                      to_node="node-a")
        return stubs.cluster_grpc.NodeStub(a.raw_channel()).Call(call, metadata=metadata, timeout=10)

    place(redis, "r-moved", "node-z")
    with pytest.raises(grpc.RpcError) as moved:
        handed_join("r-moved")
    assert moved.value.code() == grpc.StatusCode.UNAVAILABLE
    assert moved.value.details() == "room r-moved moved to node node-z while the call was on its way; try again"
    # A's own hub (asked through the node call, which answers for this node alone) has no such room.
    listing = stubs.cluster.NodeCall(method="/livekit.RoomService/ListRooms", request=b"", to_node="node-a")
    reply = stubs.cluster_grpc.NodeStub(a.raw_channel()).Call(listing, metadata=metadata, timeout=10)
    assert stubs.room.ListRoomsResponse.FromString(reply.response).rooms == []

    joined = i.JoinRoomResponse.FromString(handed_join("r-freed").response)
    assert (joined.room.name, joined.participant.identity) == ("r-freed", "p")
    assert redis.cli("GET", "egress:room:{r-freed}") == "node-a"
    assert redis.cli("ZSCORE", "egress:node-rooms:{node-a}", "r-freed") != ""


def test_a_node_registers_the_address_it_is_reached_at(fresh_server, redis, stubs):
    """--node-address is what the other nodes call this one at (here a name, localhost, for the
    address it listens on): its registry record says it, and a call routed there arrives."""
    a = node(fresh_server, redis, "node-a", "--node-address", "localhost")
    b = node(fresh_server, redis, "node-b")
    registered = redis.cli("HGET", "egress:{nodes}:records", "node-a").split("\t")
    assert registered[2:4] == [f"localhost:{a.port}", f"localhost:{a.rtp_port}"]
    place(redis, "r-named", "node-a")
    stubs.ingest_grpc.RoomIngestStub(b.channel()).JoinRoom(stubs.ingest.JoinRoomRequest(room="r-named", identity="p"), timeout=10)
    rooms = r_api(a, stubs).ListRooms(stubs.room.ListRoomsRequest(names=["r-named"]), timeout=10).rooms
    assert [(room.name, room.num_participants) for room in rooms] == [("r-named", 1)]


class FakeRoomNode:
    """A node of the cluster as Redis sees it (registered, beating, no CPU to spare) whose relay
    misbehaves as `behaviour` says: a compromised or broken peer, for the follower's checks."""

    def __init__(self, redis, stubs, behaviour):
        from concurrent import futures
        import threading
        c = stubs.cluster

        def track(sid, room):
            return c.RelayTrack(sid=sid, room=room, room_sid="RM_fake", participant_identity="alice", participant_sid="PA_alice",
                                kind=0, source=2, codec="opus", payload_type=111, clock_rate=48000, ssrc=5678, stereo=True)

        class Relay(stubs.cluster_grpc.RelayServicer):
            def Follow(self, request, context):
                room = request.room
                alice = c.RelayParticipant(sid="PA_alice", identity="alice", name="alice", state=2, tracks=[track("TR_A", room)])
                yield c.RelayMessage(room=c.RelayRoom(exists=True, sid="RM_fake", name=room, participants=[alice]))
                n = 0
                while context.is_active() and n < 200_000:
                    n += 1
                    if behaviour == "tracks":
                        yield c.RelayMessage(event=c.RelayEvent(track_published=track(f"TR_A{n}", room)))
                    elif behaviour == "mutes":
                        yield c.RelayMessage(event=c.RelayEvent(track_mute_changed=track("TR_A", room)))
                    elif behaviour == "another-room" and n == 1:
                        yield c.RelayMessage(event=c.RelayEvent(room_deleted="some-other-room"))
                while context.is_active():
                    time.sleep(0.1)

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        stubs.cluster_grpc.add_RelayServicer_to_server(Relay(), self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.beating = True
        started = int(time.time() * 1000)

        def beat():
            while self.beating:
                now = int(time.time() * 1000)
                record = "\t".join(["n1", "node-f", f"127.0.0.1:{port}", "127.0.0.1:9", "0.0", "0.0", "0", "0", str(started), str(now)])
                redis.cli("HSET", "egress:{nodes}:records", "node-f", record)
                redis.cli("ZADD", "egress:{nodes}:heartbeats", str(now), "node-f")
                time.sleep(0.3)
        self.thread = threading.Thread(target=beat, daemon=True)
        self.thread.start()

    def stop(self):
        self.beating = False
        self.thread.join()
        self.server.stop(0)


@pytest.mark.parametrize("behaviour, reason", [
    ("tracks", "a relayed participant has more than 8 tracks"),
    ("mutes", "the room's node sent events faster than a room makes them"),
    ("another-room", "the relay deleted another room, some-other-room"),
])
def test_a_room_node_whose_relay_breaks_the_hubs_rules_is_not_believed(fresh_server, redis, stubs, behaviour, reason):
    """The relay from a broken or compromised room node that floods tracks or events, or speaks
    of another room, ends: the egress following it ends at once naming why, instead of its node
    growing without bound or its recording thread falling ever further behind."""
    fake = FakeRoomNode(redis, stubs, behaviour)
    try:
        c = node(fresh_server, redis, "node-c")
        room = f"r-fake-{behaviour}"
        place(redis, room, "node-f")
        started = participant_egress(egress_api(c, stubs), stubs, room, "alice", "fake/{room_name}")
        assert redis.cli("HGET", f"egress:egress:{{{started.egress_id}}}", "node") == "node-c"
        info = wait_for(egress_api(c, stubs), stubs, started.egress_id, stubs.egress.EGRESS_ABORTED, stubs.egress.EGRESS_COMPLETE,
                        timeout=15)
        assert reason in info.details, info.details
    finally:
        fake.stop()
