import COpenSSL

/// A DTLS failure, with OpenSSL's own words for it.
public struct DTLSError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }

    init(_ message: String) { self.message = message }

    /// `operation` failed: the reason is taken (and cleared) from OpenSSL's error queue.
    static func openSSL(_ operation: String) -> DTLSError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return DTLSError(reasons.isEmpty ? "\(operation) failed" : "\(operation): \(reasons.joined(separator: "; "))")
    }
}
