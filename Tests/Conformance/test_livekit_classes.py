"""LiveKit's own generated classes (livekit-protocol) as the client: requests built with them
reach the server intact (they come back echoed in EgressInfo field for field), and what the
server answers decodes with LiveKit's EgressInfo and ListEgressResponse."""
import grpc
import pytest
from livekit.protocol import egress as lk, models as lkm


def call(server, method, request, response_type):
    rpc = server.channel().unary_unary(f"/livekit.Egress/{method}", request_serializer=type(request).SerializeToString,
                                       response_deserializer=response_type.FromString)
    return rpc(request, timeout=10)


def full_encoding():
    return lk.EncodingOptions(width=1920, height=1080, depth=24, framerate=30, audio_codec=lkm.AAC, audio_bitrate=96,
                              audio_frequency=48000, video_codec=lkm.H264_MAIN, video_bitrate=4500, key_frame_interval=2.5)


def webhooks():
    return [lkm.WebhookConfig(url="http://127.0.0.1:9/hook", signing_key="devkey",
                             filter_params=lkm.FilterParams(include_events=["egress_ended"], exclude_events=["x"]))]


def test_a_fully_populated_participant_request_comes_back_intact(server):
    request = lk.ParticipantEgressRequest(
        room_name="lk-room", identity="alice", screen_share=True, advanced=full_encoding(),
        file_outputs=[lk.EncodedFileOutput(file_type=lk.MP4, filepath="lk/{room_name}-{time}.mp4", disable_manifest=True)],
        stream_outputs=[lk.StreamOutput(protocol=lk.SRT, urls=["srt://127.0.0.1:9000"],
                                        destinations=[lk.StreamDestination(id="d1", url="srt://127.0.0.1:9001")])],
        segment_outputs=[lk.SegmentedFileOutput(protocol=lk.HLS_PROTOCOL, filename_prefix="hls/seg",
                                                playlist_name="hls/index.m3u8", live_playlist_name="hls/live.m3u8",
                                                segment_duration=6, filename_suffix=lk.TIMESTAMP, disable_manifest=True)],
        image_outputs=[lk.ImageOutput(capture_interval=5, width=320, height=180, filename_prefix="img/",
                                      filename_suffix=lk.IMAGE_SUFFIX_TIMESTAMP, image_codec=lkm.IC_JPEG)],
        webhooks=webhooks())
    assert len(request.ListFields()) == 9
    info = call(server, "StartParticipantEgress", request, lk.EgressInfo)
    assert info.participant == request
    assert info.status == lk.EGRESS_STARTING and info.room_name == "lk-room"


def test_track_composite_track_and_unified_requests_come_back_intact(server):
    composite = lk.TrackCompositeEgressRequest(room_name="lk", audio_track_id="TR_a", video_track_id="TR_v",
                                               preset=lk.PORTRAIT_H264_1080P_60, webhooks=webhooks(),
                                               file_outputs=[lk.EncodedFileOutput(filepath="tc.mp4")])
    assert call(server, "StartTrackCompositeEgress", composite, lk.EgressInfo).track_composite == composite

    track = lk.TrackEgressRequest(room_name="lk", track_id="TR_a", webhooks=webhooks(),
                                  file=lk.DirectFileOutput(filepath="tracks/{track_id}", disable_manifest=True))
    assert call(server, "StartTrackEgress", track, lk.EgressInfo).track == track

    unified = lk.StartEgressRequest(
        room_name="lk", preset=lk.H264_720P_60, webhooks=webhooks(),
        media=lk.MediaSource(video_track_id="TR_v", audio=lk.AudioConfig(routes=[
            lk.AudioRoute(track_id="TR_a", channel=lk.AUDIO_CHANNEL_LEFT),
            lk.AudioRoute(participant_kind=lkm.ParticipantInfo.AGENT, channel=lk.AUDIO_CHANNEL_RIGHT)])),
        outputs=[lk.Output(file=lk.FileOutput(file_type=lk.MP4, filepath="u.mp4")),
                 lk.Output(images=lk.ImageOutput(filename_prefix="u/"))])
    assert call(server, "StartEgress", unified, lk.EgressInfo).egress == unified


def test_list_and_stop_answers_decode_with_livekit_classes(server):
    # A participant egress waits for its participant, so it is still STARTING when listed.
    started = call(server, "StartParticipantEgress", lk.ParticipantEgressRequest(
        room_name="lk-list", identity="nobody-yet", file_outputs=[lk.EncodedFileOutput()]), lk.EgressInfo)
    listing = call(server, "ListEgress", lk.ListEgressRequest(room_name="lk-list"), lk.ListEgressResponse)
    assert [i.egress_id for i in listing.items] == [started.egress_id]
    assert listing.items[0] == started
    stopped = call(server, "StopEgress", lk.StopEgressRequest(egress_id=started.egress_id), lk.EgressInfo)
    assert stopped.status == lk.EGRESS_ENDING and stopped.participant == started.participant


def test_livekit_validation_wording(server):
    with pytest.raises(grpc.RpcError) as caught:
        call(server, "StartParticipantEgress", lk.ParticipantEgressRequest(room_name="r"), lk.EgressInfo)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "request has missing or invalid field: identity"
