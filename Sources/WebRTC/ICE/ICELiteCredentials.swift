/// A session's local ICE credentials: the username fragment peers put first in STUN's USERNAME
/// (how a Binding request finds its session) and the password that keys MESSAGE-INTEGRITY.
public struct ICELiteCredentials: Sendable, Equatable {
    public let username: String
    public let password: String

    /// Random credentials: 16 and 32 ice-chars (96 and 192 bits).
    public static func random() -> ICELiteCredentials {
        ICELiteCredentials(username: randomText(16), password: randomText(32))
    }

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static func randomText(_ length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }, as: UTF8.self)
    }

    /// The local username fragment a Binding request is for: USERNAME's part before the colon.
    public static func localUsername(of request: STUNMessage) -> Substring? {
        guard let username = request.username, let colon = username.firstIndex(of: ":") else { return nil }
        return username[..<colon]
    }
}
