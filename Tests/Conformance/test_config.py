"""The config file (--config, EGRESS_CONFIG_FILE, EGRESS_CONFIG_BODY): every key the example
documents is read, a key of the file sets what its flag sets and loses to the flag and to the
environment, the LiveKit-named keys take effect on a running server (keys, logging, ports,
cpu_cost, session_limits, webhook, storage.s3, tls), and a misspelt key or a bad value stops the
start naming the key and its line."""
import json
import os
import re
import subprocess
import urllib.request

import grpc
import jwt
import pytest
import yaml

import tokens
from conftest import BINARY, ROOT, Server
from media import Publisher, probe
from s3_server import S3Server
from test_operations import free_port, health, scrape, start_waiting
from test_recording import participant_egress, record_for, wait_for
from webhook_endpoint import endpoint  # noqa: F401 (a fixture)

EXAMPLE = ROOT / "Sources/egress-server/egress.example.yaml"
LONG_SECRET = "a-config-file-secret-of-more-than-32-characters"

# Every setting that has a flag: a value for the file, what --check-config then says, and a
# value for the flag (which must win). The flag is --<last part of the key with - for _>, the
# environment variable EGRESS_<the same in capitals>.
SETTINGS = {
    "host": ("127.0.0.9", "127.0.0.9", "127.0.0.8"),
    "port": ("7990", 7990, "7991"),
    "output_dir": ("/srv/recordings", "/srv/recordings", "/srv/other"),
    "state_dir": ("none", "none", "/srv/state"),
    "record_retention_days": ("7", 7, "8"),
    "node_id": ("node-7", "node-7", "node-8"),
    "node_address": ("node-7.example", "node-7.example", "node-8.example"),
    "node_lost_after": ("15s", 15, "16"),
    "health_port": ("8181", 8181, "8182"),
    "prometheus_port": ("8183", 8183, "8184"),
    "drain_delay": ("1m30s", 90, "2"),
    "cpu_cost.max_cpu_utilization": ("0.5", 0.5, "0.6"),
    "cpu_cost.participant_cpu_cost": ("0.7", 0.7, "0.8"),
    "cpu_cost.track_composite_cpu_cost": ("0.9", 0.9, "1.1"),
    "cpu_cost.track_cpu_cost": ("0.05", 0.05, "0.06"),
    "max_concurrent_streams": ("17", 17, "18"),
    "max_receive_message_size": ("100000", 100000, "200000"),
    "max_header_list_size": ("4096", 4096, "8192"),
    "shutdown_timeout": ("500ms", 0.5, "3"),
    "max_live_egresses": ("3", 3, "4"),
    "rtp_port": ("9000", 9000, "9001"),
    "rtp_ingest": ('"off"', "off", "on"),
    "webrtc_host": ("192.0.2.1", "192.0.2.1", "192.0.2.2"),
    "participant_timeout": ("5", 5, "6"),
    "participant_wait_timeout": ("7", 7, "8"),
    "request_read_timeout": ("4", 4, "5"),
    "idle_timeout": ("11", 11, "12"),
    "send_timeout": ("13", 13, "14"),
    "session_limits.file_output_max_duration": ("1h", 3600, "60"),
    "session_limits.stream_output_max_duration": ("120", 120, "121"),
    "session_limits.segment_output_max_duration": ("130", 130, "131"),
    "session_limits.image_output_max_duration": ("2m20s", 140, "141"),
    "session_limits.file_output_max_size": ("1000000", 1000000, "2000000"),
    "upload_part_size": ("6", 6, "7"),
    "threads": ("3", 3, "4"),
}
# The keys that are not a setting with a flag of the same name; each has its own test below.
OTHER_KEYS = {"api_key", "api_secret", "keys", "key_file", "log_level", "logging.level", "logging.json", "webhook.urls",
              "webhook.api_key", "tls.cert", "tls.key", "storage.s3.bucket", "storage.s3.region", "storage.s3.endpoint",
              "storage.s3.access_key", "storage.s3.secret", "storage.s3.force_path_style",
              "redis.address", "redis.username", "redis.password", "redis.db", "cluster_secret"}


