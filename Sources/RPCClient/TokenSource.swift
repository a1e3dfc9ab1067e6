import Auth
import Support

/// Gives each call its access token (`authorization: Bearer <jwt>`).
public protocol TokenSource: Sendable {
    func token(for method: MethodTarget) async throws -> String
}

/// Signs a short-lived LiveKit access token per call with an API key and its secret, granting
/// what the method needs and no more, as LiveKit's server SDKs do: `roomRecord` for the Egress
/// API, `roomList` to list rooms, `roomAdmin` for the request's room, `roomJoin` as the request's
/// participant to publish.
public struct APIKeyTokens: TokenSource {
    public let apiKey: String
    let secret: String
    /// Seconds each token is valid (default 10 minutes).
    public var ttl: Int64 = 600

    public init(apiKey: String, secret: String) {
        self.apiKey = apiKey
        self.secret = secret
    }

    public func token(for method: MethodTarget) async throws -> String {
        var grant = AccessToken.VideoGrant()
        var identity = ""
        switch (method.service, method.method) {
        case ("livekit.Egress", _):
            grant.roomRecord = true
        case ("livekit.RoomService", "ListRooms"):
            grant.roomList = true
        case ("livekit.RoomService", _):
            grant.roomAdmin = true
            grant.room = method.room ?? ""
        case ("egress.ingest.RoomIngest", "GetIngestStats"):
            if let room = method.room, !room.isEmpty {
                grant.roomAdmin = true
                grant.room = room
            } else {
                grant.roomList = true
            }
        case ("egress.ingest.RoomIngest", _):
            grant.roomJoin = true
            grant.room = method.room ?? ""
            identity = method.identity ?? ""
        default:
            // Reflection and anything else: a valid token, no grant.
            break
        }
        let claims = AccessToken.claims(apiKey: apiKey, identity: identity, now: WallClock.nanoseconds() / 1_000_000_000, ttl: ttl, video: grant)
        return JWT.sign(claims, secret: secret)
    }
}

/// A token that is already made (one a caller got elsewhere).
public struct StaticToken: TokenSource {
    let value: String

    public init(_ token: String) {
        value = token
    }

    public func token(for method: MethodTarget) async throws -> String { value }
}
