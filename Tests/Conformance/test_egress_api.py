"""Every RPC of livekit.Egress through grpcio stubs generated from Protos/: answers, state and
every error path, with LiveKit's wording."""
import re
import time

import grpc
import pytest


@pytest.fixture(scope="module")
def api(server, stubs):
    channel = server.channel()
    yield stubs.egress_grpc.EgressStub(channel)
    channel.close()


def mp4(path="rec/{room_name}.mp4", **kw):
    from livekit_egress_pb2 import EncodedFileOutput
    return EncodedFileOutput(filepath=path, **kw)


def participant(stubs, **kw):
    fields = dict(room_name="lobby", identity="alice", file_outputs=[mp4()])
    fields.update(kw)
    return stubs.egress.ParticipantEgressRequest(**fields)


def rpc_error(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=10)
    return caught.value


def listing(api, stubs, **kw):
    return list(api.ListEgress(stubs.egress.ListEgressRequest(**kw), timeout=10).items)


# --- Start* ---------------------------------------------------------------------------------

def test_participant_egress_starts_with_livekit_shaped_info(api, stubs):
    before = time.time_ns()
    request = participant(stubs, screen_share=True, preset=stubs.egress.H264_1080P_30)
    info = api.StartParticipantEgress(request, timeout=10)
    assert re.fullmatch(r"EG_[0-9A-Za-z]{12}", info.egress_id)
    assert info.status == stubs.egress.EGRESS_STARTING
    assert info.room_name == "lobby"
    assert info.source_type == stubs.egress.EGRESS_SOURCE_TYPE_SDK
    assert info.WhichOneof("request") == "participant"
    assert info.participant == request
    assert before <= info.started_at <= time.time_ns()
    assert info.updated_at == info.started_at


def test_track_composite_and_track_egress_echo_their_requests(api, stubs):
    composite = stubs.egress.TrackCompositeEgressRequest(
        room_name="lobby", audio_track_id="TR_audio", video_track_id="TR_video", file_outputs=[mp4()])
    info = api.StartTrackCompositeEgress(composite, timeout=10)
    assert info.WhichOneof("request") == "track_composite" and info.track_composite == composite

    track = stubs.egress.TrackEgressRequest(
        room_name="lobby", track_id="TR_audio", file=stubs.egress.DirectFileOutput(filepath="tracks/"))
    info = api.StartTrackEgress(track, timeout=10)
    assert info.WhichOneof("request") == "track" and info.track == track
    assert info.status == stubs.egress.EGRESS_STARTING


def test_unified_start_egress_with_a_media_source(api, stubs):
    e = stubs.egress
    request = e.StartEgressRequest(
        room_name="lobby",
        media=e.MediaSource(participant_video=e.ParticipantVideo(identity="alice", prefer_screen_share=True),
                            audio=e.AudioConfig(routes=[e.AudioRoute(participant_identity="alice")])),
        advanced=e.EncodingOptions(width=640, height=360, framerate=25),
        outputs=[e.Output(file=e.FileOutput(file_type=e.MP4, filepath="unified.mp4"))])
    info = api.StartEgress(request, timeout=10)
    assert info.WhichOneof("request") == "egress" and info.egress == request


def test_secrets_in_stream_urls_are_redacted_in_the_echo(api, stubs):
    e = stubs.egress
    request = participant(stubs, stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=["rtmp://live.example/app/secret-key"])])
    info = api.StartParticipantEgress(request, timeout=10)
    assert list(info.participant.stream_outputs[0].urls) == ["rtmp://live.example/app/{stream_key}"]


@pytest.mark.parametrize("method,request_kw,message", [
    ("StartParticipantEgress", dict(identity=""), "request has missing or invalid field: identity"),
    ("StartParticipantEgress", dict(room_name=""), "request has missing or invalid field: room_name"),
    ("StartParticipantEgress", dict(file_outputs=[]), "request has missing or invalid field: output"),
    ("StartParticipantEgress", dict(file_outputs=lambda: [mp4(), mp4()]),
     "request has missing or invalid field: filepath (two outputs write rec/{room_name}.mp4)"),
])
def test_participant_validation_errors(api, stubs, method, request_kw, message):
    request_kw = {k: v() if callable(v) else v for k, v in request_kw.items()}
    error = rpc_error(getattr(api, method), participant(stubs, **request_kw))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == message


