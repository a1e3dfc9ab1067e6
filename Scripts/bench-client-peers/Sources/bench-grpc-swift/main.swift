import BenchSupport
import GRPCCore
import GRPCNIOTransportHTTP2Posix

// grpc-swift-2's client over its SwiftNIO HTTP/2 transport: one connection, calls from many
// tasks, the request and response as bytes (an empty HealthCheckRequest; the response as it comes).
struct Bytes: MessageSerializer, MessageDeserializer {
    func serialize<Output: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Output { Output(message) }
    func deserialize<Input: GRPCContiguousBytes>(_ bytes: Input) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

let arguments = Load.arguments()
let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: arguments.port), transportSecurity: .plaintext)
try await withGRPCClient(transport: transport) { client in
    let check = MethodDescriptor(fullyQualifiedService: "grpc.health.v1.Health", method: "Check")
    await Load.run(arguments, name: "grpc-swift-2") {
        _ = try await client.unary(request: ClientRequest(message: [UInt8]()), descriptor: check, serializer: Bytes(),
                                   deserializer: Bytes(), options: .defaults) { try $0.message }
    }
}
