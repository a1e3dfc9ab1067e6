import Testing
import WebRTC

/// STUN messages against RFC 5769's test vectors (a request with short-term credentials, an
/// IPv4 response), what an ICE-lite endpoint sends back, and what an attacker would send.
@Suite struct STUNMessageTests {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0 ... $0 + 1]), radix: 16)! }
    }

    /// RFC 5769 §2.1: username "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt".
    static let request = bytes("""
        00010058 2112a442 b7e7a701 bc34d686 fa87dfae
        80220010 5354554e 20746573 7420636c 69656e74
        00240004 6e0001ff
        80290008 932ff9b1 51263b36
        00060009 6576746a 3a683676 59202020
        00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
        80280004 e57a3bcf
        """)
    /// RFC 5769 §2.2: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
    static let response = bytes("""
        0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
        8022000b 74657374 20766563 746f7220
        00200008 0001a147 e112a643
        00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
        80280004 c07d4c96
        """)
    static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)

    @Test func theSampleRequestIsReadAndItsIntegrityAndFingerprintHold() throws {
        let message = try #require(STUNMessage(Self.request))
        #expect(message.type == STUNMessage.bindingRequest)
        #expect(message.username == "evtj:h6vY")
        #expect(message.hasIntegrity(password: Self.password))
        #expect(!message.hasIntegrity(password: Array("VOkJxbRl1RmTxUk/WvJxBT".utf8)))
        #expect(message.hasValidFingerprint)
    }

    @Test func theSampleResponseGivesItsMappedAddress() throws {
        let message = try #require(STUNMessage(Self.response))
        #expect(message.hasIntegrity(password: Self.password) && message.hasValidFingerprint)
        let mapped = try #require(message.xorMappedAddress)
        #expect(mapped.address == [192, 0, 2, 1] && mapped.port == 32853)
    }

    @Test func anyChangedByteBreaksTheIntegrityOrTheFingerprint() throws {
        for index in 20 ..< Self.request.count {
            var changed = Self.request
            changed[index] ^= 0x01
            guard let message = STUNMessage(changed) else { continue }  // no longer well formed: refused anyway
            #expect(!(message.hasIntegrity(password: Self.password) && message.hasValidFingerprint), "byte \(index)")
        }
    }

    @Test func ourAnswerIsReadBackWithItsAddressIntegrityAndFingerprint() throws {
        let request = try #require(STUNMessage(Self.request))
        for (address, port) in [([UInt8]([127, 0, 0, 1]), UInt16(50000)), ([UInt8](repeating: 0xFE, count: 16), UInt16(9))] {
            let answer = try #require(STUNMessage(STUNMessage.bindingSuccess(to: request, mappedAddress: address, port: port,
                                                                             password: Self.password)))
            #expect(answer.type == STUNMessage.bindingSuccess && answer.transactionID == request.transactionID)
            #expect(answer.hasIntegrity(password: Self.password) && answer.hasValidFingerprint)
            #expect(!answer.hasIntegrity(password: Array("other".utf8)))
            let mapped = try #require(answer.xorMappedAddress)
            #expect(mapped.address == address && mapped.port == port)
        }
    }

    @Test func whatDoesNotHoldTogetherIsRefusedNotTrapped() {
        #expect(STUNMessage([]) == nil)
        #expect(STUNMessage(Array(Self.request.prefix(19))) == nil)
        #expect(STUNMessage(Array(Self.request.dropLast(4))) == nil)  // the length says more
        let header = Array(Self.request.prefix(20)).enumerated().map { $0.offset == 3 ? 0 : $0.element }
        #expect(STUNMessage(header + [0, 0, 0, 0]) == nil)  // the length says less
        var cookie = Self.request
        cookie[4] = 0
        #expect(STUNMessage(cookie) == nil)
        var overlong = Self.request
        overlong[20 + 2] = 0xFF  // SOFTWARE says 0xFF10 bytes
        #expect(STUNMessage(overlong) == nil)
        #expect(STUNMessage([UInt8](repeating: 0, count: 4096)) == nil)
        // More attributes than are read.
        var many = Array(Self.request.prefix(20))
        for _ in 0 ..< 40 { many += [0x80, 0x22, 0, 0] }
        many[2] = 0
        many[3] = 160
        #expect(STUNMessage(many) == nil)
        // A message without MESSAGE-INTEGRITY or FINGERPRINT is read, and has neither.
        let bare = STUNMessage(Array(Self.request.prefix(20)).enumerated().map { $0.offset == 3 ? 0 : $0.element })
        #expect(bare.map { !$0.hasIntegrity(password: Self.password) && !$0.hasValidFingerprint } == true)
        #expect(STUNMessage.looksLikeSTUN(0x00) && !STUNMessage.looksLikeSTUN(0x80) && !STUNMessage.looksLikeSTUN(0x16))
    }
}
