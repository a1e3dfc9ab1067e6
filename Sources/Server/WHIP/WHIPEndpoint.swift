import Auth
import HTTP
import Ingest
import NIOCore
import RPC
import Support
import WebRTC

/// WHIP (RFC 9725) on the API port: `POST /whip` or `/whip/<room>` with an SDP offer and a
/// LiveKit access token (`roomJoin` + `canPublish`; room and identity from the token) opens a
/// WebRTC session of the hub and answers `201 Created` with the SDP answer and the session's
/// `Location`; `DELETE` on that leaves the room. CORS lets a page of another origin publish
/// (the token travels in `Authorization`, never in cookies).
struct WHIPEndpoint: Sendable {
    static let pathPrefix = "/whip"
    /// Where sessions live: `/whip/sessions/<id>`.
    static let sessionsPrefix = "/whip/sessions/"
    /// An offer of this size is far beyond any real one (a browser's is 5–10 KiB).
    static let maxOfferSize = SessionDescription.maxSize

    let hub: RoomHub
    let verifier: TokenVerifier
    /// In a cluster: where rooms are, and the scheme of the nodes' URLs ("http", "https"). The
    /// offer of a publisher of a room hosted elsewhere is answered by that node (see
    /// `WHIPForwarding.swift`); one of a room hosted here publishes with the room held against
    /// the sweep of unused rooms (`ClusterRouter.hosting`).
    var cluster: (router: ClusterRouter, scheme: String)?

    static let corsHeaders = [
        HeaderField("access-control-allow-origin", "*"),
        HeaderField("access-control-allow-methods", "POST, DELETE, PATCH, OPTIONS"),
        HeaderField("access-control-allow-headers", "authorization, content-type, if-match"),
        HeaderField("access-control-expose-headers", "location, etag, link"),
        HeaderField("access-control-max-age", "600"),
    ]

    /// Refuses a request without a valid token before its body is read, and a too-large offer.
    func admit(method: String, path: String, headers: [HeaderField]) -> HTTPAdmission {
        // Answered from the head alone, whatever body comes with them.
        guard method == "POST" || method == "DELETE" else {
            return method == "OPTIONS" ? .admitted(value: nil, maxBodySize: 0) : .refused(Self.methodNotAllowed(method, path: path))
        }
        switch authenticate(headers.first { $0.name == "authorization" }?.value) {
        case .token(let token): return .admitted(value: token, maxBodySize: Self.maxOfferSize)
        case .refused(let refusal): return .refused(refusal)
        }
    }

    func respond(_ request: HTTPRequest) async -> HTTPResponse {
        let path = String(request.path.prefix { $0 != "?" })
        switch request.method {
        case "OPTIONS":
            return HTTPResponse(status: 204, headers: Self.corsHeaders + [HeaderField("accept-post", "application/sdp")])
        case "POST" where !path.hasPrefix(Self.sessionsPrefix):
            return await publish(request, path: path)
        case "DELETE" where path.hasPrefix(Self.sessionsPrefix):
            return await close(request, sessionID: String(path.dropFirst(Self.sessionsPrefix.count)))
        default:
            return Self.methodNotAllowed(request.method, path: path)
        }
    }

    private static func methodNotAllowed(_ method: String, path: String) -> HTTPResponse {
        if method == "PATCH" && path.hasPrefix(sessionsPrefix) {
            // No trickle ICE or ICE restart: the answer holds every candidate (ICE-lite).
            return error(405, "trickle ICE and ICE restarts are not supported: the answer carries every candidate",
                         extra: [HeaderField("allow", "DELETE, OPTIONS")])
        }
        return error(405, "\(method) is not allowed on \(path)", extra: [HeaderField("allow", "POST, DELETE, OPTIONS")])
    }

