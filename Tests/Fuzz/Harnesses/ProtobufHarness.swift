import Protobuf

/// gRPC and Twirp protobuf bodies: the first byte picks a request type (`RequestTypes`), the
/// rest is decoded as that type by protobuf-c, then encoded and decoded again (the same bytes
/// must come back) and written as JSON.
enum ProtobufHarness {
    static func run(_ input: [UInt8]) {
        var input = FuzzInput(input)
        let type = RequestTypes.pick(input.byte())
        guard let message = try? ProtoMessage(decoding: Array(input.rest), as: type) else { return }
        let encoded = message.encoded()
        guard let decoded = try? ProtoMessage(decoding: encoded, as: type) else {
            preconditionFailure("\(type) re-encoded is not decoded back")
        }
        precondition(decoded.encoded() == encoded, "\(type) changes in a protobuf round trip")
        _ = message.json(.twirp).text
        _ = message.json(.webhook).text
    }
}
