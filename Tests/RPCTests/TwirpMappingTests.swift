import Testing
@testable import RPC

/// Twirp's error table (its spec) against the gRPC codes the handlers throw.
@Suite struct TwirpMappingTests {
    @Test(arguments: [
        (StatusCode.cancelled, "canceled", 408), (.unknown, "unknown", 500), (.invalidArgument, "invalid_argument", 400),
        (.deadlineExceeded, "deadline_exceeded", 408), (.notFound, "not_found", 404), (.alreadyExists, "already_exists", 409),
        (.permissionDenied, "permission_denied", 403), (.resourceExhausted, "resource_exhausted", 429),
        (.failedPrecondition, "failed_precondition", 412), (.aborted, "aborted", 409), (.outOfRange, "out_of_range", 400),
        (.unimplemented, "unimplemented", 501), (.internal, "internal", 500), (.unavailable, "unavailable", 503),
        (.dataLoss, "dataloss", 500), (.unauthenticated, "unauthenticated", 401),
    ])
    func everyStatusHasTwirpsCodeAndHTTPStatus(_ code: StatusCode, _ twirp: String, _ status: Int) {
        let mapped = TwirpError.twirpCode(code)
        #expect(mapped.code == twirp && mapped.status == status)
    }

    @Test func theErrorBodyIsTwirpsJSON() {
        var metadata = Metadata()
        metadata.add("retry-after", "2")
        let body = String(decoding: TwirpError.body(code: "not_found", message: "egress \"x\" not found", metadata: metadata), as: UTF8.self)
        #expect(body == #"{"code":"not_found","msg":"egress \"x\" not found","meta":{"retry-after":"2"}}"#)
    }

    @Test func contentTypesAreReadAsTwirpDoes() {
        #expect(WireFormat(contentType: "application/json") == .json)
        #expect(WireFormat(contentType: "application/json;charset=UTF-8") == .json)
        #expect(WireFormat(contentType: "Application/JSON; charset=utf-8") == .json)
        #expect(WireFormat(contentType: "application/protobuf") == .protobuf)
        #expect(WireFormat(contentType: "application/grpc") == nil)
        #expect(WireFormat(contentType: "text/plain") == nil)
        #expect(WireFormat(contentType: "") == nil)
    }
}
