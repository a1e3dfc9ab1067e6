import JSON

/// What a verified LiveKit access token says: who signed it (`iss`, the API key), for whom
/// (`sub`), and its `video` grant.
public struct AccessToken: Sendable, Equatable {
    public var apiKey: String
    public var identity: String
    /// Unix seconds: every accepted token has one.
    public var expiresAt: Int64
    public var notBefore: Int64?
    public var issuedAt: Int64?
    public var video: VideoGrant
    /// A webhook's `sha256` claim: base64 SHA-256 of the body.
    public var sha256: String
    /// The participant's display name and metadata (`name`, `metadata`), for a join.
    public var name: String
    public var metadata: String

    /// LiveKit's `VideoGrant` (the claims it names in lowerCamelCase).
    public struct VideoGrant: Sendable, Equatable {
        public var roomCreate = false
        public var roomList = false
        public var roomRecord = false
        public var roomAdmin = false
        public var roomJoin = false
        /// LiveKit's `canPublish`: true unless the token says false.
        public var canPublish = true
        public var room = ""

        public init() {}
    }

    /// Reads the claims of a token whose signature has been checked. `exp` is required; `exp`,
    /// `nbf` and `iat` must be numbers of seconds in `TokenTime.range`; strings where strings
    /// belong (else the claim is taken as absent) and `true` for a grant.
    init(verifiedClaims claims: JSONValue) throws(AuthError) {
        func string(_ value: JSONValue?) -> String { if case .string(let s)? = value { s } else { "" } }
        func time(_ name: String) throws(AuthError) -> Int64? {
            guard let value = claims[name] else { return nil }
            guard let seconds = TokenTime.seconds(value) else {
                throw .malformed("the token's \(name) claim is not a number of seconds between 1970 and 9999")
            }
            return seconds
        }
        func flag(_ value: JSONValue?) -> Bool { value == .bool(true) }
        apiKey = string(claims["iss"])
        identity = string(claims["sub"])
        guard let expiresAt = try time("exp") else { throw .malformed("the token has no exp claim") }
        self.expiresAt = expiresAt
        notBefore = try time("nbf")
        issuedAt = try time("iat")
        sha256 = string(claims["sha256"])
        name = string(claims["name"])
        metadata = string(claims["metadata"])
        let grant = claims["video"]
        video = VideoGrant()
        video.roomCreate = flag(grant?["roomCreate"])
        video.roomList = flag(grant?["roomList"])
        video.roomRecord = flag(grant?["roomRecord"])
        video.roomAdmin = flag(grant?["roomAdmin"])
        video.roomJoin = flag(grant?["roomJoin"])
        video.canPublish = grant?["canPublish"] != .bool(false)
        video.room = string(grant?["room"])
    }

    /// Claims for a token `apiKey` signs, valid from now for `ttl` seconds.
    public static func claims(apiKey: String, identity: String = "", now: Int64, ttl: Int64, video: VideoGrant,
                              sha256: String? = nil) -> JSONValue {
        var grant: [(String, JSONValue)] = []
        if video.roomCreate { grant.append(("roomCreate", .bool(true))) }
        if video.roomList { grant.append(("roomList", .bool(true))) }
        if video.roomRecord { grant.append(("roomRecord", .bool(true))) }
        if video.roomAdmin { grant.append(("roomAdmin", .bool(true))) }
        if video.roomJoin { grant.append(("roomJoin", .bool(true))) }
        if !video.canPublish { grant.append(("canPublish", .bool(false))) }
        if !video.room.isEmpty { grant.append(("room", .string(video.room))) }
        var members: [(String, JSONValue)] = [("iss", .string(apiKey)), ("nbf", .number(String(now))), ("exp", .number(String(now + ttl)))]
        if !identity.isEmpty { members.append(("sub", .string(identity))) }
        members.append(("video", .object(grant)))
        if let sha256 { members.append(("sha256", .string(sha256))) }
        return .object(members)
    }
}
