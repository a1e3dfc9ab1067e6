import Testing
@testable import Protobuf

@Suite struct FileDescriptorSetTests {
    let set = FileDescriptorSet.shared

    @Test func everyFileOfProtosIsEmbedded() {
        #expect(set.files.map(\.name).sorted() == [
            "egress_cluster.proto", "egress_ingest.proto", "grpc_health.proto", "grpc_reflection_v1.proto", "grpc_reflection_v1alpha.proto",
            "livekit_egress.proto", "livekit_models.proto", "livekit_room.proto", "livekit_webhook.proto",
        ])
    }

    @Test func symbolsIncludeServicesMethodsNestedMessagesAndEnums() {
        #expect(set.file(containing: "livekit.Egress")?.name == "livekit_egress.proto")
        #expect(set.file(containing: "livekit.Egress.StartParticipantEgress")?.name == "livekit_egress.proto")
        #expect(set.file(containing: "livekit.EgressStatus")?.name == "livekit_egress.proto")
        #expect(set.file(containing: "grpc.health.v1.HealthCheckResponse.ServingStatus")?.name == "grpc_health.proto")
        #expect(set.file(containing: "livekit.Nope") == nil)
    }

    @Test func dependenciesFollowTheFileTransitively() throws {
        let webhook = try #require(set.file(named: "livekit_webhook.proto"))
        #expect(set.withDependencies(webhook).map(\.name) == ["livekit_webhook.proto", "livekit_models.proto", "livekit_egress.proto"])
    }

    @Test func theWalkerStopsAtTruncatedInput() {
        var fields = WireFields([0x0A, 0x05, 0x61])  // field 1, 5 bytes announced, 1 present
        #expect(fields.next() == nil)
    }
}
