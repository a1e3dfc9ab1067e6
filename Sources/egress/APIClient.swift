import Auth
import HTTPClient
import NIOPosix
import Protobuf
#if canImport(Glibc)
import Glibc
#endif

/// Calls the server's API over Twirp (protobuf bodies, HTTP/1.1, https when the URL says so),
/// each call with a fresh token for `apiKey` carrying the grant the call needs — what LiveKit's
/// server SDKs do.
struct APIClient {
    let url: HTTPURL
    let apiKey: String
    let apiSecret: String
    let client: HTTPClient

    init(url: String, apiKey: String, apiSecret: String, caFile: String?) throws {
        // LiveKit URLs are often ws(s)://; the API is on the same host and port over http(s).
        guard let parsed = HTTPURL(url) else { throw CLIError("--url \(url) is not an http(s):// or ws(s):// URL") }
        self.url = parsed
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        client = try HTTPClient(group: MultiThreadedEventLoopGroup.singleton, caFile: caFile)
    }

    /// `service.method(request)`; a Twirp error becomes a `CLIError` with its code and message.
    func call(_ service: String, _ method: String, _ request: ProtoMessage, grant: AccessToken.VideoGrant) async throws -> ProtoMessage {
        guard let descriptor = DescriptorRegistry.shared.service(named: service)?.method(named: method) else {
            throw CLIError("no method \(service)/\(method)")
        }
        let now = WallClock.seconds
        let token = JWT.sign(AccessToken.claims(apiKey: apiKey, now: now, ttl: 600, video: grant), secret: apiSecret)
        let base = url.target.hasSuffix("/") ? String(url.target.dropLast()) : url.target
        let response = try await client.send("POST", url.with(path: "\(base)/twirp/\(service)/\(method)"), headers: [
            ("content-type", "application/protobuf"), ("authorization", "Bearer \(token)"),
        ], body: request.encoded())
        guard response.status == 200 else {
            if let error = try? JSONParser.parse(response.body), case .string(let code)? = error["code"], case .string(let message)? = error["msg"] {
                throw CLIError("\(code): \(message)")
            }
            throw CLIError("HTTP \(response.status) from \(url)")
        }
        do {
            return try response.body.withUnsafeBytes { bytes throws(ProtoError) in try ProtoMessage(decoding: bytes, as: descriptor.output) }
        } catch let error as ProtoError {
            throw CLIError("the answer is not a valid \(descriptor.output.fullName): \(error.message)")
        }
    }
}

/// What the CLI prints on failure (and exits non-zero).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum WallClock {
    static var seconds: Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }
}