    private func publish(_ request: HTTPRequest, path: String) async -> HTTPResponse {
        let token: AccessToken
        switch request.admission as? AccessToken {
        case .some(let admitted): token = admitted
        case .none:
            switch authenticate(request.header("authorization")) {
            case .token(let verified): token = verified
            case .refused(let refusal): return refusal
            }
        }
        let contentType = (request.header("content-type") ?? "").split(separator: ";").first.map { String($0).trimmingEnds().lowercased() } ?? ""
        guard contentType == "application/sdp" else {
            return Self.error(415, "the offer must be sent as Content-Type: application/sdp, not \"\(contentType)\"")
        }
        // The room: the path's, which must be the token's, or the token's.
        var room = token.video.room
        if path.count > Self.pathPrefix.count {
            guard path.hasPrefix(Self.pathPrefix + "/"), let named = Query.percentDecoded(path.dropFirst(Self.pathPrefix.count + 1)), !named.isEmpty,
                  !named.contains("/") else {
                return Self.error(404, "no WHIP endpoint at \(path): POST /whip or /whip/<room>")
            }
            guard named == room else {
                return Self.error(403, "the token's roomJoin grant is for room \"\(room)\", not \"\(named)\"")
            }
            room = named
        }
        do throws(AuthError) {
            try Permission.roomJoin.check(token, room: room, identity: token.identity)
            guard token.video.canPublish else { throw AuthError.permissionDenied("the token does not allow publishing (canPublish is false)") }
            guard !room.isEmpty else { throw AuthError.permissionDenied("the token names no room") }
            guard !token.identity.isEmpty else { throw AuthError.permissionDenied("the token names no identity (sub)") }
        } catch {
            return Self.error(403, error.description)
        }
        guard let offer = String(validating: request.body.readableBytesView, as: UTF8.self) else {
            return Self.error(400, "the offer is not UTF-8 text")
        }
        let screenShare = Query(request.path)["source"] == "screen_share"
        let publish = WebRTCPublishRequest(room: room, identity: token.identity, name: token.name, metadata: token.metadata, offer: offer,
                                           screenShare: screenShare)
        if let cluster {
            do {
                if let target = try await cluster.router.roomNode(placing: room) {
                    return await Self.forward(publish, to: target, from: cluster.router.node, scheme: cluster.scheme)
                }
            } catch {
                return Self.error(503, "the room's node cannot be found now: \(error)")
            }
        }
        do {
            let open = { @Sendable [hub] in try await hub.publishWebRTC(publish) }
            let publication = if let cluster { try await cluster.router.hosting(room, open) } else { try await open() }
            return Self.created(sessionID: publication.sessionID, answer: publication.answer, location: Self.sessionsPrefix + publication.sessionID)
        } catch let error as SDPError {
            return Self.error(400, "bad offer: \(error)")
        } catch let error as HubError {
            switch error {
            case .alreadyExists: return Self.error(409, error.description)
            case .roomFull, .unavailable: return Self.error(503, error.description)
            case .invalidArgument, .notFound: return Self.error(400, error.description)
            }
        } catch let error as RPCError where error.code == .unavailable {
            return Self.error(503, error.message)
        } catch {
            return Self.error(500, "\(error)")
        }
    }

    private func close(_ request: HTTPRequest, sessionID: String) async -> HTTPResponse {
        guard let token = request.admission as? AccessToken else {
            return Self.error(401, "a token is required (Authorization: Bearer <token>)")
        }
        do {
            try await hub.closeWebRTC(sessionID: sessionID, room: token.video.room, identity: token.identity)
            return HTTPResponse(status: 200, headers: Self.corsHeaders)
        } catch {
            return Self.error(404, "WHIP session \(sessionID) not found")
        }
    }

    private enum Authentication {
        case token(AccessToken)
        case refused(HTTPResponse)
    }

    private func authenticate(_ authorization: String?) -> Authentication {
        do throws(AuthError) {
            return .token(try verifier.verify(authorization: authorization, now: WallClock.nanoseconds() / 1_000_000_000))
        } catch {
            if error.isPermissionDenied { return .refused(Self.error(403, error.description)) }
            return .refused(Self.error(401, error.description, extra: [HeaderField("www-authenticate", "Bearer")]))
        }
    }

    static func error(_ status: Int, _ message: String, extra: [HeaderField] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: corsHeaders + extra + [HeaderField("content-type", "text/plain; charset=utf-8")],
                     body: ByteBuffer(string: message + "\n"))
    }
}
