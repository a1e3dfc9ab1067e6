import RTP
import Testing
@testable import WebRTC

/// SRTP and SRTCP with both negotiated profiles: what one side protects, the other reads; a
/// wrong key, a flipped bit or a replay is refused.
struct SRTPContextTests {
    static func packet(sequence: UInt16) -> [UInt8] {
        [0x80, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0x10, 0, 0x12, 0x34, 0x56, 0x78] + Array(repeating: 0x42, count: 100)
    }

    static func key(_ profile: SRTPProfile, _ seed: UInt8) -> [UInt8] {
        (0..<(profile.keyLength + profile.saltLength)).map { UInt8($0) &+ seed }
    }

    @Test(arguments: [SRTPProfile.aes128CMHMACSHA1_80, .aeadAES128GCM])
    func whatOneSideProtectsTheOtherReads(profile: SRTPProfile) throws {
        let sender = try SRTPContext(profile: profile, keyAndSalt: Self.key(profile, 1), direction: .outbound)
        let receiver = try SRTPContext(profile: profile, keyAndSalt: Self.key(profile, 1), direction: .inbound)
        let plain = Self.packet(sequence: 1)
        let protected = try sender.protectRTP(plain)
        #expect(protected.count > plain.count && protected != plain)
        #expect(try receiver.unprotectRTP(protected) == plain)
        // The same packet again is a replay.
        #expect { try receiver.unprotectRTP(protected) } throws: { ($0 as? SRTPError)?.isReplay == true }
        // A flipped bit fails authentication.
        var flipped = try sender.protectRTP(Self.packet(sequence: 2))
        flipped[20] ^= 1
        #expect { try receiver.unprotectRTP(flipped) } throws: { ($0 as? SRTPError)?.isAuthenticationFailure == true }
        // RTCP both ways (a PLI).
        let pli = RTCPFeedback.pli(from: 1, media: 0x1234_5678)
        #expect(try receiver.unprotectRTCP(sender.protectRTCP(pli)) == pli)
    }

    /// AES-GCM is OpenSSL's: libsrtp2 ran its known-answer test and random round trips on it and
    /// took it (the round trips above then go through it, a flipped bit refused by its tag check).
    @Test func aesGCMIsOpenSSLs() {
        #expect(SRTPContext.aesGCMImplementation == "OpenSSL")
    }

    @Test func anotherKeyIsRefused() throws {
        let profile = SRTPProfile.aes128CMHMACSHA1_80
        let sender = try SRTPContext(profile: profile, keyAndSalt: Self.key(profile, 1), direction: .outbound)
        let receiver = try SRTPContext(profile: profile, keyAndSalt: Self.key(profile, 2), direction: .inbound)
        #expect { try receiver.unprotectRTP(sender.protectRTP(Self.packet(sequence: 1))) } throws: {
            ($0 as? SRTPError)?.isAuthenticationFailure == true
        }
    }

    @Test func shortPacketsAndWrongKeySizesAreRefusedNotRead() throws {
        let profile = SRTPProfile.aeadAES128GCM
        #expect(throws: SRTPError.self) { try SRTPContext(profile: profile, keyAndSalt: [1, 2, 3], direction: .inbound) }
        let receiver = try SRTPContext(profile: profile, keyAndSalt: Self.key(profile, 1), direction: .inbound)
        for length in [0, 1, 11] {
            #expect(throws: SRTPError.self) { try receiver.unprotectRTP(Array(repeating: 0x80, count: length)) }
        }
        #expect(throws: SRTPError.self) { try receiver.unprotectRTCP([0x80, 200, 0, 1]) }
    }

    @Test func nackPacksNeighboursIntoOneBitmask() {
        let nack = RTCPFeedback.nack(from: 1, media: 2, sequences: [65_534, 65_535, 0, 17, 40])
        // 65534 + bitmask (65535 = bit 0, 0 = bit 1, 17 = distance 19: a new pair), 40: another.
        #expect(nack == [0x81, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x00, 0x03, 0, 17, 0x00, 0x00, 0, 40, 0x00, 0x00])
        #expect(RTCPFeedback.nack(from: 1, media: 2, sequences: []) == nil)
    }
}
