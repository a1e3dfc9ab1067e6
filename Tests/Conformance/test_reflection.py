"""gRPC server reflection with a generic client: grpcio-reflection's descriptor database lists
the services and fetches their descriptors, and the API is called through message classes
built from those descriptors alone (no stubs of Protos/ in this process)."""
import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

import tokens

SERVICES = ["egress.ingest.RoomIngest", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection", "livekit.Egress", "livekit.RoomService"]


def test_a_generic_client_lists_the_services_and_calls_the_api(server):
    channel = tokens.signed(server.raw_channel())  # reflection takes any valid token
    database = ProtoReflectionDescriptorDatabase(channel)
    assert sorted(database.get_services()) == SERVICES
    pool = descriptor_pool.DescriptorPool(database)
    egress = pool.FindServiceByName("livekit.Egress")
    assert {m.name for m in egress.methods} >= {"StartParticipantEgress", "StartTrackCompositeEgress", "StartTrackEgress",
                                                 "ListEgress", "StopEgress", "UpdateStream"}
    start = egress.methods_by_name["StartParticipantEgress"]
    Request, Info = GetMessageClass(start.input_type), GetMessageClass(start.output_type)
    request = Request(room_name="reflected", identity="x")
    request.file_outputs.add(filepath="reflected.mp4")
    call = channel.unary_unary("/livekit.Egress/StartParticipantEgress", request_serializer=Request.SerializeToString,
                               response_deserializer=Info.FromString)
    info = call(request, metadata=[tokens.bearer(roomRecord=True)], timeout=10)
    assert info.egress_id.startswith("EG_") and info.room_name == "reflected"
    # Nested and imported types resolve too.
    assert pool.FindMessageTypeByName("livekit.EgressInfo").fields_by_name["file_results"].message_type.full_name == "livekit.FileInfo"
    assert pool.FindEnumTypeByName("livekit.EgressStatus").values_by_name["EGRESS_COMPLETE"].number == 3


def reflect(server, version, *requests):
    channel = server.raw_channel()
    call = channel.stream_stream(f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
                                 request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    return list(call(iter(requests), metadata=[tokens.bearer()], timeout=10))


def test_reflection_needs_a_token_and_refuses_before_reading(server):
    """Any valid token will do (grpcurl's -H sends it); without one, UNAUTHENTICATED at once."""
    channel = server.raw_channel()
    call = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                 request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    with pytest.raises(grpc.RpcError) as refused:
        list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert refused.value.details() == "no authorization token"


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_both_versions_answer_each_request_in_order(server, version):
    R = reflection_pb2.ServerReflectionRequest
    answers = reflect(server, version, R(list_services=""), R(file_containing_symbol="livekit.Egress.StopEgress"),
                      R(file_by_filename="livekit_room.proto"), R(file_containing_symbol="no.Such"),
                      R(all_extension_numbers_of_type="livekit.EgressInfo"), R(host="h", file_by_filename="nope.proto"))
    assert [a.WhichOneof("message_response") for a in answers] == [
        "list_services_response", "file_descriptor_response", "file_descriptor_response", "error_response",
        "all_extension_numbers_response", "error_response"]
    assert sorted(s.name for s in answers[0].list_services_response.service) == SERVICES
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in answers[1].file_descriptor_response.file_descriptor_proto]
    assert [f.name for f in files] == ["livekit_egress.proto", "livekit_models.proto"]  # the file, then its imports
    assert "Egress" in [s.name for s in files[0].service]
    room_files = [descriptor_pb2.FileDescriptorProto.FromString(b).name for b in answers[2].file_descriptor_response.file_descriptor_proto]
    assert room_files == ["livekit_room.proto", "livekit_models.proto", "livekit_egress.proto"]
    assert (answers[3].error_response.error_code, answers[3].error_response.error_message) == (5, "symbol not found: no.Such")
    assert answers[4].all_extension_numbers_response.base_type_name == "livekit.EgressInfo"
    assert answers[5].valid_host == "h" and answers[5].original_request.file_by_filename == "nope.proto"
