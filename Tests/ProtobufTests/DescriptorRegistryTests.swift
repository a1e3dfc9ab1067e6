import Testing
@testable import Protobuf

@Suite struct DescriptorRegistryTests {
    @Test func theEgressServiceHasEveryLiveKitMethodInOrder() throws {
        let service = try #require(DescriptorRegistry.shared.service(named: "livekit.Egress"))
        #expect(service.methods.map(\.name) == [
            "StartEgress", "UpdateLayout", "UpdateStream", "ListEgress", "StopEgress",
            "StartRoomCompositeEgress", "StartWebEgress", "StartParticipantEgress",
            "StartTrackCompositeEgress", "StartTrackEgress",
        ])
        #expect(service.method(named: "ListEgress")?.path == "/livekit.Egress/ListEgress")
        #expect(service.method(named: "ListEgress")?.output.fullName == "livekit.ListEgressResponse")
    }

    @Test func fieldsAreFoundByProtoAndJSONNames() throws {
        let info = try #require(DescriptorRegistry.shared.message(named: "livekit.EgressInfo"))
        #expect(info.field(named: "file_results")?.number == 16)
        #expect(info.field(named: "fileResults")?.number == 16)
        #expect(info.field(number: 29)?.name == "egress")
        #expect(info.oneofs.count == 2)
    }

    @Test func enumValuesAreFoundByNameAndNumber() throws {
        let status = try #require(DescriptorRegistry.shared.enumType(named: "livekit.EgressStatus"))
        #expect(status.number(named: "EGRESS_LIMIT_REACHED") == 6)
        #expect(status.name(of: 5) == "EGRESS_ABORTED")
    }
}
