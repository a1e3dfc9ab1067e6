"""The `egress` command-line client against a real server, as a person or a script runs it:
credentials from LiveKit's environment variables or flags, tables for people, --json for
scripts, errors on stderr with a non-zero exit, https with a trusted certificate."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media import probe

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("EGRESS_CLI_BIN", ROOT / ".build/debug/egress"))
HERE = Path(__file__).resolve().parent


def egress(server, *args, check=True, env=None, scheme="http", host="127.0.0.1"):
    environment = {**os.environ, "LIVEKIT_URL": f"{scheme}://{host}:{server.port}", "LIVEKIT_API_KEY": "devkey",
                   "LIVEKIT_API_SECRET": "secret", **(env or {})}
    result = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=30, env=environment)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def as_json(server, *args, **kwargs):
    return json.loads(egress(server, *args, "--json", **kwargs).stdout)


@pytest.fixture
def participant(server):
    process = subprocess.Popen([sys.executable, str(HERE / "publish.py"), server.address, str(server.rtp_port), "cli-room", "dana", "60"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    yield json.loads(process.stdout.readline())
    process.stdin.close()
    process.wait(timeout=20)


def wait_status(server, egress_id, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while (info := as_json(server, "list", "--id", egress_id)["items"][0])["status"] != wanted:
        assert time.monotonic() < deadline, info
        time.sleep(0.2)
    return info


def test_record_a_participant_and_a_track_from_the_shell(server, participant):
    rooms = egress(server, "list-rooms").stdout.splitlines()
    assert rooms[0].split() == ["NAME", "SID", "PARTICIPANTS", "CREATED"] and rooms[1].split()[0] == "cli-room"
    people = egress(server, "list-participants", "--room", "cli-room").stdout
    assert "dana" in people and participant["video"] in people and "camera" in people

    started = as_json(server, "start-participant", "--room", "cli-room", "--identity", "dana", "--file", "cli/{publisher_identity}.mp4")
    track = as_json(server, "start-track", "--room", "cli-room", "--track", participant["audio"], "--file", "cli/{track_id}.ogg")
    for egress_id in (started["egress_id"], track["egress_id"]):
        wait_status(server, egress_id, "EGRESS_ACTIVE")
    table = egress(server, "list", "--room", "cli-room", "--active").stdout.splitlines()
    assert table[0].split()[:3] == ["EGRESS", "ID", "STATUS"] and len(table) == 3
    assert any("ACTIVE" in row and "participant dana" in row for row in table[1:])
    time.sleep(2)
    for egress_id in (started["egress_id"], track["egress_id"]):
        assert "ENDING" in egress(server, "stop", egress_id).stdout
    recorded = wait_status(server, started["egress_id"], "EGRESS_COMPLETE")["file_results"][0]["location"]
    audio = wait_status(server, track["egress_id"], "EGRESS_COMPLETE")["file_results"][0]["location"]
    assert sorted(s["codec_name"] for s in probe(recorded)[0]) == ["aac", "h264"]
    assert [s["codec_name"] for s in probe(audio)[0]] == ["opus"]


def test_track_composite_and_update_stream(server, participant):
    info = as_json(server, "start-track-composite", "--room", "cli-room", "--audio", participant["audio"], "--video", participant["video"],
                   "--preset", "h264_720p_30", "--file", "cli/composite.mp4")
    assert info["track_composite"]["video_track_id"] == participant["video"] and info["track_composite"]["preset"] == "H264_720P_30"
    streaming = as_json(server, "start-participant", "--room", "cli-room", "--identity", "dana", "--file", "cli/streamed.mp4",
                        "--stream", "rtmp://127.0.0.1:1/live/x")
    assert streaming["participant"]["stream_outputs"][0]["protocol"] == "RTMP"
    out = egress(server, "update-stream", streaming["egress_id"], "--add", "rtmp://127.0.0.1:1/live/y").stdout
    assert out.splitlines()[0].split() == ["URL", "STATUS"]
    # The request's URL and the added one, each listed.
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["rtmp://127.0.0.1:1/live/{stream_key}"] * 2
    for egress_id in (info["egress_id"], streaming["egress_id"]):
        egress(server, "stop", egress_id)


def test_errors_and_credentials(server):
    missing = egress(server, "stop", "EG_missing", check=False)
    assert missing.returncode != 0 and "not_found: egress EG_missing not found" in missing.stderr
    wrong = egress(server, "list", check=False, env={"LIVEKIT_API_SECRET": "wrong"})
    assert wrong.returncode != 0 and "unauthenticated" in wrong.stderr
    # Flags win over the environment.
    assert egress(server, "list", "--api-secret", "secret", env={"LIVEKIT_API_SECRET": "wrong"}).returncode == 0
    no_key = egress(server, "list", check=False, env={"LIVEKIT_API_KEY": ""})
    assert no_key.returncode != 0 and "no API key" in no_key.stderr
    bad = egress(server, "start-participant", "--room", "r", "--identity", "i", "--file-type", "avi", check=False)
    assert bad.returncode != 0 and "--file-type avi" in bad.stderr
    down = subprocess.run([str(CLI), "list", "--url", "http://127.0.0.1:1", "--api-key", "k", "--api-secret", "s"],
                          capture_output=True, text=True, timeout=30)
    assert down.returncode != 0 and "cannot connect" in down.stderr


def test_https_with_a_trusted_certificate(fresh_server, tls_files):
    cert, key = tls_files
    server = fresh_server("--tls-cert", str(cert), "--tls-key", str(key))
    assert as_json(server, "list", "--ca-file", str(cert), scheme="https", host="localhost") == {"items": [], "next_page_token": None}
    untrusted = egress(server, "list", scheme="https", host="localhost", check=False)
    assert untrusted.returncode != 0 and "certificate" in untrusted.stderr.lower()


def test_https_to_an_ip_address_checks_the_certificate_against_it(fresh_server, tls_files, tmp_path):
    """An IP address is not sent as the TLS server name (SNI may not carry one); the certificate
    is checked against the address instead: one naming it is taken, gRPC and Twirp alike, one
    naming only a host name is refused."""
    cert, key = tls_files  # subjectAltName DNS:localhost, IP:127.0.0.1
    server = fresh_server("--tls-cert", str(cert), "--tls-key", str(key))
    empty = {"items": [], "next_page_token": None}
    assert as_json(server, "list", "--ca-file", str(cert), scheme="https", host="127.0.0.1") == empty
    assert as_json(server, "list", "--twirp", "--ca-file", str(cert), scheme="https", host="127.0.0.1") == empty
    named_only = tmp_path / "named.pem", tmp_path / "named.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(named_only[1]), "-out", str(named_only[0]), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    other = fresh_server("--tls-cert", str(named_only[0]), "--tls-key", str(named_only[1]))
    for transport in ([], ["--twirp"]):
        wrong = egress(other, "list", *transport, "--ca-file", str(named_only[0]), scheme="https", host="127.0.0.1", check=False)
        assert wrong.returncode != 0 and "certificate" in wrong.stderr.lower(), wrong.stderr


def test_twirp_transport_gives_the_same_answers(server):
    """--twirp calls the same API over HTTP/1.1: the same JSON, the same errors."""
    assert as_json(server, "list", "--twirp") == as_json(server, "list")
    missing = egress(server, "stop", "EG_missing", "--twirp", check=False)
    assert missing.returncode != 0 and "not_found: egress EG_missing not found" in missing.stderr
    wrong = egress(server, "list", "--twirp", check=False, env={"LIVEKIT_API_SECRET": "wrong"})
    assert wrong.returncode != 0 and "unauthenticated" in wrong.stderr
