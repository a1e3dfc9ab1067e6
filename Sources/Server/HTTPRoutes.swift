import HTTP
import RPC

/// What the API port answers besides gRPC streams: Twirp under `/twirp/`, WHIP under `/whip`,
/// the page at `/` (and `/page/…`), recorded files under `/recordings/`. Each request's head and
/// body go to the one that owns its path.
struct HTTPRoutes: Sendable {
    let twirp: TwirpServer
    let whip: WHIPEndpoint
    let page: PageEndpoint
    let files: RecordingFiles

    private enum Route { case twirp, whip, page, files }

    private static func route(_ target: String) -> Route {
        let path = String(target.prefix { $0 != "?" })
        if path == WHIPEndpoint.pathPrefix || path.hasPrefix(WHIPEndpoint.pathPrefix + "/") { return .whip }
        if PageEndpoint.paths.contains(path) || path.hasPrefix(PageEndpoint.pathPrefix) { return .page }
        if path.hasPrefix(RecordingFiles.pathPrefix) { return .files }
        return .twirp
    }

    func application(streams: @escaping HTTP2StreamHandlerFactory) -> HTTPApplication {
        let (whip, page, files) = (whip, page, files)
        let twirpAdmitter = twirp.admitter, twirpResponder = twirp.responder
        var application = HTTPApplication(
            streams: streams,
            responder: { request in
                switch Self.route(request.path) {
                case .whip: await whip.respond(request)
                case .page: page.respond(request)
                case .files: files.respond(request)
                case .twirp: await twirpResponder(request)
                }
            },
            bufferedPathPrefixes: [TwirpServer.pathPrefix, WHIPEndpoint.pathPrefix, PageEndpoint.pathPrefix, RecordingFiles.pathPrefix],
            admit: { method, path, headers in
                switch Self.route(path) {
                case .whip: whip.admit(method: method, path: path, headers: headers)
                case .page: page.admit(method: method, path: path, headers: headers)
                case .files: files.admit(method: method, path: path, headers: headers)
                case .twirp: twirpAdmitter(method, path, headers)
                }
            })
        application.bufferedPaths = PageEndpoint.paths
        return application
    }
}