def clean_environment(**extra):
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("EGRESS_", "LIVEKIT_", "AWS_"))}, **extra}


def nested(dotted):
    """{"a.b": v} as {"a": {"b": v}}."""
    tree = {}
    for key, value in dotted.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def write_config(path, text, mode=0o600):
    path.write_text(text)
    path.chmod(mode)
    return path


def check_config(*args, env=None):
    """egress-server --check-config: (exit code, the settings printed as a dict, stderr)."""
    ran = subprocess.run([str(BINARY), "--check-config", *args], capture_output=True, text=True, timeout=30,
                         env=clean_environment(**(env or {})))
    return ran.returncode, (yaml.safe_load(ran.stdout) if ran.returncode == 0 else None), ran.stderr


def dig(settings, key):
    for part in key.split("."):
        settings = settings[part]
    return settings


def flattened(tree, prefix=""):
    keys = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        keys |= flattened(value, path + ".") if isinstance(value, dict) and key != "keys" else {path}
    return keys


def test_the_example_documents_every_key_the_server_reads():
    """Its settings and its commented-out keys (`#key:`, `#  key:`) together are exactly the keys
    this file tests: a new setting must be documented there and tested here."""
    text = EXAMPLE.read_text()
    uncommented = "\n".join(re.sub(r"^#((?: {2,})?[A-Za-z_][A-Za-z0-9_]*:(?:\s|$))", r"\1", line) for line in text.splitlines())
    documented = flattened(yaml.safe_load(uncommented))
    assert documented == set(SETTINGS) | OTHER_KEYS, documented ^ (set(SETTINGS) | OTHER_KEYS)
    # And --check-config prints each setting under its key.
    code, printed, stderr = check_config("--dev")
    assert code == 0, stderr
    assert set(SETTINGS) | {"logging.level", "logging.json", "webhook.urls"} == flattened(printed)


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_each_key_sets_what_its_flag_sets_and_loses_to_flag_and_environment(key, tmp_path):
    value, effective, flag_value = SETTINGS[key]
    flag = "--" + key.split(".")[-1].replace("_", "-")
    variable = "EGRESS_" + key.split(".")[-1].upper()
    config = write_config(tmp_path / "egress.yaml", yaml.safe_dump(nested({key: "PLACEHOLDER"})).replace("PLACEHOLDER", value))
    code, from_file, stderr = check_config("--dev", "--config", str(config))
    assert code == 0, stderr
    assert dig(from_file, key) == effective
    code, with_flag, stderr = check_config("--dev", "--config", str(config), flag, flag_value)
    assert code == 0, stderr
    code, with_environment, stderr = check_config("--dev", "--config", str(config), env={variable: flag_value})
    assert code == 0, stderr
    expected = yaml.safe_load(flag_value) if isinstance(effective, (int, float)) else flag_value
    assert dig(with_flag, key) == dig(with_environment, key) == expected != effective
    # Nothing else moved.
    assert {k for k in flattened(from_file) if dig(from_file, k) != dig(with_flag, k)} == {key}
    assert with_flag == with_environment


def test_a_server_runs_from_the_example_config(stubs, tmp_path):
    """The example as it is (ports moved by flags, which win): its API key signs, devkey does not,
    and its health and metrics port answers."""
    config = write_config(tmp_path / "egress.yaml", EXAMPLE.read_text())
    port = free_port()
    server = Server("--config", str(config), "--health-port", str(port), "--prometheus-port", str(port), dev=False)
    try:
        api = stubs.egress_grpc.EgressStub(server.raw_channel())
        listing = lambda key, secret: api.ListEgress(stubs.egress.ListEgressRequest(), timeout=10, metadata=[
            ("authorization", "Bearer " + tokens.token(key=key, secret=secret, roomRecord=True))])
        assert list(listing("APIexample", "an-example-secret-of-at-least-32-characters").items) == []
        with pytest.raises(grpc.RpcError) as refused:
            listing("devkey", "secret")
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert health(port)[0] == 200
        assert "egress_rpc_requests_total" in urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert not server.log_text().lstrip().startswith("{")  # logging.json: false
    finally:
        server.stop()


