"""Uploads to S3: a recorded file sent to `moto` (in server mode, signatures checked) and checked
with boto3 — the object's bytes are the file's, its metadata, tagging and content disposition
are set, the result's location is its URL and the local copy is gone; a wrong secret keeps the
local file, says why and sets backup_storage_used; secrets never come back; other providers and
hostile fields are refused at the request. HLS segments, playlists and thumbnails go up as they
are written (a failed upload keeps them all, playable); the server's default storage takes the
outputs of requests that name none."""
import os
import socket
import subprocess
import time

import grpc
import pytest

from conftest import BINARY
from media import Publisher, probe
from s3_server import S3Server
from test_recording import stop_and_finish, wait_for
from test_segments import entries


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


def record(server, stubs, api, room, file_output, seconds=4):
    e = stubs.egress
    alice = Publisher(server, stubs, room, "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name=room, identity="alice", preset=e.H264_720P_30, file_outputs=[file_output]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(seconds)
        return started, stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()


def test_a_recording_is_uploaded_to_s3(server, stubs, api, s3, tmp_path):
    e = stubs.egress
    upload = s3.upload(stubs, metadata={"room": "r-s3", "team": "blue"}, tagging="kind=meeting&year=2026",
                       content_disposition='attachment; filename="meeting.mp4"')
    started, info = record(server, stubs, api, "r-s3", e.EncodedFileOutput(filepath="s3/{room_name}.mp4", s3=upload))
    # The secrets are not echoed, not even in the first answer.
    for echoed in (started, info):
        assert s3.secret not in str(echoed) and s3.access_key not in str(echoed)
        assert echoed.participant.file_outputs[0].s3.secret == "{secret}"
    [file] = info.file_results
    assert file.location == f"{s3.endpoint}/{s3.bucket}/s3/r-s3.mp4" and file.filename == "s3/r-s3.mp4"
    assert not (server.output_dir / "s3/r-s3.mp4").exists()  # uploaded: the local copy is removed
    assert not info.backup_storage_used and "output failed" not in info.details
    head = s3.client.head_object(Bucket=s3.bucket, Key="s3/r-s3.mp4")
    assert head["ContentLength"] == file.size and head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {"room": "r-s3", "team": "blue"}
    assert head["ContentDisposition"] == 'attachment; filename="meeting.mp4"'
    tags = s3.client.get_object_tagging(Bucket=s3.bucket, Key="s3/r-s3.mp4")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("kind", "meeting"), ("year", "2026")]
    # What is in the bucket is a playable recording.
    local = tmp_path / "downloaded.mp4"
    s3.client.download_file(s3.bucket, "s3/r-s3.mp4", str(local))
    assert local.stat().st_size == file.size
    streams, fmt = probe(local)
    assert {s["codec_type"] for s in streams} == {"video", "audio"} and float(fmt["duration"]) > 3.5
    assert s3.secret not in server.log_text()


def test_a_wrong_secret_keeps_the_local_file(server, stubs, api, s3):
    e = stubs.egress
    _, info = record(server, stubs, api, "r-s3-bad", e.EncodedFileOutput(filepath="s3bad/{room_name}.mp4",
                                                                         s3=s3.upload(stubs, secret="not-the-secret")), seconds=3)
    assert info.status == e.EGRESS_COMPLETE
    [file] = info.file_results
    local = server.output_dir / "s3bad/r-s3-bad.mp4"
    assert file.location == str(local) and local.stat().st_size == file.size
    assert info.backup_storage_used
    assert "SignatureDoesNotMatch" in info.details and "kept" in info.details, info.details
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket).get("Contents", [])]
    assert "s3bad/r-s3-bad.mp4" not in keys