@pytest.mark.parametrize("options,field", [
    (dict(width=1281), "width"), (dict(width=8), "width"), (dict(height=719), "height"),
    (dict(height=-2), "height"), (dict(depth=12), "depth"), (dict(audio_frequency=12345), "audio_frequency"),
    # Numbers that once reached a trapping conversion when the recording started.
    (dict(key_frame_interval=1e12), "key_frame_interval"), (dict(key_frame_interval=float("inf")), "key_frame_interval"),
    (dict(video_bitrate=2_000_000), "video_bitrate"), (dict(audio_bitrate=2_000_000_000), "audio_bitrate"),
    (dict(video_bitrate=-1), "video_bitrate"),
    (dict(width=7680, height=7680, framerate=240), "width"),  # one encoder's worth is at most 4K at 60 fps
])
def test_invalid_advanced_encoding_names_the_field(api, stubs, options, field):
    request = participant(stubs, advanced=stubs.egress.EncodingOptions(**options))
    error = rpc_error(api.StartParticipantEgress, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"request has missing or invalid field: {field}")


def test_valid_advanced_encoding_is_accepted(api, stubs):
    e = stubs.egress
    options = e.EncodingOptions(width=1920, height=1080, depth=24, framerate=60, audio_codec=stubs.models.OPUS,
                                video_codec=stubs.models.H264_HIGH, key_frame_interval=2.0)
    info = api.StartParticipantEgress(participant(stubs, advanced=options), timeout=10)
    assert info.participant.advanced == options


def test_track_composite_needs_a_track(api, stubs):
    error = rpc_error(api.StartTrackCompositeEgress,
                      stubs.egress.TrackCompositeEgressRequest(room_name="lobby", file_outputs=[mp4()]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "request has missing or invalid field: audio_track_id or video_track_id"


def test_track_egress_needs_a_track_id_and_an_output(api, stubs):
    e = stubs.egress
    error = rpc_error(api.StartTrackEgress, e.TrackEgressRequest(room_name="lobby", file=e.DirectFileOutput()))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "request has missing or invalid field: track_id")
    error = rpc_error(api.StartTrackEgress, e.TrackEgressRequest(room_name="lobby", track_id="TR_1"))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "request has missing or invalid field: output")


@pytest.mark.parametrize("build,message", [
    (lambda e, m: e.TrackCompositeEgressRequest(room_name="r", video_track_id="TR_v",
                                                file_outputs=[mp4("a.ogg", file_type=e.OGG)]),
     "format audio/ogg incompatible with codec video/h264"),
    (lambda e, m: e.ParticipantEgressRequest(room_name="r", identity="a", file_outputs=[mp4("a.ogg", file_type=e.OGG)],
                                             advanced=e.EncodingOptions(audio_codec=m.AAC)),
     "format audio/ogg incompatible with codec audio/aac"),
    (lambda e, m: e.ParticipantEgressRequest(room_name="r", identity="a", file_outputs=[mp4()],
                                             advanced=e.EncodingOptions(video_codec=m.VP8)),
     "format video/mp4 incompatible with codec video/vp8"),
    (lambda e, m: e.ParticipantEgressRequest(room_name="r", identity="a", file_outputs=[mp4("a.mp3", file_type=e.MP3)],
                                             advanced=e.EncodingOptions(audio_codec=m.OPUS)),
     "format audio/mpeg incompatible with codec audio/opus"),
])
def test_codec_and_container_mismatches(api, stubs, build, message):
    request = build(stubs.egress, stubs.models)
    call = api.StartTrackCompositeEgress if request.DESCRIPTOR.name.startswith("TrackComposite") else api.StartParticipantEgress
    error = rpc_error(call, request)
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, message)


def test_an_audio_only_participant_recording_to_ogg_is_accepted(api, stubs):
    info = api.StartParticipantEgress(participant(stubs, file_outputs=[mp4("voice.ogg", file_type=stubs.egress.OGG)]), timeout=10)
    assert info.status == stubs.egress.EGRESS_STARTING


