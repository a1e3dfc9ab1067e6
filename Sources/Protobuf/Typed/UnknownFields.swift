/// Fields of a message that its type does not declare, kept as they arrived so that they go
/// out again when the message is encoded (a newer client's fields, echoed back).
public struct UnknownFields: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var number: UInt32
        /// The protobuf wire type: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit.
        public var wireType: UInt8
        /// The bytes after the tag, as on the wire and as protobuf-c keeps them: a varint's bytes;
        /// a length-delimited value with its length prefix.
        public var data: [UInt8]
    }

    public var fields: [Field]

    public init(_ fields: [Field] = []) {
        self.fields = fields
    }

    public var isEmpty: Bool { fields.isEmpty }
}
