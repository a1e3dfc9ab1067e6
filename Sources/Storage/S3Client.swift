import CCurl
import CoreMetrics
import Foundation
import SessionManager
import Support

/// Uploads files to an S3 bucket. The requests are signed with AWS Signature V4 by libcurl
/// (`CURLOPT_AWS_SIGV4`), not by hand; the payload is sent unsigned (`UNSIGNED-PAYLOAD`, as
/// S3 allows over TLS), so a file is streamed from disk, never held in memory. Files up to
/// `multipartThreshold` go in one PUT; larger ones as a multipart upload of `partSize` parts
/// (aborted if it fails). Each request is tried up to three times, with a back-off, when the
/// connection fails or S3 answers 5xx or 429.
public struct S3Client: Sendable {
    public let upload: S3Upload
    public var multipartThreshold: Int64 = 64 << 20
    public var partSize: Int64 = 16 << 20
    public var attempts = 3
    /// Seconds one request may take in all, if set (small objects sent as they are written);
    /// otherwise only a transfer slower than 1 kB/s for 30 s is given up (a large file).
    public var requestTimeout: Int?

    public init(_ upload: S3Upload) {
        self.upload = upload
    }

    /// The URL of `key` in the bucket (what a result's `location` says).
    public func url(of key: String) -> String {
        let path = key.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }.joined(separator: "/")
        let region = upload.region.isEmpty ? "us-east-1" : upload.region
        guard !upload.endpoint.isEmpty else {
            return upload.forcePathStyle ? "https://s3.\(region).amazonaws.com/\(upload.bucket)/\(path)"
                : "https://\(upload.bucket).s3.\(region).amazonaws.com/\(path)"
        }
        var endpoint = upload.endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        if upload.forcePathStyle { return "\(endpoint)/\(upload.bucket)/\(path)" }
        guard let schemeEnd = endpoint.range(of: "://") else { return "\(endpoint)/\(upload.bucket)/\(path)" }
        return endpoint[..<schemeEnd.upperBound] + upload.bucket + "." + endpoint[schemeEnd.upperBound...] + "/" + path
    }

    /// Uploads the file at `path` as `key`; returns its URL. Counted in `egress_uploads_total`
    /// (by result) and `egress_upload_bytes_total`.
    public func put(file path: String, as key: String, contentType: String) throws(S3Error) -> String {
        do {
            let (url, size) = try send(file: path, as: key, contentType: contentType)
            Counter(label: "egress_uploads_total", dimensions: [("result", "succeeded")]).increment()
            Counter(label: "egress_upload_bytes_total").increment(by: Int(clamping: size))
            return url
        } catch {
            Counter(label: "egress_uploads_total", dimensions: [("result", "failed")]).increment()
            throw error
        }
    }

    private func send(file path: String, as key: String, contentType: String) throws(S3Error) -> (String, Int64) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw S3Error("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw S3Error("cannot read \(path)") }
        let size = Int64(info.st_size)
        let target = url(of: key)
        let headers = objectHeaders(contentType: contentType)
        if size <= multipartThreshold {
            let response = try send("PUT", target, headers: headers, body: .file(descriptor, offset: 0, length: size))
            try expectSuccess(response, "uploading \(key)")
            return (target, size)
        }
        return (try putMultipart(descriptor, size: size, target: target, key: key, headers: headers), size)
    }

    private func putMultipart(_ descriptor: Int32, size: Int64, target: String, key: String, headers: [String]) throws(S3Error) -> String {
        let created = try send("POST", target + "?uploads=", headers: headers, body: .bytes([]))
        try expectSuccess(created, "starting the multipart upload of \(key)")
        guard let uploadID = Self.element("UploadId", in: created.body) else {
            throw S3Error("starting the multipart upload of \(key): no UploadId in the answer")
        }
        let query = "uploadId=" + Self.encode(uploadID)
        do throws(S3Error) {
            var parts: [String] = []
            var offset: Int64 = 0
            while offset < size {
                let length = min(partSize, size - offset)
                let number = parts.count + 1
                let response = try send("PUT", target + "?partNumber=\(number)&" + query, headers: [],
                                        body: .file(descriptor, offset: offset, length: length))
                try expectSuccess(response, "uploading part \(number) of \(key)")
                guard let etag = response.headers["etag"] else { throw S3Error("uploading part \(number) of \(key): no ETag") }
                parts.append(etag)
                offset += length
            }
            var xml = "<CompleteMultipartUpload>"
            for (index, etag) in parts.enumerated() {
                xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(Self.escapeXML(etag))</ETag></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let completed = try send("POST", target + "?" + query, headers: ["Content-Type: application/xml"], body: .bytes(Array(xml.utf8)))
            try expectSuccess(completed, "completing the multipart upload of \(key)")
            // S3 may answer 200 with an error in the body.
            if Self.element("Code", in: completed.body) != nil {
                throw S3Error("completing the multipart upload of \(key): \(Self.describe(completed))")
            }
            return target
        } catch {
            _ = try? send("DELETE", target + "?" + query, headers: [], body: .bytes([]))
            throw error
        }
    }

    private func objectHeaders(contentType: String) -> [String] {
        var headers = ["Content-Type: \(contentType)"]
        for (name, value) in upload.metadata.sorted(by: { $0.key < $1.key }) { headers.append("x-amz-meta-\(name): \(value)") }
        if !upload.tagging.isEmpty { headers.append("x-amz-tagging: \(upload.tagging)") }
        if !upload.contentDisposition.isEmpty { headers.append("Content-Disposition: \(upload.contentDisposition)") }
        return headers
    }

    private func expectSuccess(_ response: Response, _ what: String) throws(S3Error) {
        guard (200..<300).contains(response.status) else { throw S3Error("\(what): \(Self.describe(response))") }
    }

    /// S3's error code and message, or the HTTP status.
    private static func describe(_ response: Response) -> String {
        let code = element("Code", in: response.body) ?? "HTTP \(response.status)"
        return element("Message", in: response.body).map { "\(code): \($0)" } ?? code
    }

    // MARK: One request

    /// libcurl's process-wide set-up, once, before any request (it is not thread-safe itself).
    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    enum Body {
        case bytes([UInt8])
        case file(Int32, offset: Int64, length: Int64)
    }

    struct Response {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        var body: [UInt8]
    }

    /// Sends a signed request, again after a back-off when it may succeed then.
    private func send(_ method: String, _ url: String, headers: [String], body: Body) throws(S3Error) -> Response {
        var lastError = S3Error("no attempt made")
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { Thread.sleep(forTimeInterval: 0.5 * Double(1 << (attempt - 1))) }
            do {
                let response = try perform(method, url, headers: headers, body: body)
                guard response.status >= 500 || response.status == 429 else { return response }
                lastError = S3Error(Self.describe(response))
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func perform(_ method: String, _ url: String, headers: [String], body: Body) throws(S3Error) -> Response {
        _ = Self.globalInit
        guard let curl = curl_easy_init() else { throw S3Error("libcurl could not start a request") }
        defer { curl_easy_cleanup(curl) }
        let exchange = Exchange(body: body)
        let context = Unmanaged.passRetained(exchange)
        defer { context.release() }
        var list: UnsafeMutablePointer<curl_slist>?
        var all = headers + ["x-amz-content-sha256: UNSIGNED-PAYLOAD"]
        if !upload.sessionToken.isEmpty { all.append("x-amz-security-token: \(upload.sessionToken)") }
        for header in all { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        let region = upload.region.isEmpty ? "us-east-1" : upload.region
        var status: CURLcode = CURLE_OK
        func set(_ code: CURLcode) { if status == CURLE_OK { status = code } }
        set(cc_setopt_string(curl, CURLOPT_URL, url))
        set(cc_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method))
        set(cc_setopt_string(curl, CURLOPT_AWS_SIGV4, "aws:amz:\(region):s3"))
        set(cc_setopt_string(curl, CURLOPT_USERPWD, "\(upload.accessKey):\(upload.secret)"))
        set(cc_setopt_slist(curl, CURLOPT_HTTPHEADER, list))
        set(cc_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        set(cc_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, 10))
        // A transfer slower than 1 kB/s for 30 s is given up.
        set(cc_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1024))
        set(cc_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, 30))
        if let requestTimeout { set(cc_setopt_long(curl, CURLOPT_TIMEOUT, requestTimeout)) }
        set(cc_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(cc_setopt_pointer(curl, CURLOPT_READDATA, context.toOpaque()))
        set(cc_setopt_callback(curl, CURLOPT_READFUNCTION, { buffer, size, count, context in
            guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
            return Unmanaged<Exchange>.fromOpaque(context).takeUnretainedValue().read(into: buffer, size * count)
        }))
        set(cc_setopt_pointer(curl, CURLOPT_WRITEDATA, context.toOpaque()))
        set(cc_setopt_callback(curl, CURLOPT_WRITEFUNCTION, { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            return Unmanaged<Exchange>.fromOpaque(context).takeUnretainedValue().received(buffer, size * count)
        }))
        set(cc_setopt_pointer(curl, CURLOPT_HEADERDATA, context.toOpaque()))
        set(cc_setopt_callback(curl, CURLOPT_HEADERFUNCTION, { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            return Unmanaged<Exchange>.fromOpaque(context).takeUnretainedValue().header(buffer, size * count)
        }))
        set(cc_setopt_long(curl, CURLOPT_UPLOAD, method == "PUT" ? 1 : 0))
        if method == "PUT" {
            set(cc_setopt_offset(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(exchange.length)))
        } else if method == "POST" {
            set(cc_setopt_long(curl, CURLOPT_POST, 1))
            set(cc_setopt_offset(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(exchange.length)))
        }
        guard status == CURLE_OK else { throw S3Error("libcurl refused an option: \(String(cString: curl_easy_strerror(status)))") }
        let result = curl_easy_perform(curl)
        if let failure = exchange.failure { throw S3Error(failure) }
        guard result == CURLE_OK else { throw S3Error("\(method) \(url): \(String(cString: curl_easy_strerror(result)))") }
        var code = 0
        _ = cc_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &code)
        return Response(status: code, headers: exchange.headers, body: exchange.response)
    }

    /// The state of one request that libcurl's callbacks reach: the body read from its file
    /// range, the answer collected (bounded).
    private final class Exchange {
        let body: Body
        let length: Int64
        private var sent: Int64 = 0
        var headers: [String: String] = [:]
        var response: [UInt8] = []
        var failure: String?
        /// Answers (XML) are small; a larger one is cut off.
        static let maxResponse = 1 << 20

        init(body: Body) {
            self.body = body
            switch body {
            case .bytes(let bytes): length = Int64(bytes.count)
            case .file(_, _, let length): self.length = length
            }
        }

        func read(into buffer: UnsafeMutablePointer<CChar>, _ capacity: Int) -> Int {
            let wanted = Int(min(Int64(capacity), length - sent))
            guard wanted > 0 else { return 0 }
            switch body {
            case .bytes(let bytes):
                bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + Int(sent), byteCount: wanted)
                }
                sent += Int64(wanted)
                return wanted
            case .file(let descriptor, let offset, _):
                let count = pread(descriptor, buffer, wanted, off_t(offset + sent))
                guard count > 0 else {
                    failure = "reading the file to upload: \(count < 0 ? String(cString: strerror(errno)) : "it is shorter than it was")"
                    return Int(CURL_READFUNC_ABORT)
                }
                sent += Int64(count)
                return count
            }
        }

        func received(_ buffer: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
            let room = max(0, Self.maxResponse - response.count)
            response += UnsafeRawBufferPointer(start: buffer, count: min(count, room))
            return count
        }

        func header(_ buffer: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
            let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: count), as: UTF8.self)
            if let colon = line.firstIndex(of: ":"), headers.count < 100 {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return count
        }
    }

    // MARK: Text

    /// The text of the first `<name>` element of an XML answer.
    static func element(_ name: String, in body: [UInt8]) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else {
            return nil
        }
        return String(text[open.upperBound..<close.lowerBound])
    }

    /// RFC 3986 percent-encoding of a path segment or query value (unreserved characters kept).
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func escapeXML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// An upload that failed: what was being done, and S3's or libcurl's words.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
