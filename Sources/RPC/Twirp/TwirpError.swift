import JSON
import Protobuf

/// Twirp's encoding of the one error model: the code name and HTTP status Twirp gives each
/// status, and its JSON body `{"code","msg","meta"}`.
enum TwirpError {
    /// Twirp's own codes for failures before a method runs.
    static let badRoute = (code: "bad_route", status: 404)
    static let malformed = (code: "malformed", status: 400)

    /// The Twirp code and HTTP status of a gRPC status code (Twirp's error spec).
    static func twirpCode(_ code: StatusCode) -> (code: String, status: Int) {
        TwirpCodes.code(of: code)
    }

    /// The JSON body; `meta` carries the error's text metadata.
    static func body(code: String, message: String, metadata: Metadata = Metadata()) -> [UInt8] {
        var meta: [(String, JSONValue)] = []
        for (key, value) in metadata {
            if case .string(let text) = value { meta.append((key, .string(text))) }
        }
        var members: [(String, JSONValue)] = [("code", .string(code)), ("msg", .string(message))]
        if !meta.isEmpty { members.append(("meta", .object(meta))) }
        return Array(JSONValue.object(members).text.utf8)
    }
}