@pytest.mark.parametrize("path", ["../escape.mp4", "a/../../escape.mp4", "/out/../../escape.mp4"])
def test_paths_leaving_the_output_directory_are_rejected(api, stubs, path):
    error = rpc_error(api.StartParticipantEgress, participant(stubs, file_outputs=[mp4(path)]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("request has missing or invalid field: filepath")
    assert "leaves the output directory" in error.details()


@pytest.mark.parametrize("path", ["/etc/passwd", "/tmp/elsewhere/x.mp4", "/out/x.mp4"])
def test_an_absolute_path_elsewhere_is_rooted_at_the_output_directory(api, stubs, path):
    """As in a container whose volume is mounted at the output directory: accepted (where the
    file goes is shown by test_recording's test_an_absolute_path_lands_under_the_output_directory)."""
    info = api.StartParticipantEgress(participant(stubs, file_outputs=[mp4(path)]), timeout=10)
    assert info.status == stubs.egress.EGRESS_STARTING and info.participant.file_outputs[0].filepath == path


def test_an_absolute_path_inside_the_output_directory_is_accepted(api, stubs, server):
    path = f"{server.output_dir}/inside/x.mp4"
    info = api.StartParticipantEgress(participant(stubs, file_outputs=[mp4(path)]), timeout=10)
    assert info.participant.file_outputs[0].filepath == path


def test_uploads_other_than_s3_and_s3_without_credentials_are_refused(api, stubs):
    e = stubs.egress
    error = rpc_error(api.StartParticipantEgress, participant(stubs, file_outputs=[mp4(s3=e.S3Upload(bucket="b", secret="s"))]))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
        "request has missing or invalid field: s3.access_key (empty (this server has no other credentials to use))")
    error = rpc_error(api.StartParticipantEgress, participant(stubs, file_outputs=[mp4(gcp=e.GCPUpload(bucket="b"))]))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED and error.details().startswith("gcp upload is not implemented")


def test_image_outputs_need_video(api, stubs):
    e = stubs.egress
    request = e.TrackCompositeEgressRequest(room_name="r", audio_track_id="TR_a", image_outputs=[e.ImageOutput(filename_prefix="img/")])
    error = rpc_error(api.StartTrackCompositeEgress, request)
    assert error.details() == "request has missing or invalid field: audio_only (image outputs need video)"


def test_unified_start_egress_errors(api, stubs):
    e = stubs.egress
    output = [e.Output(file=e.FileOutput(filepath="x.mp4"))]
    error = rpc_error(api.StartEgress, e.StartEgressRequest(room_name="r", outputs=output))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "request has missing or invalid field: source")
    error = rpc_error(api.StartEgress, e.StartEgressRequest(room_name="r", template=e.TemplateSource(layout="grid"), outputs=output))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED and "browser" in error.details()


@pytest.mark.parametrize("method,request_type", [
    ("StartRoomCompositeEgress", "RoomCompositeEgressRequest"),
    ("StartWebEgress", "WebEgressRequest"),
    ("UpdateLayout", "UpdateLayoutRequest"),
])
def test_browser_based_requests_are_unimplemented_with_a_reason(api, stubs, method, request_type):
    error = rpc_error(getattr(api, method), getattr(stubs.egress, request_type)())
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "browser" in error.details()


# --- Stop, list, update ---------------------------------------------------------------------

def test_stop_moves_to_ending_then_aborted_when_no_media_arrived(api, stubs):
    info = api.StartParticipantEgress(participant(stubs, room_name="stop-room"), timeout=10)
    stopped = api.StopEgress(stubs.egress.StopEgressRequest(egress_id=info.egress_id), timeout=10)
    assert stopped.status == stubs.egress.EGRESS_ENDING
    deadline = time.monotonic() + 5
    while (status := listing(api, stubs, egress_id=info.egress_id)[0].status) == stubs.egress.EGRESS_ENDING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ended = listing(api, stubs, egress_id=info.egress_id)[0]
    assert status == stubs.egress.EGRESS_ABORTED
    assert ended.ended_at >= ended.started_at > 0

    error = rpc_error(api.StopEgress, stubs.egress.StopEgressRequest(egress_id=info.egress_id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "EGRESS_ABORTED" in error.details()


def test_stop_of_an_unknown_egress_is_not_found(api, stubs):
    error = rpc_error(api.StopEgress, stubs.egress.StopEgressRequest(egress_id="EG_doesnotexist"))
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "egress EG_doesnotexist not found")
    error = rpc_error(api.StopEgress, stubs.egress.StopEgressRequest())
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "request has missing or invalid field: egress_id")


