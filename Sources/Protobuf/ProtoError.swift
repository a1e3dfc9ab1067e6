/// Why bytes could not be turned into a message.
public struct ProtoError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// The bytes are a well-formed message, but a value in it cannot be taken as it is (a NUL
    /// byte in a string): the caller's mistake to name, not a broken encoding.
    public let isInvalidValue: Bool

    public init(_ message: String, isInvalidValue: Bool = false) {
        self.message = message
        self.isInvalidValue = isInvalidValue
    }

    public var description: String { message }
}
