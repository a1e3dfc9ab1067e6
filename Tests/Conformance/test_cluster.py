"""Servers as a cluster on a real redis-server (started by the tests, on 127.0.0.1): records in
Redis survive a restart; a node killed with SIGKILL is declared lost after --node-lost-after, its
live egresses end FAILED with exactly one egress_ended each, sent by a surviving node; when the
lost node comes back under its id it takes none of them back; a node that stops on SIGTERM
leaves the registry; a bad Redis is refused at start with the reason."""
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import Server
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

    def stop(self):
        self.process.kill()
        self.process.wait()
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


def node(fresh_server, redis, name, *args, **kwargs):
    return fresh_server("--redis", redis.url, "--node-id", name, "--node-lost-after", "2", "--participant-wait-timeout", "600",
                        *args, **kwargs)


def test_a_killed_nodes_egresses_end_failed_once_from_a_survivor(fresh_server, redis, stubs, endpoint):
    hook = endpoint()
    a = node(fresh_server, redis, "node-a", "--webhook-url", hook.url)
    b = node(fresh_server, redis, "node-b", "--webhook-url", hook.url)
    ids = start_waiting(a, stubs, 2)
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

    # node-a comes back under its id: the egresses are b's now; it lists and recovers none of them.
    again = node(fresh_server, redis, "node-a", "--webhook-url", hook.url)
    assert not [info for info in listed(egress_api(again, stubs), stubs) if info.egress_id in ids]
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
    second = node(fresh_server, redis, "node-r")
    after = {info.egress_id: info for info in listed(egress_api(second, stubs), stubs)}
    assert after[waiting].status == before[waiting].status == e.EGRESS_ABORTED
    assert after[waiting].SerializeToString() == before[waiting].SerializeToString()


def test_the_config_files_redis_block_with_a_password_and_a_database(fresh_server, tmp_path):
    redis = Redis(arguments=["--requirepass", "example-redis-password"])
    try:
        config = tmp_path / "egress.yaml"
        config.write_text(f"redis:\n  address: 127.0.0.1:{redis.port}\n  password: example-redis-password\n  db: 2\nnode_id: node-c\n")
        config.chmod(0o600)
        server = fresh_server("--config", str(config))
        assert redis.cli("-a", "example-redis-password", "-n", "2", "--no-auth-warning", "HKEYS", "egress:{nodes}:records") == "node-c"
        server.terminate()
        config.write_text(f"redis:\n  address: 127.0.0.1:{redis.port}\n  password: wrong-password\n")
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
])
def test_a_bad_redis_stops_the_start_naming_why(args, env, expected):
    with pytest.raises(RuntimeError) as failure:
        Server(*args, env=env).stop()
    assert expected in str(failure.value)
    assert "hunter2" not in str(failure.value)  # a password is never repeated
