import HTTP
import RPC

/// What the API port answers besides gRPC streams: Twirp under `/twirp/`, WHIP under `/whip`.
/// Each request's head and body go to the one that owns its path.
struct HTTPRoutes: Sendable {
    let twirp: TwirpServer
    let whip: WHIPEndpoint

    static func isWHIP(_ path: String) -> Bool {
        path == WHIPEndpoint.pathPrefix || path.hasPrefix(WHIPEndpoint.pathPrefix + "/") || path.hasPrefix(WHIPEndpoint.pathPrefix + "?")
    }

    func application(streams: @escaping HTTP2StreamHandlerFactory) -> HTTPApplication {
        let (twirp, whip) = (twirp, whip)
        let twirpAdmitter = twirp.admitter, twirpResponder = twirp.responder
        return HTTPApplication(
            streams: streams,
            responder: { request in
                Self.isWHIP(request.path) ? await whip.respond(request) : await twirpResponder(request)
            },
            bufferedPathPrefixes: [TwirpServer.pathPrefix, WHIPEndpoint.pathPrefix],
            admit: { method, path, headers in
                Self.isWHIP(path) ? whip.admit(method: method, path: path, headers: headers) : twirpAdmitter(method, path, headers)
            })
    }
}
