import Testing
@testable import Protobuf

/// protobuf-c reads strings as C strings: a NUL inside one used to cut it short silently
/// (`"x\0/../../y.mp4"` arrived as `"x"`). Such a message is now refused, naming the field.
@Suite struct WireStringsTests {
    /// A length-delimited field.
    func field(_ number: UInt32, _ value: [UInt8]) -> [UInt8] {
        [UInt8(number << 3 | 2), UInt8(value.count)] + value
    }

    let request = DescriptorRegistry.shared.message(named: "livekit.ParticipantEgressRequest")!

    @Test func aNULInATopLevelStringIsRefused() {
        let bytes = field(request.requireField("room_name").number, Array("lob\u{0}by".utf8))
        #expect(throws: ProtoError("livekit.ParticipantEgressRequest.room_name contains a NUL byte", isInvalidValue: true)) {
            try ProtoMessage(decoding: bytes, as: request)
        }
    }

    @Test func aNULInANestedStringIsRefusedWithItsPath() {
        let output = request.requireField("file_outputs")
        let path = field(output.messageType.requireField("filepath").number, Array("x.mp4\u{0}/../../y".utf8))
        let bytes = field(request.requireField("identity").number, Array("alice".utf8)) + field(output.number, path)
        #expect(throws: ProtoError("livekit.ParticipantEgressRequest.file_outputs.filepath contains a NUL byte", isInvalidValue: true)) {
            try ProtoMessage(decoding: bytes, as: request)
        }
    }

    @Test func bytesFieldsAndUnknownFieldsMayHoldNUL() throws {
        // Field 999 is unknown to the type: protobuf-c keeps it aside, nothing is cut.
        let unknown: [UInt8] = [0xBA, 0x3E, 3, 0, 0, 0]
        let decoded = try ProtoMessage(decoding: field(request.requireField("identity").number, Array("alice".utf8)) + unknown, as: request)
        #expect(decoded.string("identity") == "alice")
    }
}
