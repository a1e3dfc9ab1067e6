import Protobuf

/// Twirp's encoding of the one error model: the code name and HTTP status Twirp gives each
/// status, and its JSON body `{"code","msg","meta"}`.
enum TwirpError {
    /// Twirp's own codes for failures before a method runs.
    static let badRoute = (code: "bad_route", status: 404)
    static let malformed = (code: "malformed", status: 400)

    /// The Twirp code and HTTP status of a gRPC status code (Twirp's error spec).
    static func twirpCode(_ code: StatusCode) -> (code: String, status: Int) {
        switch code {
        case .ok: ("internal", 500)
        case .cancelled: ("canceled", 408)
        case .unknown: ("unknown", 500)
        case .invalidArgument: ("invalid_argument", 400)
        case .deadlineExceeded: ("deadline_exceeded", 408)
        case .notFound: ("not_found", 404)
        case .alreadyExists: ("already_exists", 409)
        case .permissionDenied: ("permission_denied", 403)
        case .resourceExhausted: ("resource_exhausted", 429)
        case .failedPrecondition: ("failed_precondition", 412)
        case .aborted: ("aborted", 409)
        case .outOfRange: ("out_of_range", 400)
        case .unimplemented: ("unimplemented", 501)
        case .internal: ("internal", 500)
        case .unavailable: ("unavailable", 503)
        case .dataLoss: ("dataloss", 500)
        case .unauthenticated: ("unauthenticated", 401)
        }
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