def test_keys_logging_ports_costs_limits_and_webhooks_from_a_config_file(stubs, endpoint, tmp_path):
    hook = endpoint()
    port = free_port()
    capacity = os.cpu_count() * 0.5
    config = write_config(tmp_path / "egress.yaml", f"""
keys:
  devkey: secret
  k2: {LONG_SECRET}
logging:
  level: debug
  json: true
health_port: {port}
prometheus_port: {port}
participant_wait_timeout: 60
cpu_cost:
  max_cpu_utilization: 0.5
  participant_cpu_cost: {capacity / 2.5:.4f}
session_limits:
  file_output_max_duration: 2s
webhook:
  urls: [{hook.url}]
  api_key: k2
""")
    server = Server("--config", str(config), dev=False)
    try:
        e = stubs.egress
        api = stubs.egress_grpc.EgressStub(server.channel())  # devkey, from `keys`
        as_k2 = [("authorization", "Bearer " + tokens.token(key="k2", secret=LONG_SECRET, roomRecord=True))]
        assert list(stubs.egress_grpc.EgressStub(server.raw_channel()).ListEgress(e.ListEgressRequest(), timeout=10, metadata=as_k2).items) == []
        alice = Publisher(server, stubs, "cfg-room", "alice")
        alice.send(*alice.camera_and_microphone())
        try:
            limited = api.StartParticipantEgress(e.ParticipantEgressRequest(
                room_name="cfg-room", identity="alice", file_outputs=[e.EncodedFileOutput(filepath="cfg/limited.mp4")]), timeout=10)
            start_waiting(api, stubs, room="cfg-other")
            with pytest.raises(grpc.RpcError) as refused:  # cpu_cost: two participants fit, a third does not
                start_waiting(api, stubs, room="cfg-other")
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert refused.value.details().startswith("not enough CPU")
            info = wait_for(api, stubs, limited.egress_id, e.EGRESS_LIMIT_REACHED, timeout=20)  # session_limits
        finally:
            alice.leave()
        assert info.details == "End reason: the session's maximum duration of 2 s was reached"
        assert abs(float(probe(info.file_results[0].location)[1]["duration"]) - 2) < 0.3
        # webhook: urls and api_key (signed with k2's secret)
        events = hook.wait_for(3)
        for headers, body, _ in events:
            claims = jwt.decode(headers["Authorization"], LONG_SECRET, algorithms=["HS256"], options={"verify_aud": False})
            assert claims["iss"] == "k2"
        assert {json.loads(body)["event"] for _, body, _ in events} >= {"egress_started", "egress_ended"}
        # health_port and prometheus_port (one port), logging {level: debug, json: true}
        assert health(port)[0] == 200
        assert scrape(port)[("egress_refused_total", (("reason", "cpu"),))] == 1
        entries = [json.loads(line) for line in server.log_text().splitlines() if line.strip()]
        assert any(entry["level"] == "debug" for entry in entries)
    finally:
        server.stop()


