@testable import WebRTC

/// A WHIP offer's way through the server: read as SDP (`SessionDescription`), understood
/// (`WebRTCOffer`) and answered (`WebRTCAnswer`); the answer must read back as SDP with one
/// media section per offered one.
enum SDPHarness {
    static let fingerprint = Fingerprint(algorithm: .sha256, bytes: Array(repeating: 0xAB, count: 32))

    static func run(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        guard let description = try? SessionDescription(parsing: text), let offer = try? WebRTCOffer(description),
              let answer = try? WebRTCAnswer(offer: offer, iceUsername: "fuzzufrag", icePassword: "fuzzpasswordfuzzpassword",
                                             fingerprint: fingerprint, candidates: [.init(host: "127.0.0.1", port: 7882)], maxTracks: 8)
        else { return }
        let reread = try? SessionDescription(parsing: answer.sdp)
        precondition(reread?.media.count == offer.sections.count, "the answer does not read back with a section per offered one")
    }
}

/// STUN messages as the hub's UDP port reads them: parsed with every size checked, their
/// integrity and fingerprint verified, and answered by a transport when they are its checks.
/// Input: a datagram. A second pass replaces its integrity and fingerprint with valid ones (a
/// fuzzer cannot forge HMACs), so that what follows a valid check is reached too.
enum STUNHarness {
    static let password = Array("fuzzpasswordfuzzpassword".utf8)

    static func run(_ input: [UInt8]) {
        check(input)
        guard let message = STUNMessage(input), let integrity = message.attributes.first(where: {
            $0.type == STUNMessage.AttributeType.messageIntegrity
        }) else { return }
        // The message up to its integrity, signed and fingerprinted again.
        var resigned = Array(message.bytes[..<integrity.offset])
        STUNMessage.appendIntegrity(password: password, to: &resigned)
        STUNMessage.appendFingerprint(to: &resigned)
        check(resigned)
    }

    static func check(_ bytes: [UInt8]) {
        guard let message = STUNMessage(bytes) else { return }
        let authentic = message.hasIntegrity(password: password) && message.hasValidFingerprint
        _ = message.username
        _ = message.xorMappedAddress
        if authentic, message.type == STUNMessage.bindingRequest {
            let response = STUNMessage.bindingSuccess(to: message, mappedAddress: [127, 0, 0, 1], port: 5000, password: password)
            let reread = STUNMessage(response)
            precondition(reread?.hasIntegrity(password: password) == true && reread?.hasValidFingerprint == true,
                         "an answer does not verify")
        }
    }
}
