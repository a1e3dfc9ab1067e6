import CFFmpeg

/// A failed FFmpeg call: what was being done and libav's own message for the code.
public struct MediaError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    public init(_ operation: String, code: Int32 = 0) {
        self.operation = operation
        self.code = code
    }

    public var description: String {
        guard code != 0 else { return operation }
        var buffer = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buffer, buffer.count)
        return "\(operation): \(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))"
    }
}

/// Throws `MediaError` for a negative FFmpeg return code.
@discardableResult
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(MediaError) -> Int32 {
    guard code >= 0 else { throw MediaError(operation(), code: code) }
    return code
}

/// Sets FFmpeg options (`av_opt_set`) on an object, searching its children (codec-private options).
func setOptions(_ options: [String: String], on object: UnsafeMutableRawPointer, what: String) throws(MediaError) {
    for (key, value) in options.sorted(by: { $0.key < $1.key }) {
        try check(av_opt_set(object, key, value, AV_OPT_SEARCH_CHILDREN), "\(what) option \(key)=\(value)")
    }
}