def test_a_large_file_goes_up_in_parts(fresh_server, stubs, s3, tmp_path):
    """With 5 MiB parts (the least S3 takes), a recording of about 8 MB — a grainy picture at
    8 Mbit/s for 8 s — goes up as a multipart upload; the object is the whole file, its ETag
    that of a multipart upload (`-<parts>`)."""
    server = fresh_server("--upload-part-size", "5")
    e = stubs.egress
    api = stubs.egress_grpc.EgressStub(server.channel())
    alice = Publisher(server, stubs, "r-s3-parts", "alice")
    alice.send(*alice.camera_and_microphone(), noise=True, size="1280x720")
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-s3-parts", identity="alice",
            advanced=e.EncodingOptions(width=1280, height=720, framerate=30, video_bitrate=8000, audio_bitrate=128),
            file_outputs=[e.EncodedFileOutput(filepath="parts/{room_name}.mp4", s3=s3.upload(stubs))]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(9)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    [file] = info.file_results
    assert file.size > 5 << 20 and not info.backup_storage_used, (file.size, info.details)
    head = s3.client.head_object(Bucket=s3.bucket, Key="parts/r-s3-parts.mp4")
    parts = -(-file.size // (5 << 20))
    assert head["ContentLength"] == file.size and head["ETag"].strip('"').endswith(f"-{parts}"), head
    local = tmp_path / "parts.mp4"
    s3.client.download_file(s3.bucket, "parts/r-s3-parts.mp4", str(local))
    streams, fmt = probe(local)
    assert {s["codec_type"] for s in streams} == {"video", "audio"} and float(fmt["duration"]) > 8


@pytest.mark.parametrize("fields, field", [
    ({"bucket": ""}, "s3.bucket"),
    ({"secret": ""}, "s3.secret"),
    ({"tagging": "a=b\r\nx-amz-acl: public-read"}, "s3.tagging"),
    ({"metadata": {"bad name": "x"}}, "s3.metadata"),
    ({"metadata": {"k": "v\nx"}}, "s3.metadata"),
    ({"endpoint": "ftp://host"}, "s3.endpoint"),
    ({"bucket": "a/../b"}, "s3.bucket"),
])
def test_hostile_s3_fields_are_refused(server, stubs, api, s3, fields, field):
    e = stubs.egress
    before = api.ListEgress(e.ListEgressRequest(), timeout=10).items
    with pytest.raises(grpc.RpcError) as refused:
        api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r", identity="x", file_outputs=[e.EncodedFileOutput(s3=s3.upload(stubs, **fields))]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in refused.value.details(), refused.value.details()
    assert api.ListEgress(e.ListEgressRequest(), timeout=10).items == before


def test_other_providers_are_refused_by_name(server, stubs, api):
    e = stubs.egress
    for output, name in [(e.EncodedFileOutput(gcp=e.GCPUpload(bucket="b")), "gcp"),
                         (e.EncodedFileOutput(azure=e.AzureBlobUpload(container_name="c")), "azure"),
                         (e.EncodedFileOutput(aliOSS=e.AliOSSUpload(bucket="b")), "aliOSS")]:
        with pytest.raises(grpc.RpcError) as refused:
            api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="r", identity="x", file_outputs=[output]), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED and refused.value.details().startswith(name), refused.value.details()


def bucket_keys(s3, prefix):
    return sorted(o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix).get("Contents", []))


def test_hls_and_thumbnails_go_up_as_they_are_written(server, stubs, api, s3, tmp_path):
    """Segments, both playlists and images reach the bucket while the egress records; at the end
    the results and the manifest name the bucket's URLs, the bucket's playlist plays, and the
    local copies are gone."""
    e = stubs.egress
    upload = s3.upload(stubs)
    alice = Publisher(server, stubs, "r-s3-hls", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-s3-hls", identity="alice", preset=e.H264_720P_30,
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="s3hls/{room_name}/seg", playlist_name="index.m3u8",
                                                   live_playlist_name="live.m3u8", segment_duration=2, s3=upload)],
            image_outputs=[e.ImageOutput(capture_interval=2, width=320, height=180, filename_prefix="s3img/{room_name}", s3=upload)]),
            timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        # While recording: segments and the playlists are in the bucket already.
        deadline = time.monotonic() + 15
        while not {"s3hls/r-s3-hls/seg_00001.ts", "s3hls/r-s3-hls/index.m3u8", "s3hls/r-s3-hls/live.m3u8"} <= set(bucket_keys(s3, "s3hls/")):
            assert time.monotonic() < deadline, bucket_keys(s3, "s3hls/")
            time.sleep(0.2)
        assert any(k.endswith(".jpeg") for k in bucket_keys(s3, "s3img/"))
        assert started.participant.segment_outputs[0].s3.secret == "{secret}"
        time.sleep(2)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    assert info.status == e.EGRESS_COMPLETE and not info.backup_storage_used, info.details
    [segments] = info.segment_results
    base = f"{s3.endpoint}/{s3.bucket}/s3hls/r-s3-hls"
    assert (segments.playlist_location, segments.live_playlist_location) == (f"{base}/index.m3u8", f"{base}/live.m3u8")
    keys = bucket_keys(s3, "s3hls/")
    playlist = s3.client.get_object(Bucket=s3.bucket, Key="s3hls/r-s3-hls/index.m3u8")["Body"].read().decode()
    assert "#EXT-X-ENDLIST" in playlist
    listed = [uri for _, uri in entries(playlist)]
    assert len(listed) == segments.segment_count >= 3 and all(f"s3hls/r-s3-hls/{uri}" in keys for uri in listed), (listed, keys)
    # What is in the bucket plays: the playlist and its segments, downloaded.
    for key in keys:
        s3.client.download_file(s3.bucket, key, str(tmp_path / key.rsplit("/", 1)[1]))
    streams, fmt = probe(tmp_path / "index.m3u8")
    assert sorted(s["codec_name"] for s in streams) == ["aac", "h264"] and float(fmt["duration"]) > 5
    [images] = info.image_results
    jpegs = bucket_keys(s3, "s3img/")
    assert len(jpegs) == images.image_count >= 3 and all(k.endswith(".jpeg") for k in jpegs), jpegs
    head = s3.client.head_object(Bucket=s3.bucket, Key=jpegs[0])
    assert head["ContentType"] == "image/jpeg"
    # Uploaded: nothing is left in the output directory but the directories.
    for directory in ("s3hls", "s3img"):
        left = [p for p in (server.output_dir / directory).rglob("*") if p.is_file()]
        assert left == [], left
    assert info.manifest_location == f"{base}/{info.egress_id}.json"
    manifest = s3.client.get_object(Bucket=s3.bucket, Key=f"s3hls/r-s3-hls/{info.egress_id}.json")["Body"].read().decode()
    assert f"{base}/index.m3u8" in manifest and '"image_count"' in manifest


