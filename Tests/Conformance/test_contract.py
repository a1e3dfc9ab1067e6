"""The contract: every message, enum and service in Protos/ (package livekit) matches
livekit-protocol's descriptors: names, numbers, types, labels, oneofs, enum values, methods.
livekit_egress.proto mirrors LiveKit's file whole; livekit_models.proto, livekit_room.proto and
livekit_webhook.proto are subsets, so there every field and method we declare must equal LiveKit's."""
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from livekit.protocol import egress as lk_egress, models as lk_models, room as lk_room, webhook as lk_webhook

PROTOS = Path(__file__).resolve().parents[2] / "Protos"


def compile_ours() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        files = [p.name for p in PROTOS.glob("*.proto")]
        rc = protoc.main(["protoc", f"-I{PROTOS}", f"--descriptor_set_out={out}", *files])
        assert rc == 0, "protoc failed on Protos/"
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return {f.name: f for f in fds.file}


def theirs(module) -> descriptor_pb2.FileDescriptorProto:
    f = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(f)
    return f


def index(file: descriptor_pb2.FileDescriptorProto):
    """Flattens a file into {full_name: message or enum descriptor proto}."""
    out = {}

    def walk(prefix, msgs, enums):
        for e in enums:
            out[f"{prefix}.{e.name}"] = e
        for m in msgs:
            name = f"{prefix}.{m.name}"
            out[name] = m
            walk(name, m.nested_type, m.enum_type)

    walk(file.package, file.message_type, file.enum_type)
    return out


def field_shape(m: descriptor_pb2.DescriptorProto):
    shape = {}
    for f in m.field:
        oneof = m.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else None
        shape[f.name] = (f.number, f.type, f.label, f.type_name, oneof, f.proto3_optional,
                         f.options.deprecated)
    return shape


OURS = compile_ours()
OUR_INDEX = {**index(OURS["livekit_egress.proto"]), **index(OURS["livekit_models.proto"]),
             **index(OURS["livekit_room.proto"]), **index(OURS["livekit_webhook.proto"])}
LK_INDEX = {**index(theirs(lk_egress)), **index(theirs(lk_models)), **index(theirs(lk_room)), **index(theirs(lk_webhook))}


@pytest.mark.parametrize("name", sorted(index(OURS["livekit_egress.proto"])))
def test_every_egress_type_matches_livekit(name):
    compare(name)


@pytest.mark.parametrize("name", sorted({**index(OURS["livekit_models.proto"]), **index(OURS["livekit_room.proto"]),
                                        **index(OURS["livekit_webhook.proto"])}))
def test_every_models_room_and_webhook_type_is_a_subset_of_livekit(name):
    assert name in LK_INDEX, f"{name} is not in livekit-protocol"
    ours, lk = OUR_INDEX[name], LK_INDEX[name]
    if isinstance(ours, descriptor_pb2.EnumDescriptorProto):
        assert [(v.name, v.number) for v in ours.value] == [(v.name, v.number) for v in lk.value]
        return
    theirs_shape = field_shape(lk)
    for field, shape in field_shape(ours).items():
        assert theirs_shape.get(field) == shape, f"{name}.{field}"


def test_room_service_methods_match_livekit():
    ours = {s.name: s for s in OURS["livekit_room.proto"].service}["RoomService"]
    lk = {s.name: s for s in theirs(lk_room).service}["RoomService"]
    shape = lambda m: (m.input_type, m.output_type, m.client_streaming, m.server_streaming)
    lk_methods = {m.name: shape(m) for m in lk.method}
    assert {m.name: shape(m) for m in ours.method}.items() <= lk_methods.items()


def compare(name):
    assert name in LK_INDEX, f"{name} is not in livekit-protocol"
    ours, lk = OUR_INDEX[name], LK_INDEX[name]
    if isinstance(ours, descriptor_pb2.EnumDescriptorProto):
        assert [(v.name, v.number) for v in ours.value] == [(v.name, v.number) for v in lk.value]
    else:
        assert field_shape(ours) == field_shape(lk)
        assert [o.name for o in ours.oneof_decl] == [o.name for o in lk.oneof_decl]


def test_every_livekit_egress_type_is_defined():
    missing = sorted(set(index(theirs(lk_egress))) - set(OUR_INDEX))
    assert missing == []


def test_egress_service_matches_livekit():
    ours = {s.name: s for s in OURS["livekit_egress.proto"].service}["Egress"]
    lk = {s.name: s for s in theirs(lk_egress).service}["Egress"]
    shape = lambda s: [(m.name, m.input_type, m.output_type, m.client_streaming, m.server_streaming)
                       for m in s.method]
    assert shape(ours) == shape(lk)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_protos_match_grpcs(version):
    """Both versions are wire-identical to grpc's reflection.proto (grpcio-reflection ships v1alpha)."""
    from grpc_reflection.v1alpha import reflection_pb2
    ours_file, grpc_file = OURS[f"grpc_reflection_{version}.proto"], theirs(reflection_pb2)
    ours, upstream = index(ours_file), index(grpc_file)
    strip = lambda name: name.rsplit(".", 1)[1]
    assert sorted(map(strip, ours)) == sorted(map(strip, upstream))
    package = lambda shape: {k: v[:3] + ((v[3] or "").rsplit(".", 1)[-1],) + v[4:] for k, v in shape.items()}
    for name, message in ours.items():
        assert package(field_shape(message)) == package(field_shape(upstream["grpc.reflection.v1alpha." + strip(name)])), name
    [ours_service], [grpc_service] = ours_file.service, grpc_file.service
    shape = lambda m: (m.name, strip(m.input_type), strip(m.output_type), m.client_streaming, m.server_streaming)
    assert [shape(m) for m in ours_service.method] == [shape(m) for m in grpc_service.method]
