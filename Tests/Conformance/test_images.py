"""Thumbnails (`image_outputs`): JPEGs every `capture_interval` seconds beside a file, from the
same decode; their count, names, size and content (a white picture is white, a muted camera's
black is black); TIMESTAMP and NONE_OVERWRITE names; what is refused at the request."""
import json
import re
import subprocess
import time

import grpc
import numpy as np
import pytest

from media import Publisher, probe
from test_recording import stop_and_finish, wait_for


@pytest.fixture
def api(server, stubs):
    return stubs.egress_grpc.EgressStub(server.channel())


def mean_luma(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", "scale=32:18", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    return float(np.frombuffer(raw, dtype=np.uint8).mean())


def test_thumbnails_every_interval_white_then_black(server, stubs, api):
    e = stubs.egress
    alice = Publisher(server, stubs, "r-images", "alice")
    video, audio = alice.camera_and_microphone()
    alice.send(video, audio, color="white")
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-images", identity="alice", preset=e.H264_720P_30,
            file_outputs=[e.EncodedFileOutput(filepath="img/{room_name}.mp4")],
            image_outputs=[e.ImageOutput(capture_interval=2, width=320, height=180, filename_prefix="img/{room_name}/thumb"),
                           e.ImageOutput(capture_interval=3, filename_prefix="img/latest", filename_suffix=e.IMAGE_SUFFIX_NONE_OVERWRITE),
                           e.ImageOutput(capture_interval=5, filename_prefix="img/at/", filename_suffix=e.IMAGE_SUFFIX_TIMESTAMP)]),
            timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(5)
        alice.mute(video)
        muted_at = time.time()
        time.sleep(6)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    [file] = info.file_results
    seconds = file.duration / 1e9
    directory = server.output_dir / "img/r-images"
    thumbs = sorted(directory.iterdir())
    # One at 0 s, then one every 2 s of the recording.
    assert [p.name for p in thumbs] == [f"thumb_{i:05d}.jpeg" for i in range(len(thumbs))]
    assert len(thumbs) == int(seconds // 2) + 1, (len(thumbs), seconds)
    streams, _ = probe(thumbs[0])
    assert (streams[0]["codec_name"], streams[0]["width"], streams[0]["height"]) == ("mjpeg", 320, 180)
    # Before the mute the picture is white (the flashes are white too); after it, black.
    lumas = [mean_luma(p) for p in thumbs]
    assert lumas[1] > 230 and lumas[2] > 230, lumas
    assert lumas[-1] < 20, lumas
    results = {r.filename_prefix: r for r in info.image_results}
    first = results["img/r-images/thumb"]
    assert first.image_count == len(thumbs)
    assert info.started_at < first.started_at < first.ended_at <= info.ended_at
    assert abs((first.ended_at - first.started_at) / 1e9 - 2 * (len(thumbs) - 1)) < 0.1
    assert first.ended_at / 1e9 > muted_at - 1
    # NONE_OVERWRITE: one file, the latest picture, at the recording's size.
    latest = server.output_dir / "img/latest.jpeg"
    assert results["img/latest"].image_count == int(seconds // 3) + 1
    streams, _ = probe(latest)
    assert (streams[0]["width"], streams[0]["height"]) == (1280, 720)
    assert not list((server.output_dir / "img").glob("*.part"))
    # TIMESTAMP: the default prefix in the directory asked for, then the picture's UTC time.
    stamped = sorted((server.output_dir / "img/at").iterdir())
    assert len(stamped) == int(seconds // 5) + 1
    assert all(re.fullmatch(r"r-images-alice-\d{4}-\d\d-\d\dT\d{6}_\d{8}T\d{9}\.jpeg", p.name) for p in stamped), stamped


def test_images_alone_record_a_participant(server, stubs, api):
    e = stubs.egress
    alice = Publisher(server, stubs, "r-images-only", "alice")
    alice.send(*alice.camera_and_microphone())
    try:
        started = api.StartParticipantEgress(e.ParticipantEgressRequest(
            room_name="r-images-only", identity="alice",
            image_outputs=[e.ImageOutput(capture_interval=1, filename_prefix="only/t")]), timeout=10)
        wait_for(api, stubs, started.egress_id, e.EGRESS_ACTIVE)
        time.sleep(4)
        info = stop_and_finish(api, stubs, started.egress_id)
    finally:
        alice.leave()
    [result] = info.image_results
    assert result.image_count >= 4 and not info.file_results
    assert len(list((server.output_dir / "only").glob("t_*.jpeg"))) == result.image_count
    # The manifest goes beside the images, listing them.
    manifest = server.output_dir / "only" / f"{info.egress_id}.json"
    assert info.manifest_location == str(manifest)
    listed = json.loads(manifest.read_text())["images"]
    assert listed == [{"filename_prefix": "only/t", "image_count": result.image_count,
                       "started_at": result.started_at, "ended_at": result.ended_at}], listed


@pytest.mark.parametrize("image, field", [
    ({"width": 100000}, "width"),
    ({"height": 15}, "height"),
    ({"capture_interval": 10 ** 6}, "capture_interval"),
    ({"filename_prefix": "x" * 240}, "filename_prefix"),
])
def test_bad_image_outputs_are_refused(server, stubs, api, image, field):
    e = stubs.egress
    before = api.ListEgress(e.ListEgressRequest(), timeout=10).items
    with pytest.raises(grpc.RpcError) as refused:
        api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="r-bad-img", identity="x",
                                                             image_outputs=[e.ImageOutput(**image)]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in refused.value.details(), refused.value.details()
    assert api.ListEgress(e.ListEgressRequest(), timeout=10).items == before


def test_images_need_an_encode(server, stubs, api):
    e = stubs.egress
    with pytest.raises(grpc.RpcError) as refused:
        api.StartParticipantEgress(e.ParticipantEgressRequest(room_name="r-img-pass", identity="x", preset=e.PASSTHROUGH,
                                                             image_outputs=[e.ImageOutput()]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "image_outputs" in refused.value.details()
