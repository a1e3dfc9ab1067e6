import CNGHTTP2

/// HTTP/2 error codes (RFC 9113 §7), as sent in RST_STREAM and GOAWAY.
public struct HTTP2ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noError = Self(rawValue: NGHTTP2_NO_ERROR.rawValue)
    public static let protocolError = Self(rawValue: NGHTTP2_PROTOCOL_ERROR.rawValue)
    public static let internalError = Self(rawValue: NGHTTP2_INTERNAL_ERROR.rawValue)
    public static let flowControlError = Self(rawValue: NGHTTP2_FLOW_CONTROL_ERROR.rawValue)
    public static let refusedStream = Self(rawValue: NGHTTP2_REFUSED_STREAM.rawValue)
    public static let cancel = Self(rawValue: NGHTTP2_CANCEL.rawValue)
    public static let compressionError = Self(rawValue: NGHTTP2_COMPRESSION_ERROR.rawValue)
    public static let enhanceYourCalm = Self(rawValue: NGHTTP2_ENHANCE_YOUR_CALM.rawValue)

    public var description: String {
        String(cString: nghttp2_http2_strerror(rawValue))
    }
}

/// An error from nghttp2, with the library's own message.
public struct HTTP2Error: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let operation: String

    init(_ code: Int32, _ operation: String) {
        self.code = code
        self.operation = operation
    }

    init(_ code: Int, _ operation: String) { self.init(Int32(clamping: code), operation) }

    public var description: String { "\(operation): \(String(cString: nghttp2_strerror(code)))" }
}
