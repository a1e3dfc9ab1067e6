import Auth
import HTTP
import NIOCore
import SessionManager
import Support

/// `GET /recordings/<egress_id>/<n>`: the n-th file an egress wrote, to a token with
/// `roomRecord` for the egress's room (a token for every room, without `room`, also does), given
/// as `Authorization: Bearer` or `?access_token=` (a `<video>` element sends no headers).
/// Byte ranges are answered, so players seek; a whole response is at most `maxWholeSize`.
struct RecordingFiles: Sendable {
    static let pathPrefix = "/recordings/"
    /// A ranged response holds at most this much; an open range gets this much and asks again.
    static let maxRangeSize = 8 << 20
    /// Larger files are fetched in ranges.
    static let maxWholeSize = 64 << 20

    let sessions: EgressStore
    let outputDirectory: String
    let verifier: TokenVerifier

    func admit(method: String, path: String, headers: [HeaderField]) -> HTTPAdmission {
        guard method == "GET" || method == "HEAD" else {
            return .refused(PageEndpoint.text(405, "\(method) is not allowed on \(path)", extra: [HeaderField("allow", "GET, HEAD")]))
        }
        return .admitted(value: nil, maxBodySize: 0)
    }

    func respond(_ request: HTTPRequest) -> HTTPResponse {
        let query = Query(request.path)
        let token: AccessToken
        do throws(AuthError) {
            let bearer = request.header("authorization") ?? query["access_token"].map { "Bearer " + $0 }
            token = try verifier.verify(authorization: bearer, now: WallClock.nanoseconds() / 1_000_000_000)
        } catch {
            return PageEndpoint.text(error.isPermissionDenied ? 403 : 401, error.description)
        }
        let path = String(request.path.prefix { $0 != "?" })
        let parts = path.dropFirst(Self.pathPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[1]), index >= 0, let record = sessions.record(String(parts[0])) else {
            return PageEndpoint.text(404, "no recording at \(path): /recordings/<egress_id>/<file number>")
        }
        guard token.video.roomRecord, token.video.room.isEmpty || token.video.room == record.spec.roomName else {
            return PageEndpoint.text(403, "the token has no roomRecord grant for room \"\(record.spec.roomName)\"")
        }
        guard index < record.results.files.count else { return PageEndpoint.text(404, "egress \(record.id) has no file \(index)") }
        let location = record.results.files[index].location
        guard location.hasPrefix(outputDirectory + "/") else {
            return PageEndpoint.text(404, "the file is not on this server: \(location)")
        }
        let reader: ConfinedReader
        do throws(ConfinedFile.Failure) {
            reader = try ConfinedReader(ConfinedPath(root: outputDirectory, relative: String(location.dropFirst(outputDirectory.count + 1))))
        } catch {
            return PageEndpoint.text(404, "\(error)")
        }
        let name = PathText.lastComponent(of: location)
        var headers = PageEndpoint.securityHeaders + [
            HeaderField("content-type", Self.contentType(of: name)), HeaderField("accept-ranges", "bytes"),
        ]
        if query["download"] == "1" {
            headers.append(HeaderField("content-disposition", "attachment; filename=\"\(name.filter { $0 != "\"" && $0 != "\\" && $0.isASCII })\""))
        }
        let size = reader.size
        var range = (start: Int64(0), end: size - 1)
        var status = 200
        if let header = request.header("range") {
            guard let asked = Self.range(header, size: size) else {
                return HTTPResponse(status: 416, headers: headers + [HeaderField("content-range", "bytes */\(size)")])
            }
            range = (asked.start, min(asked.end, asked.start + Int64(Self.maxRangeSize) - 1))
            status = 206
            headers.append(HeaderField("content-range", "bytes \(range.start)-\(range.end)/\(size)"))
        } else if size > Int64(Self.maxWholeSize) {
            return PageEndpoint.text(413, "the file is \(size) bytes; fetch it in byte ranges (Range: bytes=0-)")
        }
        guard request.method == "GET", size > 0 else { return HTTPResponse(status: status, headers: headers) }
        do throws(ConfinedFile.Failure) {
            let bytes = try reader.read(offset: range.start, count: Int(range.end - range.start + 1))
            return HTTPResponse(status: status, headers: headers, body: ByteBuffer(bytes: bytes))
        } catch {
            return PageEndpoint.text(500, "\(error)")
        }
    }

    /// One range of `bytes=a-b`, `bytes=a-` or `bytes=-n` within `size`; nil when unsatisfiable.
    static func range(_ header: String, size: Int64) -> (start: Int64, end: Int64)? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = Int64(last), suffix > 0 else { return nil }
            return (max(0, size - suffix), size - 1)
        }
        guard let start = Int64(first), start >= 0, start < size else { return nil }
        guard !last.isEmpty else { return (start, size - 1) }
        guard let end = Int64(last), end >= start else { return nil }
        return (start, min(end, size - 1))
    }

    static func contentType(of name: String) -> String {
        switch PathText.lastComponent(of: name).split(separator: ".").last?.lowercased() {
        case "mp4", "m4a": "video/mp4"
        case "webm": "video/webm"
        case "ogg": "audio/ogg"
        case "mp3": "audio/mpeg"
        case "ts": "video/mp2t"
        default: "application/octet-stream"
        }
    }
}
