import HTTP
import APIClients
import APIMessages
import Foundation
import Protobuf
import RPCClient

/// Makes the client the commands call through: gRPC over HTTP/2 (h2c for http://, TLS for
/// https://), or Twirp over HTTP/1.1 with `--twirp`; each call signed with a token for the API
/// key that grants what the call needs.
enum APIConnection {
    static func transport(url: String, apiKey: String, apiSecret: String, caFile: String?, twirp: Bool) throws -> any ClientTransport {
        let tokens = APIKeyTokens(apiKey: apiKey, secret: apiSecret)
        if twirp {
            return try TwirpClient(url: url, tokens: tokens, caFile: caFile)
        }
        // LiveKit URLs are often ws(s)://; the API is on the same host and port.
        guard let parsed = HTTPURL(url) else { throw CLIError("--url \(url) is not an http(s):// or ws(s):// URL") }
        var configuration = GRPCClientConfiguration(host: parsed.host, port: parsed.port,
                                                    tls: parsed.isTLS ? .init(caFile: caFile) : nil)
        configuration.defaultTimeout = .seconds(30)
        return try GRPCClient(configuration: configuration, tokens: tokens)
    }
}

/// What the CLI prints on failure (and exits non-zero).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// A failed call as `code: message`, in Twirp's code names (`not_found: egress … not found`).
    init(_ error: RPCError) {
        description = "\(TwirpCodes.code(of: error.code).code): \(error.message)"
    }
}

/// The name a proto enum value has in Protos/ (`EGRESS_ACTIVE`), for tables and flags.
enum ProtoNames {
    static func name(of value: Int32, field: String, in type: MessageDescriptor) -> String {
        type.field(named: field)?.enumType.name(of: value) ?? String(value)
    }

    /// The number of `name` (any case) in the enum of `field`, or nil.
    static func number(of name: String, field: String, in type: MessageDescriptor) -> Int32? {
        type.field(named: field)?.enumType.number(named: name.uppercased())
    }
}
