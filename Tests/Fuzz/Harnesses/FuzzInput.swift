/// One fuzz input read from the front: choices (a byte, a length-prefixed record) first, the
/// rest as data. Reading past the end gives zeros and empty records, never a trap, so every
/// input is a valid sequence of choices.
struct FuzzInput {
    private(set) var rest: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) {
        rest = bytes[...]
    }

    var isEmpty: Bool { rest.isEmpty }

    mutating func byte() -> UInt8 {
        rest.popFirst() ?? 0
    }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8> {
        let taken = rest.prefix(count)
        rest = rest.dropFirst(count)
        return taken
    }

    /// A datagram record: one byte of time since the previous datagram (in ms), a big-endian
    /// 16-bit length, then that many bytes (fewer at the end of the input). Nil at the end.
    mutating func datagram() -> (delay: UInt8, bytes: [UInt8])? {
        guard rest.count >= 3 else { return nil }
        let delay = byte()
        let length = Int(byte()) << 8 | Int(byte())
        return (delay, Array(bytes(length)))
    }

    /// Chunk sizes chosen by the input: a count (0...7) and that many bytes, each a size of
    /// 1...256. No sizes: the data comes in one chunk.
    mutating func chunkSizes() -> [Int] {
        let count = Int(byte() % 8)
        return bytes(count).map { Int($0) + 1 }
    }
}

extension Collection {
    /// The elements in consecutive chunks of `sizes`, cycled; one chunk when `sizes` is empty.
    func chunked(_ sizes: [Int]) -> [SubSequence] {
        guard !sizes.isEmpty else { return isEmpty ? [] : [self[...]] }
        var chunks: [SubSequence] = []
        var start = startIndex
        var i = 0
        while start != endIndex {
            let end = index(start, offsetBy: sizes[i % sizes.count], limitedBy: endIndex) ?? endIndex
            chunks.append(self[start..<end])
            start = end
            i += 1
        }
        return chunks
    }
}