def test_tls_and_a_key_file_from_a_config_file(stubs, tls_files, tmp_path):
    cert, key = tls_files
    key_file = write_config(tmp_path / "keys.yaml", "devkey: secret\n")
    config = write_config(tmp_path / "egress.yaml", f"key_file: {key_file}\ntls:\n  cert: {cert}\n  key: {key}\n")
    server = Server("--config", str(config), dev=False)
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        api = stubs.egress_grpc.EgressStub(tokens.signed(grpc.secure_channel(server.address, credentials)))  # devkey, from key_file
        assert list(api.ListEgress(stubs.egress.ListEgressRequest(room_name="tls"), timeout=10).items) == []
        with pytest.raises(grpc.RpcError) as plaintext:
            stubs.egress_grpc.EgressStub(server.channel()).ListEgress(stubs.egress.ListEgressRequest(), timeout=5)
        assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()


def test_default_storage_and_log_level_from_a_config_file(stubs, tmp_path):
    s3 = S3Server()
    config = write_config(tmp_path / "egress.yaml", f"""
log_level: debug
storage:
  s3:
    bucket: {s3.bucket}
    region: us-east-1
    endpoint: {s3.endpoint}
    access_key: {s3.access_key}
    secret: {s3.secret}
    force_path_style: true
""")
    server = Server("--config", str(config))
    try:
        api = stubs.egress_grpc.EgressStub(server.channel())
        e = stubs.egress
        alice = Publisher(server, stubs, "cfg-s3", "alice")
        alice.send(alice.publish("audio"))
        try:
            started = participant_egress(api, stubs, "cfg-s3", "alice", "cfg/{room_name}.ogg")
            info, _ = record_for(api, stubs, started.egress_id, 1.5)
        finally:
            alice.leave()
        [file] = info.file_results  # storage.s3: in the bucket, not left in the output directory
        assert file.location == f"{s3.endpoint}/{s3.bucket}/cfg/cfg-s3.ogg", info
        assert s3.client.head_object(Bucket=s3.bucket, Key="cfg/cfg-s3.ogg")["ContentLength"] == file.size > 0
        assert not (server.output_dir / "cfg/cfg-s3.ogg").exists()
        assert s3.secret not in server.log_text()
        assert " debug " in server.log_text() or "debug:" in server.log_text()  # log_level
    finally:
        server.stop()
        s3.stop()


def test_config_from_environment_variables(tmp_path):
    config = write_config(tmp_path / "egress.yaml", "health_port: 8111\n")
    code, settings, stderr = check_config("--dev", env={"EGRESS_CONFIG_FILE": str(config)})
    assert code == 0 and settings["health_port"] == 8111, stderr
    code, settings, stderr = check_config("--dev", env={"EGRESS_CONFIG_BODY": "health_port: 8112\ncpu_cost:\n  track_cpu_cost: 0.2\n"})
    assert code == 0 and (settings["health_port"], settings["cpu_cost"]["track_cpu_cost"]) == (8112, 0.2), stderr
    # --config wins over both; the two variables at once are refused.
    code, settings, stderr = check_config("--dev", "--config", str(config), env={"EGRESS_CONFIG_BODY": "health_port: 8112\n"})
    assert code == 0 and settings["health_port"] == 8111, stderr
    code, _, stderr = check_config("--dev", env={"EGRESS_CONFIG_FILE": str(config), "EGRESS_CONFIG_BODY": "port: 1\n"})
    assert code != 0 and "EGRESS_CONFIG_FILE and EGRESS_CONFIG_BODY are both set" in stderr


