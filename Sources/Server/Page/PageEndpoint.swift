import Auth
import HTTP
import JSON
import NIOCore
import Support

/// The page at `/`: plain HTML, CSS and JavaScript from `Page/Files` (compiled into the server),
/// which publishes over WHIP and drives the API with the token it is given. With `--dev`,
/// `GET /page/token` mints short-lived tokens for it; otherwise the page asks for one.
struct PageEndpoint: Sendable {
    static let paths: Set<String> = ["/", "/page.js", "/page.css"]
    static let pathPrefix = "/page/"
    /// How long a minted token lasts.
    static let tokenLifetime: Int64 = 15 * 60

    /// The key minted tokens are signed with; nil without `--dev`.
    let minting: (key: String, secret: String)?

    /// Pages are read-only and tokens are minted by GET: no body is read.
    func admit(method: String, path: String, headers: [HeaderField]) -> HTTPAdmission {
        guard method == "GET" || method == "HEAD" else {
            return .refused(Self.text(405, "\(method) is not allowed on \(path)", extra: [HeaderField("allow", "GET, HEAD")]))
        }
        return .admitted(value: nil, maxBodySize: 0)
    }

    func respond(_ request: HTTPRequest) -> HTTPResponse {
        let path = String(request.path.prefix { $0 != "?" })
        switch path {
        case "/": return Self.file(PackageResources.index_html, type: "text/html; charset=utf-8")
        case "/page.js": return Self.file(PackageResources.page_js, type: "text/javascript; charset=utf-8")
        case "/page.css": return Self.file(PackageResources.page_css, type: "text/css; charset=utf-8")
        case "/page/config": return Self.json(.object([("mintsTokens", .bool(minting != nil)), ("whip", .string(WHIPEndpoint.pathPrefix))]))
        case "/page/token": return token(query: Query(request.path))
        default: return Self.text(404, "no page at \(path)")
        }
    }

    /// A token for `room` and `identity`: publish as that participant, list and administer that
    /// room, record it. Only in development mode.
    private func token(query: Query) -> HTTPResponse {
        guard let minting else {
            return Self.text(403, "this server mints no tokens (it runs without --dev): paste a token made with your API key")
        }
        let room = query["room"] ?? "", identity = query["identity"] ?? ""
        for (name, value) in [("room", room), ("identity", identity)] {
            guard !value.isEmpty, value.utf8.count <= 255, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                return Self.text(400, "\(name) must be 1 to 255 bytes of text")
            }
        }
        var grant = AccessToken.VideoGrant()
        grant.room = room
        grant.roomJoin = true
        grant.roomAdmin = true
        grant.roomRecord = true
        let now = WallClock.nanoseconds() / 1_000_000_000
        let claims = AccessToken.claims(apiKey: minting.key, identity: identity, now: now, ttl: Self.tokenLifetime, video: grant)
        return Self.json(.object([("token", .string(JWT.sign(claims, secret: minting.secret))),
                                  ("expiresAt", .number(String(now + Self.tokenLifetime)))]))
    }

    /// Headers every page response carries: nothing is run or framed from elsewhere.
    static let securityHeaders = [
        HeaderField("content-security-policy",
                    "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"),
        HeaderField("x-content-type-options", "nosniff"),
        HeaderField("referrer-policy", "no-referrer"),
        HeaderField("cache-control", "no-store"),
    ]

    static func file(_ bytes: [UInt8], type: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: securityHeaders + [HeaderField("content-type", type)], body: ByteBuffer(bytes: bytes))
    }

    static func json(_ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: 200, headers: securityHeaders + [HeaderField("content-type", "application/json")],
                     body: ByteBuffer(string: value.text))
    }

    static func text(_ status: Int, _ message: String, extra: [HeaderField] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: securityHeaders + extra + [HeaderField("content-type", "text/plain; charset=utf-8")],
                     body: ByteBuffer(string: message + "\n"))
    }
}
