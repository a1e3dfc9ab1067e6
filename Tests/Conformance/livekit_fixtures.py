"""Wire fixtures made with LiveKit's own generated classes (livekit-protocol).

  livekit_fixtures.py make DIR [--with-unknown]
                                   writes DIR/<n>.<full.Name>.bin: every message type of the
                                   Egress API, each field set to a non-default value, and one
                                   variant per oneof member; beside each, protobuf's JSON of it
                                   as LiveKit's server answers Twirp (.twirp.json: proto names,
                                   defaults included) and as its webhooks carry it (.webhook.json:
                                   lowerCamelCase, defaults left out); with --with-unknown also
                                   LiveKit's Room, ParticipantInfo and TrackInfo whole and its
                                   RoomService messages, whose fields Protos/ declares only in
                                   part (a newer peer's fields)
  livekit_fixtures.py make DIR --ours
                                   the same for the services that are not LiveKit's
                                   (egress.ingest, grpc.health.v1, grpc.reflection v1 and
                                   v1alpha), with classes grpcio-tools compiles from Protos/ (in
                                   a process of their own: they share file names with LiveKit's)
  livekit_fixtures.py verify DIR [--ours]
                                   parses every DIR/<n>.<full.Name>.out with the class and
                                   checks it equals the .bin it came from, field for field

Used by the Swift tests `wireRoundTripWithLiveKitClasses` (Swift decodes each .bin with the
descriptors generated from Protos/ and writes what it re-encodes to the .out) and
`generatedTypesRoundTripLiveKitsMessagesKeepingTheFieldsTheyLack` (the same with the generated
Swift types, which keep the fields they do not declare).
"""
import sys
from pathlib import Path

from google.protobuf import descriptor as d
from google.protobuf import json_format
from google.protobuf import symbol_database

FD = d.FieldDescriptor
OURS_FROM_MODELS = {"livekit.TokenPagination", "livekit.FilterParams", "livekit.WebhookConfig"}
# Declared in Protos/ with a subset of LiveKit's fields.
PARTLY_OURS = ["livekit.ParticipantInfo", "livekit.Room", "livekit.TrackInfo"]
# LiveKit's RoomService messages that Protos/livekit_room.proto declares.
ROOM_SERVICE = ["ListRoomsRequest", "ListRoomsResponse", "DeleteRoomRequest", "DeleteRoomResponse", "ListParticipantsRequest",
                "ListParticipantsResponse", "RoomParticipantIdentity", "RemoveParticipantResponse", "MuteRoomTrackRequest",
                "MuteRoomTrackResponse", "CreateRoomRequest", "RoomEgress"]
# Protos/ files of services that are not LiveKit's, and their packages.
OURS = {"egress_cluster.proto": "egress.cluster", "egress_ingest.proto": "egress.ingest", "grpc_health.proto": "grpc.health.v1",
        "grpc_reflection_v1.proto": "grpc.reflection.v1", "grpc_reflection_v1alpha.proto": "grpc.reflection.v1alpha"}


def types(with_unknown=False, ours=False):
    if ours:
        import importlib
        import tempfile
        from grpc_tools import protoc
        protos = Path(__file__).resolve().parents[2] / "Protos"
        out = tempfile.mkdtemp(prefix="egress-fixtures-")
        files = [str(protos / name) for name in OURS] + [str(protos / "livekit_models.proto")]
        assert protoc.main(["protoc", f"-I{protos}", f"--python_out={out}", *files]) == 0, "grpcio-tools could not compile Protos/"
        sys.path.insert(0, out)
        modules = [importlib.import_module(name.replace(".proto", "_pb2")) for name in OURS]
        return [f"{module.DESCRIPTOR.package}.{n}" for module in modules for n in module.DESCRIPTOR.message_types_by_name]
    from livekit.protocol import egress, models, room  # noqa: F401  (registers the types)
    names = [f"livekit.{n}" for n in egress.DESCRIPTOR.message_types_by_name]
    room_service = [f"livekit.{n}" for n in ROOM_SERVICE]
    return names + sorted(OURS_FROM_MODELS) + (PARTLY_OURS + room_service if with_unknown else [])