@pytest.mark.parametrize("text,message", [
    ("port: 7880\nheath_port: 8080\n", 'unknown key at line 2: "heath_port" (did you mean "health_port"?)'),
    ("cpu_cost:\n  max_cpu_utilisation: 0.5\n",
     'unknown key at line 2: "cpu_cost.max_cpu_utilisation" (did you mean "max_cpu_utilization"?)'),
    ("storage:\n  azure:\n    account_name: a\n", 'line 2: "storage.azure" (the keys here are s3)'),
    ("ws_url: ws://localhost:7880\n", 'line 1: "ws_url"'),
    ("health_port: 70000\n", "health_port ({path} line 1) 70000 is not a port number"),
    ("cpu_cost:\n  max_cpu_utilization: 1.5\n", "cpu_cost.max_cpu_utilization ({path} line 2) 1.5 is not from 0 to 1"),
    ("session_limits:\n  file_output_max_duration: 1x\n",
     '{path}, line 2: session_limits.file_output_max_duration "1x" is not a duration'),
    ("port: [1, 2]\n", "{path}, line 1: port is a list, not a single value"),
    ("cpu_cost: 3\n", "{path}, line 1: cpu_cost is a value, not keys"),
    ("logging:\n  level: loud\n", '{path}, line 2: logging.level "loud" is not trace, debug'),
    ("logging:\n  json: maybe\n", '{path}, line 2: logging.json "maybe" is neither true nor false'),
    ("port: 1\nport: 2\n", "duplicated key(s): 'port'"),
    ("- port\n", "is not a mapping of keys to values"),
    ("port: [1\n", "is not valid YAML"),
    ("api_key: k\n", "api_key ({path} line 1) has no api_secret beside it"),
    (f"api_key: k\napi_secret: {LONG_SECRET}\nkeys:\n  k: {LONG_SECRET}\n", "gives its API keys once"),
    ("logging:\n  level: info\nlog_level: debug\n", "log_level ({path} line 3): the level is already set by logging.level"),
    ("storage:\n  s3:\n    region: us-east-1\n", "storage.s3.region ({path} line 3) without --s3-bucket"),
    ("tls:\n  cert: /c.pem\n", "tls.cert ({path} line 2) needs the other of --tls-cert and --tls-key"),
])
def test_a_bad_config_stops_the_start_naming_key_and_line(text, message, tmp_path):
    config = write_config(tmp_path / "egress.yaml", text)
    code, _, stderr = check_config("--dev", "--config", str(config))
    assert code != 0 and message.format(path=config) in stderr, stderr
    # The server itself does not start either.
    ran = subprocess.run([str(BINARY), "--dev", "--port", "0", "--config", str(config)], capture_output=True, text=True, timeout=30,
                         env=clean_environment(EGRESS_STATE_DIR="none", EGRESS_OUTPUT_DIR=str(tmp_path / "out")))
    assert ran.returncode != 0 and message.format(path=config) in ran.stderr


def test_a_config_file_with_a_secret_must_be_its_owners_alone(tmp_path):
    shared = write_config(tmp_path / "egress.yaml", f"api_key: k\napi_secret: {LONG_SECRET}\n", mode=0o644)
    code, _, stderr = check_config("--config", str(shared))
    assert code != 0 and f"the config file {shared} holds a secret (api_secret) and is readable by others (mode 644); chmod 600 it" in stderr
    # Without a secret in it, any mode will do; with 600, the secret is taken.
    assert check_config("--dev", "--config", str(write_config(tmp_path / "open.yaml", "port: 1\n", mode=0o644)))[0] == 0
    shared.chmod(0o600)
    code, _, stderr = check_config("--config", str(shared))
    assert code == 0, stderr


def test_check_config_prints_a_config_file_that_reads_back_the_same(tmp_path):
    config = write_config(tmp_path / "egress.yaml", EXAMPLE.read_text())
    first = subprocess.run([str(BINARY), "--check-config", "--config", str(config)], capture_output=True, text=True, timeout=30,
                           env=clean_environment())
    assert first.returncode == 0, first.stderr
    assert "API keys: APIexample (secrets are not shown)" in first.stdout and "an-example-secret" not in first.stdout
    again = write_config(tmp_path / "again.yaml", first.stdout)
    second = subprocess.run([str(BINARY), "--check-config", "--config", str(again), "--keys", f"APIexample: {LONG_SECRET}"],
                            capture_output=True, text=True, timeout=30, env=clean_environment())
    assert second.returncode == 0, second.stderr
    assert yaml.safe_load(second.stdout) == yaml.safe_load(first.stdout)