def test_list_filters_by_room_id_and_active_newest_first(api, stubs):
    ids = [api.StartParticipantEgress(participant(stubs, room_name="list-room"), timeout=10).egress_id for _ in range(3)]
    api.StopEgress(stubs.egress.StopEgressRequest(egress_id=ids[0]), timeout=10)
    # ENDING is still active; the stopped egress leaves the active list once it has ended.
    deadline = time.monotonic() + 5
    while listing(api, stubs, egress_id=ids[0])[0].status != stubs.egress.EGRESS_ABORTED:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    in_room = [i.egress_id for i in listing(api, stubs, room_name="list-room")]
    assert in_room == list(reversed(ids))
    assert [i.egress_id for i in listing(api, stubs, room_name="list-room", active=True)] == [ids[2], ids[1]]
    assert [i.egress_id for i in listing(api, stubs, egress_id=ids[1])] == [ids[1]]
    assert listing(api, stubs, room_name="no-such-room") == []


def test_list_pages_with_token_pagination(fresh_server, stubs):
    server = fresh_server("--max-live-egresses", "500")
    api = stubs.egress_grpc.EgressStub(server.channel())
    ids = [api.StartParticipantEgress(stubs.egress.ParticipantEgressRequest(
        room_name="paged", identity=f"p{i}", file_outputs=[stubs.egress.EncodedFileOutput()]), timeout=10).egress_id
        for i in range(230)]
    seen, token, pages = [], None, 0
    while True:
        response = api.ListEgress(stubs.egress.ListEgressRequest(
            room_name="paged", page_token=stubs.models.TokenPagination(token=token) if token else None), timeout=10)
        seen += [i.egress_id for i in response.items]
        pages += 1
        if not response.HasField("next_page_token"):
            break
        token = response.next_page_token.token
    assert pages == 3
    assert seen == list(reversed(ids))
    error = rpc_error(api.ListEgress, stubs.egress.ListEgressRequest(page_token=stubs.models.TokenPagination(token="bogus")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in error.details()


def test_update_stream(api, stubs):
    e = stubs.egress
    plain = api.StartParticipantEgress(participant(stubs), timeout=10)
    error = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id=plain.egress_id, add_output_urls=["rtmp://a/b/c"]))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "UpdateStream called on non-streaming egress")

    streaming = api.StartParticipantEgress(
        participant(stubs, stream_outputs=[e.StreamOutput(protocol=e.RTMP, urls=[])]), timeout=10)
    info = api.UpdateStream(e.UpdateStreamRequest(egress_id=streaming.egress_id, add_output_urls=["rtmp://host/live/key1"]), timeout=10)
    # Listed with its key redacted; whether it is live is for a real connection to say (nothing listens here).
    assert [s.url for s in info.stream_results] == ["rtmp://host/live/{stream_key}"]
    assert "key1" not in str(api.ListEgress(e.ListEgressRequest(egress_id=streaming.egress_id), timeout=10))
    info = api.UpdateStream(e.UpdateStreamRequest(egress_id=streaming.egress_id, remove_output_urls=["rtmp://host/live/key1"]), timeout=10)
    assert [s.status for s in info.stream_results] == [e.StreamInfo.FINISHED]

    error = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id=streaming.egress_id, remove_output_urls=["rtmp://host/live/key1"]))
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "stream rtmp://host/live/{stream_key} not found")
    error = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id=streaming.egress_id, add_output_urls=["http://not-rtmp"]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # An RTMP URL must name its app and stream key, as LiveKit's egress requires.
    error = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id=streaming.egress_id, add_output_urls=["rtmp://host/live"]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "rtmp urls must be of format rtmp(s)://{host}(/{path})/{app}/{stream_key}" in error.details()
    # LiveKit's shortcuts are the URLs they stand for; removed by either name.
    info = api.UpdateStream(e.UpdateStreamRequest(egress_id=streaming.egress_id, add_output_urls=["mux://mux-key"]), timeout=10)
    assert info.stream_results[-1].url == "rtmps://global-live.mux.com:443/app/{stream_key}"
    info = api.UpdateStream(e.UpdateStreamRequest(egress_id=streaming.egress_id, remove_output_urls=["mux://mux-key"]), timeout=10)
    assert info.stream_results[-1].status == e.StreamInfo.FINISHED
    assert "mux-key" not in str(api.ListEgress(e.ListEgressRequest(egress_id=streaming.egress_id), timeout=10))
    error = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id="EG_unknown", add_output_urls=["rtmp://a/b/c"]))
    assert error.code() == grpc.StatusCode.NOT_FOUND

    srt = api.StartParticipantEgress(
        participant(stubs, stream_outputs=[e.StreamOutput(protocol=e.SRT, urls=["srt://127.0.0.1:9000"])],
                    advanced=e.EncodingOptions(audio_codec=stubs.models.AAC)), timeout=10)
    error = rpc_error(api.UpdateStream, e.UpdateStreamRequest(egress_id=srt.egress_id, add_output_urls=["rtmp://a/b/c"]))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
        "request has missing or invalid field: add_output_urls (rtmp://a/b/c is not a srt://... url)")


