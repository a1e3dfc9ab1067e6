#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (Tests/Fuzz/Corpus/<harness>/) from real
clients' output: tokens signed by PyJWT and LiveKit's AccessToken, request messages built with
the classes grpcio-tools compiles from Protos/ (JSON and protobuf), gRPC and HTTP/1.1 requests as
their clients send them, and RTP/RTCP captured from ffmpeg sending H.264, VP8 and Opus to a UDP
socket. Each file is in its harness's input format (see Tests/Fuzz/Harnesses/*.swift).
Needs: PyJWT, livekit-api, grpcio-tools, ffmpeg. Run from anywhere; rewrites the corpora."""
import glob
import gzip
import json
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from datetime import timedelta
from pathlib import Path

import jwt
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_tools import protoc
from livekit import api

warnings.filterwarnings("ignore", message="The HMAC key is")

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "Tests/Fuzz/Corpus"
PROTOS = ROOT / "Protos"
KEY, SECRET = "devkey", "secret"
# JWTHarness.now (2028-01-01): the seed tokens are valid then.
NOW = 1_830_297_600


def write(harness, name, data):
    directory = CORPUS / harness
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# MARK: jwt: an authorization header value


def signed(claims, secret=SECRET, headers=None, algorithm="HS256"):
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


def jwt_corpus():
    times = {"nbf": NOW - 60, "exp": NOW + 600}
    livekit = (api.AccessToken(KEY, SECRET).with_identity("egress-admin").with_ttl(timedelta(days=3650))
               .with_grants(api.VideoGrants(room_record=True)).to_jwt())
    write("jwt", "livekit-room-record", "Bearer " + livekit)
    publisher = (api.AccessToken(KEY, SECRET).with_identity("alice").with_name("Alice").with_metadata('{"role":"host"}')
                 .with_attributes({"team": "red"}).with_ttl(timedelta(days=3650))
                 .with_grants(api.VideoGrants(room_join=True, room="my-room", can_publish=True, can_subscribe=True,
                                              room_admin=True, room_list=True, room_create=True)).to_jwt())
    write("jwt", "livekit-all-grants", "Bearer " + publisher)
    write("jwt", "pyjwt-minimal-bare", signed({"iss": KEY, "exp": NOW + 60}))
    write("jwt", "pyjwt-full", "Bearer " + signed({"iss": KEY, "sub": "bob", "iat": NOW - 60, **times, "jti": "bob",
                                                   "video": {"roomCreate": True, "roomList": True, "roomRecord": True,
                                                             "roomAdmin": True, "roomJoin": True, "room": "r"}}))
    write("jwt", "pyjwt-webhook-sha256", "Bearer " + signed({"iss": KEY, **times, "sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}))
    write("jwt", "lowercase-scheme-spaces", "  bearer   " + signed({"iss": KEY, **times, "video": {"roomList": True}}) + " \t")
    write("jwt", "expired", "Bearer " + signed({"iss": KEY, "nbf": NOW - 7200, "exp": NOW - 3600}))
    write("jwt", "not-yet-valid", "Bearer " + signed({"iss": KEY, "nbf": NOW + 3600, "exp": NOW + 7200}))
    write("jwt", "unknown-key", "Bearer " + signed({"iss": "otherkey", **times}))
    write("jwt", "wrong-secret", "Bearer " + signed({"iss": KEY, **times}, secret="not-the-secret"))
    write("jwt", "no-exp", "Bearer " + signed({"iss": KEY, "nbf": NOW}))
    write("jwt", "times-as-strings-floats", "Bearer " + signed({"iss": KEY, "nbf": str(NOW), "exp": NOW + 0.5, "iat": 1e300}))
    write("jwt", "times-huge-negative", "Bearer " + signed({"iss": KEY, "nbf": -(2 ** 63), "exp": 2 ** 64}))
    write("jwt", "grants-wrong-types", "Bearer " + signed({"iss": KEY, **times, "sub": 7, "video": {"roomRecord": "true", "room": ["r"]}}))
    write("jwt", "header-kid-typ", "Bearer " + signed({"iss": KEY, **times}, headers={"kid": "devkey", "typ": "JWT", "cty": "x"}))
    write("jwt", "unicode-identity", "Bearer " + signed({"iss": KEY, **times, "sub": "ünïcödé 👋", "name": "\u0000\u202e"}))
    write("jwt", "alg-none", "Bearer " + jwt.encode({"iss": KEY, **times}, None, algorithm="none"))
    write("jwt", "alg-hs512", "Bearer " + signed({"iss": KEY, **times}, algorithm="HS512"))
    token = signed({"iss": KEY, **times})
    header, claims, signature = token.split(".")
    write("jwt", "padded-base64", f"Bearer {header}==.{claims}=.{signature}=")
    write("jwt", "claims-array", "Bearer " + header + "." + jwt.utils.base64url_encode(b'["iss","devkey"]').decode() + "." + signature)
    write("jwt", "two-dots-empty", "Bearer ..")
    write("jwt", "scheme-only", "Bearer")
    write("jwt", "basic-scheme", "Basic ZGV2a2V5OnNlY3JldA==")


# MARK: json, protobuf: a request type's index, then the body


def request_types():
    """RequestTypes.all (every service method's input type, unique, sorted by full name), and a
    message class for every type of Protos/ (in a pool of their own: livekit-api has its own)."""
    out = Path(tempfile.mkdtemp(prefix="fuzz-protos-"))
    files = sorted(glob.glob(str(PROTOS / "*.proto")))
    assert protoc.main(["protoc", f"-I{PROTOS}", f"--descriptor_set_out={out}/set.pb", "--include_imports", *files]) == 0
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString((out / "set.pb").read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_set.file:
        pool.Add(file)
    inputs = {method.input_type.lstrip(".") for file in descriptor_set.file for service in file.service for method in service.method}
    names = sorted(inputs)
    json_dictionary(descriptor_set)
    return names, lambda name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def json_dictionary(descriptor_set):
    """Tests/Fuzz/Dictionaries/json.dict: JSON's tokens, and every field name (proto and
    lowerCamelCase) and enum value name of Protos/, quoted."""
    fields, enums = set(), set()

    def message(m):
        fields.update(name for field in m.field for name in (field.name, field.json_name))
        for nested in m.nested_type:
            message(nested)
        enums.update(v.name for enum in m.enum_type for v in enum.value)
    for file in descriptor_set.file:
        for m in file.message_type:
            message(m)
        enums.update(v.name for enum in file.enum_type for v in enum.value)
    tokens = ["{", "}", "[", "]", ":", ",", '"', "true", "false", "null", r'\"', r"\\", r"\u00", r"\ud83d\ude00",
              "-", "0.", "e+", "E-", "1e308", "-0", '"NaN"', '"Infinity"', '"-Infinity"', "9223372036854775807",
              "18446744073709551615", "2147483648", "-2147483649", '"":']
    write_dictionary("json", "JSON tokens and the field and enum names of Protos/", tokens + [f'"{f}":' for f in sorted(fields)] + [f'"{e}"' for e in sorted(enums)])


def write_dictionary(harness, what, entries):
    """Tests/Fuzz/Dictionaries/<harness>.dict, in libFuzzer's format (quoted, \\ \\" \\xNN escapes)."""
    def quoted(entry):
        data = entry.encode() if isinstance(entry, str) else entry
        escaped = {ord('"'): '\\"', ord("\\"): "\\\\"}
        return '"' + "".join(escaped.get(b) or (chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02X}") for b in data) + '"'
    lines = [f"# {what} (written by Tests/Fuzz/make-corpus.py)"] + [quoted(e) for e in entries]
    (ROOT / f"Tests/Fuzz/Dictionaries/{harness}.dict").write_text("\n".join(lines) + "\n")


REQUESTS = [
    ("livekit.ParticipantEgressRequest", "participant-file", {
        "room_name": "my-room", "identity": "alice", "screen_share": False, "preset": "H264_720P_30",
        "file_outputs": [{"file_type": "MP4", "filepath": "{room_name}/{publisher_identity}-{time}.mp4"}]}),
    ("livekit.ParticipantEgressRequest", "participant-advanced-segments", {
        "room_name": "r", "identity": "bob", "screen_share": True,
        "advanced": {"width": 1280, "height": 720, "depth": 24, "framerate": 30, "audio_codec": "OPUS",
                     "audio_bitrate": 128, "audio_frequency": 48000, "video_codec": "H264_MAIN",
                     "video_bitrate": 3000, "key_frame_interval": 2.5},
        "segment_outputs": [{"protocol": "HLS_PROTOCOL", "filename_prefix": "seg/a", "playlist_name": "a.m3u8",
                             "segment_duration": 6, "s3": {"access_key": "AK", "secret": "S", "bucket": "b",
                                                           "region": "us-east-1", "metadata": {"k": "v", "x": ""}}}]}),
    ("livekit.TrackCompositeEgressRequest", "track-composite", {
        "room_name": "my-room", "audio_track_id": "TR_aaaa", "video_track_id": "TR_bbbb", "preset": "H264_1080P_30",
        "file_outputs": [{"filepath": "composite.mp4"}], "stream_outputs": [{"protocol": "RTMP", "urls": ["rtmp://example/live/key"]}]}),
    ("livekit.TrackEgressRequest", "track-file", {"room_name": "my-room", "track_id": "TR_aaaa",
                                                 "file": {"filepath": "{track_id}.ogg", "disable_manifest": True}}),
    ("livekit.TrackEgressRequest", "track-websocket", {"room_name": "r", "track_id": "TR_x", "websocket_url": "wss://example/ws"}),
    ("livekit.RoomCompositeEgressRequest", "room-composite", {
        "room_name": "r", "layout": "speaker", "audio_only": False, "preset": "PORTRAIT_H264_720P_30",
        "image_outputs": [{"capture_interval": 5, "width": 320, "height": 240, "filename_prefix": "img", "filename_suffix": "IMAGE_SUFFIX_TIMESTAMP", "image_codec": "IC_JPEG"}]}),
    ("livekit.WebEgressRequest", "web", {"url": "https://example.com/", "audio_only": True, "file_outputs": [{"filepath": "web.ogg", "file_type": "OGG"}]}),
    ("livekit.StartEgressRequest", "start-egress", {"room_name": "r", "outputs": [{"file": {"filepath": "x.mp4"}}]}),
    ("livekit.ListEgressRequest", "list-active", {"room_name": "my-room", "active": True}),
    ("livekit.ListEgressRequest", "list-by-id", {"egress_id": "EG_Fg95D6ESLLBD"}),
    ("livekit.StopEgressRequest", "stop", {"egress_id": "EG_Fg95D6ESLLBD"}),
    ("livekit.UpdateStreamRequest", "update-stream", {"egress_id": "EG_x", "add_output_urls": ["rtmp://a/b", "srt://c:9000"],
                                                      "remove_output_urls": ["rtmp://old/key"]}),
    ("livekit.UpdateLayoutRequest", "update-layout", {"egress_id": "EG_x", "layout": "grid"}),
    ("livekit.ListParticipantsRequest", "list-participants", {"room": "my-room"}),
    ("livekit.ListRoomsRequest", "list-rooms", {"names": ["a", "b"]}),
    ("livekit.DeleteRoomRequest", "delete-room", {"room": "my-room"}),
    ("livekit.RoomParticipantIdentity", "participant-identity", {"room": "my-room", "identity": "alice"}),
    ("livekit.MuteRoomTrackRequest", "mute-track", {"room": "my-room", "identity": "alice", "track_sid": "TR_a", "muted": True}),
    ("egress.ingest.JoinRoomRequest", "join-room", {"room": "my-room", "identity": "alice", "name": "Alice"}),
    ("grpc.health.v1.HealthCheckRequest", "health-check", {"service": "livekit.Egress"}),
    ("grpc.reflection.v1.ServerReflectionRequest", "reflection-list", {"host": "", "list_services": ""}),
    ("grpc.reflection.v1.ServerReflectionRequest", "reflection-symbol", {"file_containing_symbol": "livekit.Egress"}),
]


def fill(message_class, fields):
    """A message from its fields in JSON (proto names)."""
    message = message_class()
    json_format.ParseDict(fields, message)
    return message


def message_corpora():
    names, message_class = request_types()
    messages = {}
    for type_name, name, fields in REQUESTS:
        if type_name not in names:
            print(f"skipping {type_name}: not a request type", file=sys.stderr)
            continue
        index = bytes([names.index(type_name)])
        message = fill(message_class(type_name), fields)
        messages[name] = message
        camel = json_format.MessageToJson(message, indent=None).encode()
        write("json", name + ".json", index + camel)
        write("protobuf", name + ".pb", index + message.SerializeToString())
    # JSON as clients write it by hand: proto names, enums by number, 64-bit as strings, nulls, escapes.
    egress = bytes([names.index("livekit.ParticipantEgressRequest")])
    write("json", "proto-names-enum-numbers.json",
          egress + json.dumps({"room_name": "r", "identity": "a\u00e9\\\"", "preset": 3, "file_outputs": [{"file_type": 1, "filepath": "a.mp4"}],
                               "advanced": {"key_frame_interval": "1e-3", "audio_bitrate": "128", "width": 1.0e3}, "webhooks": None}).encode())
    write("json", "curl-readme.json", egress + b'{"roomName": "my-room", "identity": "alice", "fileOutputs": [{"filepath": "alice.mp4"}]}')
    write("json", "unicode-escapes.json", egress + b'{"roomName":"\\ud83d\\ude00\\u00e9\\n\\t\\/","identity":"\\u0000"}')
    write("json", "numbers.json", bytes([names.index("livekit.TrackCompositeEgressRequest")]) +
          b'{"advanced":{"width":-0,"height":2147483647,"framerate":1E2,"keyFrameInterval":-1.5e-300,"videoBitrate":"-2147483648"}}')
    write("json", "nested-arrays.json", bytes([names.index("livekit.UpdateStreamRequest")]) +
          b' { "addOutputUrls" : [ "a" , "b" ] , "removeOutputUrls" : [ ] , "unknown" : [[[{"x":[true,false,null]}]]] } ')
    write("json", "not-an-object.json", egress + b'["roomName", 1, 2.5e10, true]')
    # gRPC bodies: what grpcio sends, one length-prefixed message.
    return names, messages


# MARK: grpc-framing: [flags] [chunk count, sizes] [header length] [headers] [body]


def grpc_seed(headers, body, flags=0, sizes=()):
    block = "".join(f"{k}: {v}\n" for k, v in headers).encode()
    assert len(block) < 256
    return bytes([flags, len(sizes), *sizes, len(block)]) + block + body


def frame(payload, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


def grpc_corpus(messages):
    base = [("content-type", "application/grpc"), ("te", "trailers"), ("user-agent", "grpc-python/1.85.3 grpc-c/52.0.0 (linux; chttp2)")]
    participant = messages["participant-file"].SerializeToString()
    write("grpc-framing", "unary", grpc_seed(base + [("grpc-timeout", "9999983u"), ("authorization", "Bearer x.y.z")], frame(participant), flags=2))
    write("grpc-framing", "unary-chunked", grpc_seed(base + [("grpc-timeout", "10S")], frame(participant), flags=2, sizes=(0, 4, 16)))
    write("grpc-framing", "gzip", grpc_seed(base + [("grpc-encoding", "gzip"), ("grpc-accept-encoding", "identity,deflate,gzip")],
                                            frame(gzip.compress(participant), compressed=True), flags=0b0110))
    write("grpc-framing", "deflate", grpc_seed(base + [("grpc-encoding", "deflate")], frame(zlib.compress(participant), compressed=True), flags=0b1010))
    write("grpc-framing", "gzip-bomb-small-limit", grpc_seed(base + [("grpc-encoding", "gzip")], frame(gzip.compress(bytes(100000)), compressed=True), flags=0b0101))
    write("grpc-framing", "streaming-two-messages", grpc_seed(base, frame(b"\x0a\x03abc") + frame(b""), flags=1, sizes=(3,)))
    write("grpc-framing", "over-limit", grpc_seed(base, frame(bytes(100)), flags=0))
    write("grpc-framing", "truncated", grpc_seed(base, frame(participant)[:-3], flags=2))
    write("grpc-framing", "bad-flag", grpc_seed(base, b"\x02\x00\x00\x00\x01x", flags=2))
    write("grpc-framing", "metadata", grpc_seed(
        [("content-type", "application/grpc+proto"), ("x-grpc-test-echo-initial", "test_initial_metadata_value"),
         ("x-grpc-test-echo-trailing-bin", "q6ur"), ("trace-bin", "AAECAwQFBgcICQoLDA0ODw"), ("custom", "%E2%82%AC 100%"),
         ("grpc-timeout", "1H")], frame(b""), flags=2))
    write("grpc-framing", "timeouts", grpc_seed(
        [("grpc-timeout", t) for t in ["99999999H", "0n", "1M", "100m", "123456789S", "5s", "S", "-1S", " 1S"]], b"", flags=2))
    write("grpc-framing", "percent-text", grpc_seed([("grpc-message", "a%20b%2"), ("grpc-message", "%zz%%41%c3%a9"), ("x", "\u20ac\u0000")], b"", flags=2))


# MARK: http2: [flags] [chunk count, sizes] [bytes from the client], frames made with hyperframe and hpack


def http2_corpus(messages):
    from hpack import Encoder
    from hyperframe.frame import (ContinuationFrame, DataFrame, GoAwayFrame, HeadersFrame, PingFrame, PriorityFrame,
                                  RstStreamFrame, SettingsFrame, WindowUpdateFrame)
    token = signed({"iss": KEY, "nbf": NOW - 60, "exp": NOW + 600, "video": {"roomRecord": True}})

    def headers(encoder, sid, fields, end_stream=False, end_headers=True):
        frame = HeadersFrame(sid, data=encoder.encode(fields))
        if end_headers:
            frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        return frame.serialize()

    def data(sid, body, end_stream=True, pad=0):
        frame = DataFrame(sid, data=body)
        if end_stream:
            frame.flags.add("END_STREAM")
        if pad:
            frame.flags.add("PADDED")
            frame.pad_length = pad
        return frame.serialize()

    def grpc_fields(path, extra=()):
        return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1:7880"),
                ("content-type", "application/grpc"), ("te", "trailers"), ("authorization", f"Bearer {token}"), *extra]

    def twirp_fields(path, content_type="application/json"):
        return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1:7880"),
                ("content-type", content_type), ("authorization", f"Bearer {token}")]

    check = frame(b"")  # grpc.health.v1.HealthCheckRequest{}, length-prefixed
    e = Encoder()
    write("http2", "grpc-check", bytes([1, 0]) + headers(e, 1, grpc_fields("/grpc.health.v1.Health/Check")) + data(1, check))
    e = Encoder()
    write("http2", "grpc-check-chunked-deadline", bytes([1, 3, 1, 9, 200]) + headers(
        e, 1, grpc_fields("/grpc.health.v1.Health/Check", [("grpc-timeout", "100m")])) + data(1, check, pad=7))
    e = Encoder()
    write("http2", "grpc-list-and-watch", bytes([1, 0]) + headers(e, 1, grpc_fields("/grpc.health.v1.Health/List")) + data(1, check)
          + headers(e, 3, grpc_fields("/grpc.health.v1.Health/Watch")) + data(3, check) + RstStreamFrame(3, error_code=8).serialize())
    e = Encoder()
    write("http2", "twirp-json", bytes([1, 0]) + headers(e, 1, twirp_fields("/twirp/grpc.health.v1.Health/Check")) + data(1, b'{"service": ""}'))
    e = Encoder()
    write("http2", "twirp-protobuf-tiny-budget", bytes([1 | 0x10, 0]) + b"".join(
        headers(e, sid, twirp_fields("/twirp/grpc.health.v1.Health/Check", "application/protobuf")) + data(sid, b"")
        for sid in (1, 3, 5, 7)))
    e = Encoder()
    write("http2", "continuation", bytes([1, 0]) + headers(e, 1, grpc_fields("/grpc.health.v1.Health/Check"), end_headers=False)
          + ContinuationFrame(1, data=b"", flags=["END_HEADERS"]).serialize() + data(1, check))
    e = Encoder()
    control = (SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0, SettingsFrame.MAX_FRAME_SIZE: 16384}).serialize()
               + PingFrame(0, opaque_data=b"12345678").serialize() + WindowUpdateFrame(0, window_increment=65535).serialize()
               + PriorityFrame(1, depends_on=0, stream_weight=16).serialize())
    write("http2", "control-frames-zero-window", bytes([1, 0]) + control + headers(e, 1, grpc_fields("/grpc.health.v1.Health/Check"))
          + data(1, check) + WindowUpdateFrame(1, window_increment=100).serialize())
    e = Encoder()
    write("http2", "goaway-then-stream", bytes([1 | 0b0110, 0]) + GoAwayFrame(0, last_stream_id=0, error_code=0).serialize()
          + headers(e, 1, grpc_fields("/grpc.health.v1.Health/Check")) + data(1, check))
    e = Encoder()
    write("http2", "shutdown-mid-call", bytes([1 | 0b1000, 0]) + headers(e, 1, grpc_fields("/grpc.health.v1.Health/Check")))
    write("http2", "preface-only-then-timeout", bytes([0 | 0b0100, 1, 7]) + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    write("http2", "garbage-after-preface", bytes([1, 0]) + b"\x00\x00\x08\x63\x00\x00\x00\x00\x00garbage!")


# MARK: http1: [flags] [chunk count, sizes] [bytes from the client]


def http_seed(data, flags=0, sizes=()):
    return bytes([flags, len(sizes), *sizes]) + data


def twirp(path, body, content_type="application/json", extra=""):
    token = signed({"iss": KEY, "nbf": NOW - 60, "exp": NOW + 600, "video": {"roomRecord": True}})
    return (f"POST /twirp/{path} HTTP/1.1\r\nHost: 127.0.0.1:7880\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def http1_corpus(messages):
    readme = b'{"roomName": "my-room", "identity": "alice", "fileOutputs": [{"filepath": "alice.mp4"}]}'
    write("http1", "twirp-json", http_seed(twirp("livekit.Egress/StartParticipantEgress", readme)))
    write("http1", "twirp-protobuf", http_seed(twirp("livekit.Egress/ListEgress", messages["list-active"].SerializeToString(), "application/protobuf")))
    write("http1", "twirp-chunks", http_seed(twirp("livekit.Egress/StopEgress", b'{"egress_id":"EG_x"}'), sizes=(1, 7, 64)))
    pipelined = twirp("livekit.RoomService/ListRooms", b"{}") + twirp("livekit.Egress/ListEgress", b'{"active":true}', extra="Connection: close\r\n")
    write("http1", "pipelined-keep-alive", http_seed(pipelined))
    write("http1", "pipelined-then-shutdown", http_seed(pipelined, flags=0b1000, sizes=(200,)))
    write("http1", "http10", http_seed(b"POST /twirp/livekit.Egress/ListEgress HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"))
    write("http1", "http10-keep-alive", http_seed(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n"))
    write("http1", "chunked-body", http_seed(b"POST /twirp/livekit.Egress/ListEgress HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                                             b"Content-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n"))
    write("http1", "expect-continue", http_seed(b"POST /twirp/a/b HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"))
    write("http1", "too-large-body-small-limits", http_seed(twirp("livekit.Egress/StartParticipantEgress", readme), flags=0b0100))
    write("http1", "content-length-huge", http_seed(b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"))
    write("http1", "head-too-large-small-limits", http_seed(b"GET / HTTP/1.1\r\nX: " + b"a" * 300 + b"\r\n\r\n", flags=0b0100))
    write("http1", "slow-loris", http_seed(b"POST /twirp/a/b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc", flags=0b10, sizes=(20,)))
    write("http1", "idle-then-request", http_seed(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", flags=0b11, sizes=(18,)))
    write("http1", "malformed", http_seed(b"GET / HTTP/1.1\r\nHost h\r\n\r\n"))
    write("http1", "bad-method-version", http_seed(b"BREW /pot HTCPCP/1.0\r\n\r\n"))
    write("http1", "h2-preface", http_seed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
    write("http1", "duplicate-content-length", http_seed(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"))
    write("http1", "upgrade-h2c", http_seed(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"))


# MARK: rtp, depacketizers: [flags / codec] then [delay ms][length u16][datagram] records


def capture(args, seconds):
    """The datagrams ffmpeg sends to one UDP port (RTP and RTCP muxed), with arrival delays in ms."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    port = sock.getsockname()[1]
    ffmpeg = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-re", *args, "-t", str(seconds), "-f", "rtp",
                               f"rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=300"], stdout=subprocess.DEVNULL)
    datagrams, last = [], None
    try:
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                if ffmpeg.poll() is not None:
                    break
                continue
            now = time.monotonic()
            delay = 0 if last is None else min(255, int((now - last) * 1000))
            last = now
            datagrams.append((delay, data))
    finally:
        ffmpeg.wait()
        sock.close()
    return datagrams


def records(datagrams):
    return b"".join(bytes([delay]) + struct.pack(">H", len(d)) + d for delay, d in datagrams)


def is_rtcp(d):
    return len(d) >= 8 and d[0] >> 6 == 2 and 200 <= d[1] <= 204


def reseq(datagrams, first_seq, first_ts=None):
    """The RTP packets renumbered from `first_seq` (and timestamps shifted to start at `first_ts`)."""
    out, ts0 = [], None
    seq = first_seq
    for delay, d in datagrams:
        if is_rtcp(d):
            out.append((delay, d))
            continue
        d = bytearray(d)
        struct.pack_into(">H", d, 2, seq & 0xFFFF)
        seq += 1
        if first_ts is not None:
            ts = struct.unpack_from(">I", d, 4)[0]
            ts0 = ts if ts0 is None else ts0
            struct.pack_into(">I", d, 4, (first_ts + ts - ts0) & 0xFFFFFFFF)
        out.append((delay, bytes(d)))
    return out


def fit(datagrams, limit):
    """The leading datagrams whose records fit in `limit` bytes."""
    out, size = [], 0
    for delay, d in datagrams:
        size += 3 + len(d)
        if size > limit:
            break
        out.append((delay, d))
    return out


def rtp_corpus():
    sources = {
        "h264": (0, ["-f", "lavfi", "-i", "testsrc=s=160x120:r=15", "-c:v", "libx264", "-preset", "ultrafast",
                     "-tune", "zerolatency", "-g", "8", "-pix_fmt", "yuv420p", "-payload_type", "96", "-ssrc", "1111"]),
        "vp8": (1, ["-f", "lavfi", "-i", "testsrc=s=160x120:r=15", "-c:v", "libvpx", "-deadline", "realtime",
                    "-b:v", "100k", "-g", "8", "-payload_type", "96", "-ssrc", "2222"]),
        "opus": (2, ["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-c:a", "libopus", "-b:a", "24k",
                     "-payload_type", "111", "-ssrc", "3333"]),
    }
    limit = 6000
    for codec, (index, args) in sources.items():
        datagrams = capture(args, 1.2)
        rtp = [(t, d) for t, d in datagrams if not is_rtcp(d)]
        rtcp = [(t, d) for t, d in datagrams if is_rtcp(d)]
        print(f"{codec}: {len(rtp)} RTP, {len(rtcp)} RTCP datagrams", file=sys.stderr)
        start = fit(datagrams, limit)
        # The rtp harness: flags = codec (bits 0-1) and jitter buffer capacity (bits 2-6).
        write("rtp", f"{codec}-in-order", bytes([index | 31 << 2]) + records(start))
        reordered = list(start)
        for i in range(2, len(reordered) - 1, 5):
            reordered[i], reordered[i + 1] = reordered[i + 1], reordered[i]
        write("rtp", f"{codec}-reordered-small-buffer", bytes([index | 3 << 2]) + records(reordered))
        lossy = [p for i, p in enumerate(start) if i % 7 != 3]
        write("rtp", f"{codec}-lossy-late", bytes([index | 15 << 2]) + records(lossy + [(200, start[3][1])]))
        write("rtp", f"{codec}-duplicates", bytes([index | 8 << 2]) + records([p for p in start[:20] for _ in range(2)]))
        wrapped = fit(reseq(datagrams, 65530, 0xFFFFF000), limit)
        write("rtp", f"{codec}-sequence-and-timestamp-wrap", bytes([index | 31 << 2]) + records(wrapped))
        write("rtp", f"{codec}-jump", bytes([index | 31 << 2]) + records(start[:10] + reseq(start[10:20], 40000) + start[20:30]))
        # The depacketizers harness: codec, then the packets.
        write("depacketizers", f"{codec}-in-order", bytes([index]) + records(fit(rtp, limit)))
        write("depacketizers", f"{codec}-lossy", bytes([index]) + records([p for i, p in enumerate(fit(rtp, limit)) if i % 5 != 2]))
        write("depacketizers", f"{codec}-wrap", bytes([index]) + records(fit(reseq(rtp, 65533, 0xFFFFFF00), limit)))
        if rtcp:
            write("rtp", f"{codec}-sender-report-first", bytes([index | 31 << 2]) + records(rtcp[:1] + fit(rtp, limit - 100)))
    # Hand-made payloads the captures lack: STAP-A (SPS+PPS+IDR), padding, header extension, CSRCs.
    def packet(seq, ts, payload, marker=True, pt=96, ssrc=1111, extension=b"", csrcs=(), padding=0):
        first = 0x80 | (0x20 if padding else 0) | (0x10 if extension else 0) | len(csrcs)
        header = struct.pack(">BBHII", first, (0x80 if marker else 0) | pt, seq, ts, ssrc)
        header += b"".join(struct.pack(">I", c) for c in csrcs)
        if extension:
            header += struct.pack(">HH", 0xBEDE, len(extension) // 4) + extension
        return header + payload + (bytes(padding - 1) + bytes([padding]) if padding else b"")
    sps, pps, idr = b"\x67\x42\xc0\x1e\xd9\x00\xa0\x47\xfe\xc8", b"\x68\xce\x3c\x80", b"\x65\x88\x84\x00\x33\xff"
    stap = b"\x18" + b"".join(struct.pack(">H", len(n)) + n for n in (sps, pps, idr))
    fu = [b"\x7c\x85" + b"\x11" * 20, b"\x7c\x05" + b"\x22" * 20, b"\x7c\x45" + b"\x33" * 20]
    h264 = [packet(1, 3000, stap), *(packet(2 + i, 6000, f, marker=(i == 2)) for i, f in enumerate(fu)),
            packet(5, 9000, b"\x41\x9a\x00", extension=b"\x10\xff\x00\x00", csrcs=(7, 8), padding=4)]
    write("depacketizers", "h264-stap-a-fu-a-extension-padding", b"\x00" + records((1, p) for p in h264))
    write("rtp", "h264-stap-a-fu-a-extension-padding", bytes([0 | 31 << 2]) + records((1, p) for p in h264))
    vp8 = [packet(1, 0, b"\x90\x80\x80\x01\x10\x02\x00\x9d\x01\x2a", marker=False, pt=96),
           packet(2, 0, b"\x80\xe0\x80\x01\x00\x12\x34\x56"), packet(3, 3000, b"\x10\x01\x02\x03")]
    write("depacketizers", "vp8-descriptor-extensions", b"\x01" + records((1, p) for p in vp8))
    # RTCP: a compound SR + SDES as ffmpeg sends, and a receiver report.
    sr = struct.pack(">BBHIIIIII", 0x80, 200, 6, 1111, 0xEB8D4C00, 0x80000000, 123456, 10, 1000)
    sdes = b"\x81\xca\x00\x03" + struct.pack(">I", 1111) + b"\x01\x04host\x00\x00"
    rr = struct.pack(">BBHI", 0x80, 201, 1, 1111)
    write("rtp", "rtcp-compound", bytes([0 | 31 << 2]) + records([(0, sr + sdes), (1, rr), *((1, p) for p in h264)]))


def dictionaries():
    write_dictionary("http1", "HTTP/1.1 tokens", [
        "GET ", "POST ", "PUT ", "HEAD ", "OPTIONS ", "CONNECT ", " HTTP/1.1\r\n", " HTTP/1.0\r\n", "HTTP/", "\r\n", "\r\n\r\n",
        ": ", "/twirp/", "livekit.Egress/", "StartParticipantEgress", "ListEgress", "Host: ", "Content-Length: ",
        "Transfer-Encoding: chunked", "Transfer-Encoding: ", "chunked", "Connection: close", "Connection: keep-alive",
        "Connection: Upgrade", "Upgrade: h2c", "Expect: 100-continue", "Content-Type: application/json",
        "Content-Type: application/protobuf", "Authorization: Bearer ", "0\r\n\r\n", "ffffffff\r\n", ";ext=1",
        "Trailer: ", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\t", " ", "999999999999999999999"])
    write_dictionary("grpc-framing", "gRPC header names, values and message prefixes", [
        "content-type: ", "application/grpc", "application/grpc+proto", "application/grpc;", "grpc-timeout: ",
        "grpc-encoding: ", "gzip", "deflate", "identity", "grpc-accept-encoding: ", "te: trailers", "-bin: ", "trace-bin: ",
        "x-grpc-test-echo-initial: ", "x-grpc-test-echo-trailing-bin: ", "99999999H", "1S", "100m", "5u", "7n", "9M",
        "%", "%25", "%C3%A9", "%E2%82%AC", "==", "\n", b"\x00\x00\x00\x00\x00", b"\x01\x00\x00\x00",
        b"\x00\x7f\xff\xff\xff", b"\x1f\x8b\x08\x00", b"\x78\x9c"])
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}').decode()
    claims = [b'{"iss":"devkey",', b'"exp":', b'"nbf":', b'"iat":', b'"sub":"', b'"video":{', b'"roomRecord":true',
              b'"room":"', b'"sha256":"', b'1830297600', b'}', b',']
    write_dictionary("jwt", "the scheme, a JWT header and claims in base64url", [
        "Bearer ", "bearer ", ".", header + ".", "eyJ", "fQ", "In0"] + [jwt.utils.base64url_encode(c).decode() for c in claims])


def main():
    """Rewrites the corpora of the harnesses named on the command line (default: all)."""
    chosen = sys.argv[1:] or ["jwt", "json", "protobuf", "grpc-framing", "http1", "http2", "rtp", "depacketizers"]
    for harness in chosen:
        shutil.rmtree(CORPUS / harness, ignore_errors=True)
    if "jwt" in chosen:
        jwt_corpus()
    names, messages = message_corpora() if {"json", "protobuf", "grpc-framing", "http1"} & set(chosen) else ([], {})
    if "grpc-framing" in chosen:
        grpc_corpus(messages)
    if "http1" in chosen:
        http1_corpus(messages)
    if "http2" in chosen:
        http2_corpus(messages)
    if {"rtp", "depacketizers"} & set(chosen):
        rtp_corpus()
    dictionaries()
    for directory in sorted(CORPUS.iterdir()):
        files = list(directory.iterdir())
        print(f"{directory.name}: {len(files)} seeds, largest {max(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