def scalar(field, seed):
    t = field.type
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return -7 - seed if seed % 2 else 2_000_000_000 - seed
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return 1_700_000_000_123_456_789 + seed
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return 4_000_000_000 - seed
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return 18_000_000_000_000_000_000 - seed
    if t == FD.TYPE_DOUBLE:
        return 2.5 + seed
    if t == FD.TYPE_FLOAT:
        return 0.5
    if t == FD.TYPE_BOOL:
        return True
    if t == FD.TYPE_ENUM:
        values = [v.number for v in field.enum_type.values if v.number != 0]
        return values[seed % len(values)] if values else 0
    if t == FD.TYPE_STRING:
        return f"{field.name}-{seed}-ünïcødé-✓"
    if t == FD.TYPE_BYTES:
        return bytes(range(seed % 7, 40))
    raise AssertionError(field)


def fill(msg, depth, choose):
    """Sets every field; `choose` maps a oneof name to the member to set."""
    for field in msg.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None:
            if choose.get(oneof.name, oneof.fields[0].name) != field.name:
                continue
        seed = field.number
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target = getattr(msg, field.name)
            key_f, val_f = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            for i in range(3):
                if val_f.type == FD.TYPE_MESSAGE:
                    fill(target[scalar(key_f, i)], depth + 1, {})
                else:
                    target[scalar(key_f, i)] = scalar(val_f, i + 1)
        elif field.type == FD.TYPE_MESSAGE:
            if depth > 4:
                continue
            if field.is_repeated:
                for i in range(2):
                    fill(getattr(msg, field.name).add(), depth + 1, {})
            else:
                fill(getattr(msg, field.name), depth + 1, {})
                getattr(msg, field.name).SetInParent()
        elif field.is_repeated:
            getattr(msg, field.name).extend([scalar(field, seed + i) for i in range(3)])
        else:
            setattr(msg, field.name, scalar(field, seed))


def variants(cls):
    """One fully-set message per member of each oneof (the first member for the other oneofs)."""
    oneofs = cls.DESCRIPTOR.oneofs
    choices = [{}] + [{o.name: f.name} for o in oneofs for f in o.fields[1:]]
    for choose in choices:
        msg = cls()
        fill(msg, 0, choose)
        yield msg


def make(out: Path, with_unknown=False, ours=False):
    out.mkdir(parents=True, exist_ok=True)
    names = types(with_unknown, ours)
    db = symbol_database.Default()
    n = 0
    for name in names:
        for msg in variants(db.GetSymbol(name)):
            (out / f"{n:04d}.{name}.bin").write_bytes(msg.SerializeToString())
            (out / f"{n:04d}.{name}.twirp.json").write_text(json_format.MessageToJson(
                msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True))
            (out / f"{n:04d}.{name}.webhook.json").write_text(json_format.MessageToJson(msg))
            n += 1
    print(f"wrote {n} fixtures of {len(names)} types")


def verify(out: Path, ours=False):
    types(ours=ours)  # registers the classes
    db = symbol_database.Default()
    failures, count = [], 0
    for path in sorted(out.glob("*.bin")):
        name = path.name.split(".", 1)[1].rsplit(".", 1)[0]
        cls = db.GetSymbol(name)
        sent = cls.FromString(path.read_bytes())
        back_path = path.with_suffix(".out")
        if not back_path.exists():
            failures.append(f"{path.name}: no .out")
            continue
        back = cls.FromString(back_path.read_bytes())
        count += 1
        if back != sent:
            failures.append(f"{path.name}: differs\n  sent {sent}\n  back {back}")
        if len(sent.ListFields()) == 0 and len(cls.DESCRIPTOR.fields) > 0:
            failures.append(f"{path.name}: fixture has no fields set")
    for f in failures:
        print(f)
    print(f"verified {count} messages, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    cmd, directory = sys.argv[1], Path(sys.argv[2])
    flags = sys.argv[3:]
    sys.exit(make(directory, "--with-unknown" in flags, "--ours" in flags) if cmd == "make" else verify(directory, "--ours" in flags))
