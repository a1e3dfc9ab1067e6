/// Twirp's error codes: the code name and HTTP status Twirp gives each gRPC status, and back.
package enum TwirpCodes {
    package static func code(of status: StatusCode) -> (code: String, status: Int) {
        switch status {
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

    /// The status of a Twirp error code; Twirp's own `bad_route` is UNIMPLEMENTED and
    /// `malformed` INTERNAL (as gRPC answers a message it cannot parse); an unknown code UNKNOWN.
    package static func status(of code: String) -> StatusCode {
        switch code {
        case "bad_route": .unimplemented
        case "malformed": .internal
        default: StatusCode.allCases.first { $0 != .ok && Self.code(of: $0).code == code } ?? .unknown
        }
    }
}
