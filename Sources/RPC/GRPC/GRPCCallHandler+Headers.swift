import HTTP
import Protobuf
import Support

/// The headers of a gRPC call: which content types are gRPC's, custom metadata in and out
/// (`-bin` keys base64-encoded), and the fixed response headers.
extension GRPCCallHandler {
    static let responseHeaders = [
        HeaderField(":status", "200"),
        HeaderField("content-type", "application/grpc"),
        HeaderField("grpc-accept-encoding", MessageEncoding.acceptHeader),
    ]

    static func isGRPCContentType(_ value: String) -> Bool {
        guard value.hasPrefix("application/grpc") else { return false }
        let rest = value.dropFirst("application/grpc".count)
        return rest.isEmpty || rest.hasPrefix("+proto") || rest.hasPrefix(";")
    }

    /// Reserved headers that are not custom metadata.
    private static let reserved: Set<String> = [
        "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "content-length",
    ]

    static func metadata(from headers: [HeaderField]) -> Result<Metadata, RPCError> {
        var metadata = Metadata()
        for field in headers where !reserved.contains(field.name) {
            if field.name.hasSuffix("-bin") {
                guard let bytes = Base64.decode(field.value) else {
                    return .failure(RPCError(.invalidArgument, "metadata \(field.name) is not valid base64"))
                }
                metadata.add(field.name, binary: bytes)
            } else {
                metadata.add(field.name, field.value)
            }
        }
        return .success(metadata)
    }

    static func append(_ metadata: Metadata, to fields: inout [HeaderField]) {
        for (key, value) in metadata {
            switch value {
            case .string(let text): fields.append(HeaderField(key, text))
            case .binary(let bytes): fields.append(HeaderField(key, Base64.encode(bytes)))
            }
        }
    }
}