def test_a_failed_hls_upload_keeps_every_segment_playable(server, stubs, api, s3):
    e = stubs.egress
    alice = Publisher(server, stubs, "r-s3-hls-bad", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-s3-hls-bad", identity="alice", preset=e.H264_720P_30,
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="s3hlsbad/seg", segment_duration=2,
                                                   s3=s3.upload(stubs, secret="not-the-secret"))]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(5)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    assert info.status == e.EGRESS_COMPLETE and info.backup_storage_used
    assert "SignatureDoesNotMatch" in info.details and "kept" in info.details, info.details
    [segments] = info.segment_results
    local = server.output_dir / "s3hlsbad/seg.m3u8"
    assert segments.playlist_location == str(local)
    listed = entries(local.read_text())
    assert len(listed) == segments.segment_count >= 2 and all((local.parent / uri).exists() for _, uri in listed)
    streams, fmt = probe(local)
    assert sorted(s["codec_name"] for s in streams) == ["aac", "h264"] and float(fmt["duration"]) > 3.5
    assert bucket_keys(s3, "s3hlsbad/") == []


def test_the_servers_default_storage_takes_outputs_that_name_none(fresh_server, stubs, s3):
    """--s3-bucket and friends, the secret from the environment only: a request without `s3`
    goes to that bucket; the credentials are neither echoed nor logged."""
    server = fresh_server("--s3-bucket", s3.bucket, "--s3-endpoint", s3.endpoint, "--s3-access-key", s3.access_key,
                          "--s3-region", "us-east-1", "--s3-force-path-style", env={"EGRESS_S3_SECRET": s3.secret})
    api = stubs.egress_grpc.EgressStub(server.channel())
    started, info = record(server, stubs, api, "r-s3-default", stubs.egress.EncodedFileOutput(filepath="default/{room_name}.mp4"), 3)
    [file] = info.file_results
    assert file.location == f"{s3.endpoint}/{s3.bucket}/default/r-s3-default.mp4", info.details
    assert s3.client.head_object(Bucket=s3.bucket, Key="default/r-s3-default.mp4")["ContentLength"] == file.size
    assert not (server.output_dir / "default/r-s3-default.mp4").exists()
    for text in (str(started), str(info), server.log_text()):
        assert s3.secret not in text and s3.access_key not in text


