import HTTP
import Protobuf
@testable import RPC
import Support
import Testing

@Suite struct HeaderCodingTests {
    @Test(arguments: [
        ("1S", Duration.seconds(1)), ("100m", .milliseconds(100)), ("5u", .microseconds(5)), ("7n", .nanoseconds(7)),
        ("2M", .seconds(120)), ("1H", .seconds(3600)), ("99999999m", .milliseconds(99_999_999)),
    ])
    func timeoutsParse(text: String, duration: Duration) {
        #expect(GRPCTimeout.parse(text) == duration)
    }

    @Test(arguments: ["", "S", "1", "1s", "-1S", "123456789S", "1.5S", "soon"])
    func malformedTimeoutsAreRejected(text: String) {
        #expect(GRPCTimeout.parse(text) == nil)
    }

    @Test func grpcMessagesArePercentEncodedBothWays() {
        let message = "unknown service café: 100% ✓\n"
        let encoded = PercentEncoding.encode(message)
        #expect(encoded == "unknown service caf%C3%A9: 100%25 %E2%9C%93%0A")
        #expect(PercentEncoding.decode(encoded) == message)
    }

    @Test func base64DecodesPaddedAndUnpaddedAndRejectsOtherText() {
        #expect(Base64.encode([0, 255, 1]) == "AP8B")
        #expect(Base64.encode([0, 255]) == "AP8=")
        #expect(Base64.decode("AP8=") == [0, 255])
        #expect(Base64.decode("AP8") == [0, 255])
        #expect(Base64.decode("not base64!") == nil)
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Base64.encode(all)) == all)
    }

    @Test func metadataSkipsReservedHeadersAndDecodesBinaryValues() throws {
        let headers = [
            HeaderField("content-type", "application/grpc"), HeaderField("te", "trailers"),
            HeaderField("grpc-timeout", "1S"), HeaderField("x-user", "alice"), HeaderField("x-trace-bin", "AAEC"),
        ]
        let metadata = try GRPCCallHandler.metadata(from: headers).get()
        #expect(metadata.count == 2)
        #expect(metadata["x-user"] == "alice")
        #expect(metadata.binary("x-trace-bin") == [0, 1, 2])
        #expect(throws: RPCError(.invalidArgument, "metadata x-bad-bin is not valid base64")) {
            try GRPCCallHandler.metadata(from: [HeaderField("x-bad-bin", "%%%")]).get()
        }
    }

    @Test(arguments: [("application/grpc", true), ("application/grpc+proto", true), ("application/grpc; charset=utf-8", true),
                      ("application/grpc+json", false), ("application/json", false), ("", false), ("application/grpcx", false)])
    func contentTypes(value: String, accepted: Bool) {
        #expect(GRPCCallHandler.isGRPCContentType(value) == accepted)
    }
}
