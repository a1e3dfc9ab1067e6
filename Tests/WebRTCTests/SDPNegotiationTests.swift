import RTP
import Testing
@testable import WebRTC

/// Offers read and answered: what is accepted, what is refused and why.
struct SDPNegotiationTests {
    static let fingerprint = "sha-256 " + Array(repeating: "AB", count: 32).joined(separator: ":")

    static func offer(video: [String] = ["96 VP8/90000", "102 H264/90000"], videoFmtp: [String] = ["102 packetization-mode=1;profile-level-id=42e01f"],
                      audio: String = "111 opus/48000/2", extra: [String] = []) -> String {
        var lines = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1", "a=fingerprint:\(fingerprint)"]
        lines += ["m=audio 9 UDP/TLS/RTP/SAVPF \(audio.split(separator: " ")[0])", "c=IN IP4 0.0.0.0", "a=mid:0", "a=sendonly",
                  "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=setup:actpass", "a=rtcp-mux", "a=rtpmap:\(audio)",
                  "a=ssrc:1111 cname:x"]
        lines += ["m=video 9 UDP/TLS/RTP/SAVPF \(video.map { $0.split(separator: " ")[0] }.joined(separator: " "))", "c=IN IP4 0.0.0.0",
                  "a=mid:1", "a=sendonly", "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=setup:actpass", "a=rtcp-mux"]
        lines += video.map { "a=rtpmap:\($0)" } + videoFmtp.map { "a=fmtp:\($0)" }
        lines += video.map { "a=rtcp-fb:\($0.split(separator: " ")[0]) nack" } + ["a=rtcp-fb:* nack pli", "a=ssrc-group:FID 2222 3333", "a=ssrc:2222 cname:x", "a=ssrc:3333 cname:x"]
        return (lines + extra).joined(separator: "\r\n") + "\r\n"
    }

    static func answer(_ text: String, maxTracks: Int = 8) throws -> WebRTCAnswer {
        let offer = try WebRTCOffer(SessionDescription(parsing: text))
        return try WebRTCAnswer(offer: offer, iceUsername: "srvufrag", icePassword: "serverpasswordserverpassword",
                                fingerprint: Fingerprint(sdpValue: Substring(fingerprint))!,
                                candidates: [.init(host: "127.0.0.1", port: 7882)], maxTracks: maxTracks)
    }

    @Test func theOffersFirstRecordableCodecIsChosenPerSection() throws {
        let answer = try Self.answer(Self.offer())
        #expect(answer.tracks.map(\.codec) == [.opus, .vp8])
        #expect(answer.tracks.map(\.payloadType) == [111, 96])
        // The retransmission SSRC of the FID group is not a track's.
        #expect(answer.tracks.map(\.ssrcs) == [[1111], [2222]])
        #expect(answer.tracks[1].nack && answer.tracks[1].pli && !answer.tracks[0].nack)
        for line in ["a=ice-lite", "a=group:BUNDLE 0 1", "a=setup:passive", "a=recvonly", "a=rtcp-mux", "a=rtpmap:96 VP8/90000",
                     "a=candidate:1 1 udp 2130706431 127.0.0.1 7882 typ host", "a=fingerprint:\(Self.fingerprint)", "a=ice-ufrag:srvufrag"] {
            #expect(answer.sdp.contains(line + "\r\n"), "\(line)")
        }
    }

    @Test func h264WithoutPacketizationModeOneIsPassedOver() throws {
        let answer = try Self.answer(Self.offer(video: ["102 H264/90000", "104 H264/90000"],
                                                videoFmtp: ["102 packetization-mode=0", "104 profile-level-id=42e01f; packetization-mode=1"]))
        #expect(answer.tracks.last?.codec == .h264 && answer.tracks.last?.payloadType == 104)
    }

    @Test func aSectionWithNothingRecordableIsRejectedNotTheOffer() throws {
        let answer = try Self.answer(Self.offer(video: ["98 VP9/90000"], videoFmtp: []))
        #expect(answer.tracks.map(\.codec) == [.opus])
        #expect(answer.sdp.contains("m=video 0 UDP/TLS/RTP/SAVPF 98\r\n"))
        #expect(answer.sdp.contains("a=group:BUNDLE 0\r\n"))
    }

    @Test func anOfferWithNothingRecordableIsRefused() {
        #expect(throws: SDPError.self) { try Self.answer(Self.offer(video: ["98 VP9/90000"], videoFmtp: [], audio: "9 G722/8000")) }
    }

    @Test func tracksBeyondTheParticipantsLimitAreRejected() throws {
        let answer = try Self.answer(Self.offer(), maxTracks: 1)
        #expect(answer.tracks.count == 1)
        #expect(answer.sdp.contains("m=video 0 "))
    }

    @Test(arguments: [
        ("", "the SDP is empty"),
        ("v=1\r\n", "starts with v=0"),
        ("v=0\r\nm=audio\r\n", "an m= line is"),
        ("v=0\r\nnot sdp\r\n", "line 2 is not of the form"),
        ("v=0\r\ns=-\r\n", "no media section"),
    ])
    func malformedOffersSayWhatIsWrong(text: String, words: String) {
        do {
            _ = try WebRTCOffer(SessionDescription(parsing: text))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(words), "\(error)")
        }
    }

    @Test func missingOrMalformedTransportAttributesAreNamed() {
        let offer = Self.offer()
        let cases = [
            (offer.replacingOccurrences(of: "a=fingerprint:", with: "a=x-fingerprint:"), "a=fingerprint"),
            (offer.replacingOccurrences(of: "a=ice-ufrag:abcd", with: "a=ice-ufrag:ab"), "a=ice-ufrag"),
            (offer.replacingOccurrences(of: "a=ice-pwd:abcdefghijklmnopqrstuvwx", with: "a=ice-pwd:short"), "a=ice-pwd"),
            (offer.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:passive"), "a=setup:passive"),
            (offer.replacingOccurrences(of: "UDP/TLS/RTP/SAVPF", with: "RTP/AVP"), "not secured RTP"),
            (offer.replacingOccurrences(of: "a=mid:1", with: "a=mid:0"), "repeated a=mid"),
        ]
        for (text, words) in cases {
            do {
                _ = try WebRTCOffer(SessionDescription(parsing: text))
                Issue.record("accepted an offer without \(words)")
            } catch {
                #expect(error.description.contains(words), "\(error)")
            }
        }
    }

    @Test func sizesAndCountsAreBounded() {
        let long = "v=0\r\n" + String(repeating: "a=x\r\n", count: SessionDescription.maxLines + 1)
        #expect(throws: SDPError.self) { try SessionDescription(parsing: long) }
        let wide = "v=0\r\na=" + String(repeating: "x", count: SessionDescription.maxLineLength) + "\r\n"
        #expect(throws: SDPError.self) { try SessionDescription(parsing: wide) }
        let sections = "v=0\r\n" + String(repeating: "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", count: SessionDescription.maxMediaSections + 1)
        #expect(throws: SDPError.self) { try SessionDescription(parsing: sections) }
    }

    @Test func fingerprintsReadOnlyWhole() {
        #expect(Fingerprint(sdpValue: Substring(Self.fingerprint))?.bytes == Array(repeating: 0xAB, count: 32))
        #expect(Fingerprint(sdpValue: "sha-256 AB:CD") == nil)
        #expect(Fingerprint(sdpValue: "md5 AB") == nil)
        #expect(Fingerprint(sdpValue: Substring("sha-256 " + Array(repeating: "ZZ", count: 32).joined(separator: ":"))) == nil)
    }
}