def test_an_oversized_start_request_is_refused(api, stubs):
    error = rpc_error(api.StartParticipantEgress, participant(stubs, identity="x" * 40000))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().endswith("bytes is larger than the 32768 bytes an egress request may have")


def test_a_rejected_request_changes_no_state(api, stubs):
    before = listing(api, stubs)
    for bad in [participant(stubs, identity=""), participant(stubs, file_outputs=[mp4("../x.mp4")])]:
        rpc_error(api.StartParticipantEgress, bad)
    assert listing(api, stubs) == before


def test_over_capacity_is_resource_exhausted_and_changes_nothing(fresh_server, stubs):
    server = fresh_server("--max-live-egresses", "2")
    api = stubs.egress_grpc.EgressStub(server.channel())
    first = [api.StartParticipantEgress(participant(stubs), timeout=10) for _ in range(2)]
    error = rpc_error(api.StartParticipantEgress, participant(stubs))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [i.egress_id for i in listing(api, stubs)] == [first[1].egress_id, first[0].egress_id]
    api.StopEgress(stubs.egress.StopEgressRequest(egress_id=first[0].egress_id), timeout=10)
    deadline = time.monotonic() + 5
    while True:
        try:
            api.StartParticipantEgress(participant(stubs), timeout=10)
            break
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
            time.sleep(0.05)


# --- Health ---------------------------------------------------------------------------------

def test_health_check_list_and_unknown_service(server, stubs):
    h = stubs.health
    health = stubs.health_grpc.HealthStub(server.channel())
    assert health.Check(h.HealthCheckRequest(), timeout=10).status == h.HealthCheckResponse.SERVING
    assert health.Check(h.HealthCheckRequest(service="livekit.Egress"), timeout=10).status == h.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        health.Check(h.HealthCheckRequest(service="nope"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    statuses = health.List(h.HealthListRequest(), timeout=10).statuses
    assert {k: v.status for k, v in statuses.items()} == {"": h.HealthCheckResponse.SERVING,
                                                         "livekit.Egress": h.HealthCheckResponse.SERVING}


def test_health_watch_streams_status_until_shutdown(fresh_server, stubs):
    server = fresh_server()
    h = stubs.health
    watch = stubs.health_grpc.HealthStub(server.channel()).Watch(h.HealthCheckRequest(service="livekit.Egress"), timeout=20)
    assert next(watch).status == h.HealthCheckResponse.SERVING
    unknown = stubs.health_grpc.HealthStub(server.channel()).Watch(h.HealthCheckRequest(service="nope"), timeout=20)
    assert next(unknown).status == h.HealthCheckResponse.SERVICE_UNKNOWN
    unknown.cancel()
    server.process.send_signal(__import__("signal").SIGTERM)
    assert next(watch).status == h.HealthCheckResponse.NOT_SERVING


def test_flags_and_environment_reach_the_settings_they_name(fresh_server):
    server = fresh_server("--max-live-egresses", "300", "--max-concurrent-streams", "50",
                          env={"EGRESS_MAX_RECEIVE_MESSAGE_SIZE": "1000000"})
    log = server.log_text()
    for setting in ["max_live_egresses=300", "max_concurrent_streams=50", "max_receive_message_size=1000000"]:
        assert setting in log, log
