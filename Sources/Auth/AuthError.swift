/// Why a request's token was refused: UNAUTHENTICATED for a missing or bad token,
/// PERMISSION_DENIED for a good token without the grant.
public enum AuthError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing
    case malformed(String)
    case unknownKey(String)
    case badSignature
    case expired
    case notYetValid
    case permissionDenied(String)

    public var description: String {
        switch self {
        case .missing: "no authorization token"
        case .malformed(let why): "invalid authorization token: \(why)"
        case .unknownKey(let key): "invalid authorization token: unknown API key \(key)"
        case .badSignature: "invalid authorization token: bad signature"
        case .expired: "invalid authorization token: expired"
        case .notYetValid: "invalid authorization token: not valid yet"
        case .permissionDenied(let what): "permission denied: \(what)"
        }
    }

    /// Whether this is a good token without the right grant (else the caller is not authenticated).
    public var isPermissionDenied: Bool {
        if case .permissionDenied = self { true } else { false }
    }
}
