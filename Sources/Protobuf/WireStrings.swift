/// protobuf-c keeps string fields as C strings, so a NUL byte inside one would cut it short
/// without a word (`a\0b` read as `a`). This scan of the wire bytes, run after protobuf-c has
/// accepted them, finds such a string so that the message can be refused instead.
enum WireStrings {
    /// The dotted path of the first string field holding a NUL byte (`file_outputs.filepath`),
    /// nil when none does.
    static func fieldWithNUL(in bytes: UnsafeRawBufferPointer, as type: MessageDescriptor, depth: Int = 0) -> String? {
        var reader = Reader(bytes: bytes)
        while !reader.isAtEnd {
            guard let tag = reader.varint() else { return nil }
            let number = UInt32(truncatingIfNeeded: tag >> 3)
            switch tag & 7 {
            case 0: guard reader.varint() != nil else { return nil }
            case 1: guard reader.skip(8) else { return nil }
            case 5: guard reader.skip(4) else { return nil }
            case 2:
                guard let length = reader.varint(), let value = reader.take(length) else { return nil }
                guard let field = type.field(number: number) else { continue }
                if field.type == .string, value.contains(0) { return field.name }
                if field.type == .message, depth < 100,
                   let inner = fieldWithNUL(in: value, as: field.messageType, depth: depth + 1) {
                    return field.name + "." + inner
                }
            default:
                return nil  // groups: protobuf-c refuses them before this runs
            }
        }
        return nil
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard offset < bytes.count else { return nil }
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }

        mutating func skip(_ count: Int) -> Bool {
            guard count <= bytes.count - offset else { return false }
            offset += count
            return true
        }

        mutating func take(_ length: UInt64) -> UnsafeRawBufferPointer? {
            guard length <= UInt64(bytes.count - offset) else { return nil }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
            offset += Int(length)
            return slice
        }
    }
}