def test_default_storage_without_its_secret_does_not_start(s3, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EGRESS_", "AWS_"))}
    ran = subprocess.run([str(BINARY), "--dev", "--port", "0", "--output-dir", str(tmp_path), "--s3-bucket", s3.bucket,
                          "--s3-access-key", s3.access_key], capture_output=True, text=True, timeout=30, env=environment)
    assert ran.returncode != 0 and "EGRESS_S3_SECRET" in ran.stderr, ran.stderr


def test_a_bucket_lost_mid_recording_keeps_every_segment_playable(server, stubs, api):
    """The S3 server dies after the first segments went up: the uploads stop, and every segment
    — those already in the bucket too — stays in the output directory with a playable playlist."""
    e = stubs.egress
    lost = S3Server()
    alice = Publisher(server, stubs, "r-s3-lost", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-s3-lost", identity="alice", preset=e.H264_720P_30,
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="s3lost/seg", segment_duration=2, s3=lost.upload(stubs))]),
            timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        deadline = time.monotonic() + 15
        while "s3lost/seg_00001.ts" not in bucket_keys(lost, "s3lost/"):
            assert time.monotonic() < deadline, bucket_keys(lost, "s3lost/")
            time.sleep(0.2)
        lost.stop()
        time.sleep(4)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
        lost.stop()
    assert info.status == e.EGRESS_COMPLETE and info.backup_storage_used, info.details
    assert "s3lost/" in info.details and "kept" in info.details, info.details
    [segments] = info.segment_results
    local = server.output_dir / "s3lost/seg.m3u8"
    assert segments.playlist_location == str(local)
    listed = entries(local.read_text())
    assert len(listed) == segments.segment_count >= 4, listed
    missing = [uri for _, uri in listed if not (local.parent / uri).exists()]
    assert missing == [], missing  # the ones uploaded before the loss are kept too
    streams, fmt = probe(local)
    assert sorted(s["codec_name"] for s in streams) == ["aac", "h264"] and float(fmt["duration"]) > 5


def test_a_silent_bucket_does_not_hold_the_end_of_a_recording(server, stubs, api):
    """An S3 endpoint that takes connections and never answers: the recording goes on (the
    uploads have their own thread), and its end waits for them at most 30 s: then it is COMPLETE
    with every segment and image kept and backup_storage_used."""
    e = stubs.egress
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
    upload = e.S3Upload(access_key="AKIA", secret="s", region="us-east-1", endpoint=endpoint, bucket="b", force_path_style=True)
    alice = Publisher(server, stubs, "r-s3-silent", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-s3-silent", identity="alice", preset=e.H264_720P_30,
            segment_outputs=[e.SegmentedFileOutput(filename_prefix="silent/seg", segment_duration=1, s3=upload)],
            image_outputs=[e.ImageOutput(capture_interval=1, filename_prefix="silent/img", s3=upload)]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(4)
        # Recording went on meanwhile: segments were cut on time though none went up.
        assert len(entries((server.output_dir / "silent/seg.m3u8").read_text())) >= 2
        api.StopEgress(e.StopEgressRequest(egress_id=started.egress_id), timeout=10)
        stopped = time.monotonic()
        info = wait_for(api, stubs, started.egress_id, e.EGRESS_COMPLETE, e.EGRESS_FAILED, timeout=60)
        took = time.monotonic() - stopped
    finally:
        alice.leave()
        silent.close()
    print(f"MEASURE stop with a silent bucket {took:.1f} s")
    assert 25 < took < 45, took
    assert info.status == e.EGRESS_COMPLETE and info.backup_storage_used, info.details
    assert "still not up" in info.details, info.details
    [segments] = info.segment_results
    listed = entries((server.output_dir / "silent/seg.m3u8").read_text())
    assert len(listed) == segments.segment_count and all((server.output_dir / "silent" / uri).exists() for _, uri in listed)
    [images] = info.image_results
    assert len(list((server.output_dir / "silent").glob("img_*.jpeg"))) == images.image_count >= 4


@pytest.mark.parametrize("flags, says", [
    (["--s3-bucket", "b" * 300], "--s3-bucket"),
    (["--s3-bucket", "b", "--s3-endpoint", "http://user:pw@127.0.0.1:9"], "--s3-endpoint"),
    (["--s3-bucket", "b", "--s3-access-key", "A:K"], "colon"),
    (["--s3-bucket", "b", "--s3-region", "us:east"], "region"),
    (["--s3-access-key", "AK"], "--s3-access-key without --s3-bucket"),
])
def test_hostile_default_storage_flags_are_refused_at_start(tmp_path, flags, says):
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith(("EGRESS_", "AWS_"))}, "EGRESS_S3_SECRET": "x"}
    ran = subprocess.run([str(BINARY), "--dev", "--port", "0", "--output-dir", str(tmp_path), "--s3-access-key", "AK", *flags]
                         if "--s3-access-key" not in flags else [str(BINARY), "--dev", "--port", "0", "--output-dir", str(tmp_path), *flags],
                         capture_output=True, text=True, timeout=30, env=environment)
    first, *_ = ran.stderr.splitlines()
    assert ran.returncode != 0 and first.startswith("Error: ") and says in first, ran.stderr  # one line, whatever the value held
    assert "pw@" not in ran.stderr
