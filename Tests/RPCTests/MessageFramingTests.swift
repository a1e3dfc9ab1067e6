import NIOCore
import Testing
@testable import RPC

@Suite struct MessageFramingTests {
    let allocator = ByteBufferAllocator()

    @Test func messagesSplitAcrossChunksAreReassembled() throws {
        let framed = MessageFramer.frame([1, 2, 3, 4, 5, 6], allocator: allocator)
        var deframer = MessageDeframer(maxMessageSize: 100)
        for byte in framed.readableBytesView {
            #expect(try deframer.next() == nil)
            deframer.append(allocator.buffer(bytes: [byte]))
        }
        let message = try #require(try deframer.next())
        #expect(!message.compressed)
        #expect(Array(message.payload.readableBytesView) == [1, 2, 3, 4, 5, 6])
        #expect(!deframer.hasPartialMessage)
    }

    @Test func twoMessagesInOneChunkComeOutInOrder() throws {
        var both = MessageFramer.frame([7], allocator: allocator)
        var second = MessageFramer.frame([8, 9], allocator: allocator)
        both.writeBuffer(&second)
        var deframer = MessageDeframer(maxMessageSize: 100)
        deframer.append(both)
        #expect(try deframer.next().map { Array($0.payload.readableBytesView) } == [7])
        #expect(try deframer.next().map { Array($0.payload.readableBytesView) } == [8, 9])
        #expect(try deframer.next() == nil)
    }

    @Test func anOversizedLengthIsRefusedFromItsPrefixAlone() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        deframer.append(allocator.buffer(bytes: [0, 0, 0, 0, 11]))
        #expect(throws: RPCError(.resourceExhausted, "received message larger than max (11 vs. 10)")) { try deframer.next() }
    }

    @Test func anInvalidCompressedFlagIsInternal() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        deframer.append(allocator.buffer(bytes: [2, 0, 0, 0, 0]))
        #expect(throws: RPCError(.internal, "invalid compressed flag 2 in the message prefix")) { try deframer.next() }
    }

    @Test func gzipAndDeflateInflateAndABombStopsAtTheLimit() throws {
        // Python: gzip.compress(b"hello hello hello", mtime=0)
        let gzip: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
                             0x57, 0xc8, 0x40, 0x90, 0x00, 0x80, 0x88, 0xf9, 0xe5, 0x11, 0x00, 0x00, 0x00]
        let inflated = try MessageEncoding.gzip.decompress(allocator.buffer(bytes: gzip), limit: 100, allocator: allocator)
        #expect(String(buffer: inflated) == "hello hello hello")
        #expect(throws: RPCError(.resourceExhausted, "decompressed message is larger than the limit of 10 bytes")) {
            try MessageEncoding.gzip.decompress(allocator.buffer(bytes: gzip), limit: 10, allocator: allocator)
        }
        // At the edge: 17 bytes pass a limit of 17 and not one of 16.
        #expect(try MessageEncoding.gzip.decompress(allocator.buffer(bytes: gzip), limit: 17, allocator: allocator).readableBytes == 17)
        #expect(throws: RPCError(.resourceExhausted, "decompressed message is larger than the limit of 16 bytes")) {
            try MessageEncoding.gzip.decompress(allocator.buffer(bytes: gzip), limit: 16, allocator: allocator)
        }
        #expect {
            try MessageEncoding.deflate.decompress(allocator.buffer(bytes: [1, 2, 3, 4]), limit: 100, allocator: allocator)
        } throws: { error in
            guard let error = error as? RPCError else { return false }
            return error.code == .internal && error.message.hasPrefix("could not decompress the deflate message: ")
        }
    }
}
