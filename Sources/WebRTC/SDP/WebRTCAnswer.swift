import RTP

/// A media section the answer accepted: what its packets will be.
public struct NegotiatedTrack: Sendable, Equatable {
    public var mid: String
    public var isVideo: Bool
    public var codec: RTPCodec
    public var payloadType: UInt8
    public var clockRate: Int
    public var stereo: Bool
    /// The publisher retransmits on generic NACK (`a=rtcp-fb:PT nack`).
    public var nack: Bool
    /// The publisher sends a key frame on PLI (`nack pli`).
    public var pli: Bool
    /// The publisher takes REMB bandwidth estimates (`goog-remb`).
    public var remb: Bool
    /// The SSRCs the offer announced for the section (may be none).
    public var ssrcs: [UInt32]
    /// The id of the transport-wide sequence number header extension, when the publisher takes
    /// transport-wide congestion control feedback (`transport-cc`).
    public var transportCC: UInt8?
}

/// The answer to a publisher's offer: ICE-lite, DTLS server (`setup:passive`), BUNDLE and
/// rtcp-mux, receive-only; per section the first codec of the offer's order this server
/// records (Opus; VP8, or H.264 with packetization-mode 1), the others rejected (port 0).
public struct WebRTCAnswer: Sendable {
    public let tracks: [NegotiatedTrack]
    public let sdp: String

    /// A host candidate: where the server's UDP port is reached.
    public struct Candidate: Sendable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public init(offer: WebRTCOffer, iceUsername: String, icePassword: String, fingerprint: Fingerprint,
                candidates: [Candidate], maxTracks: Int) throws(SDPError) {
        var tracks: [NegotiatedTrack] = []
        var sections: [String] = []
        for section in offer.sections {
            let chosen = tracks.count < maxTracks ? Self.choose(section) : nil
            guard let (codec, kind) = chosen else {
                sections.append(Self.rejected(section))
                continue
            }
            let track = NegotiatedTrack(mid: section.mid, isVideo: kind.isVideo, codec: kind, payloadType: codec.payloadType,
                                        clockRate: codec.clockRate, stereo: codec.channels == 2 && codec.parameter("stereo") == "1",
                                        nack: codec.feedback.contains("nack"), pli: codec.feedback.contains("nack pli"),
                                        remb: codec.feedback.contains("goog-remb"), ssrcs: section.ssrcs,
                                        transportCC: codec.feedback.contains("transport-cc") ? section.extensions.first {
                                            $0.value == Self.transportCCExtension
                                        }?.key : nil)
            if section.sends { tracks.append(track) }
            sections.append(Self.accepted(section, codec: codec, track: track, iceUsername: iceUsername, icePassword: icePassword,
                                          fingerprint: fingerprint, candidates: candidates))
        }
        guard !tracks.isEmpty else {
            throw SDPError("no media section offers a codec this server records (audio: opus; video: VP8, or H264 with packetization-mode=1)")
        }
        let bundle = offer.sections.filter { section in tracks.contains { $0.mid == section.mid } }.map(\.mid)
        var lines = [
            "v=0",
            "o=- \(UInt64.random(in: 1...UInt64(Int64.max))) 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE " + bundle.joined(separator: " "),
            "a=ice-lite",
        ]
        lines += sections
        self.tracks = tracks
        self.sdp = lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The header extension of transport-wide sequence numbers.
    public static let transportCCExtension = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

    /// The section's first codec, in the offer's order, that can be recorded.
    static func choose(_ section: WebRTCOffer.Section) -> (WebRTCOffer.Codec, RTPCodec)? {
        for codec in section.codecs {
            switch (section.kind, codec.name.lowercased()) {
            case ("audio", "opus") where codec.clockRate == 48_000:
                return (codec, .opus)
            case ("video", "vp8") where codec.clockRate == 90_000:
                return (codec, .vp8)
            case ("video", "h264") where codec.clockRate == 90_000 && codec.parameter("packetization-mode") == "1":
                return (codec, .h264)
            default:
                continue
            }
        }
        return nil
    }

    private static func rejected(_ section: WebRTCOffer.Section) -> String {
        let formats = section.codecs.first.map { "\($0.payloadType)" } ?? (section.kind == "application" ? "webrtc-datachannel" : "0")
        return ["m=\(section.kind) 0 \(section.proto) \(formats)", "c=IN IP4 0.0.0.0", "a=mid:\(section.mid)", "a=inactive"]
            .joined(separator: "\r\n")
    }

    private static func accepted(_ section: WebRTCOffer.Section, codec: WebRTCOffer.Codec, track: NegotiatedTrack, iceUsername: String,
                                 icePassword: String, fingerprint: Fingerprint, candidates: [Candidate]) -> String {
        let channels = codec.channels > 1 ? "/\(codec.channels)" : ""
        var lines = [
            "m=\(section.kind) 9 UDP/TLS/RTP/SAVPF \(codec.payloadType)",
            "c=IN IP4 0.0.0.0",
            "a=ice-ufrag:\(iceUsername)",
            "a=ice-pwd:\(icePassword)",
            "a=fingerprint:\(fingerprint)",
            "a=setup:passive",
            "a=mid:\(section.mid)",
            section.sends ? "a=recvonly" : "a=inactive",
            "a=rtcp-mux",
            "a=rtpmap:\(codec.payloadType) \(codec.name)/\(codec.clockRate)\(channels)",
        ]
        if !codec.parameters.isEmpty { lines.append("a=fmtp:\(codec.payloadType) \(codec.parameters)") }
        if track.nack { lines.append("a=rtcp-fb:\(codec.payloadType) nack") }
        if track.pli { lines.append("a=rtcp-fb:\(codec.payloadType) nack pli") }
        if track.remb { lines.append("a=rtcp-fb:\(codec.payloadType) goog-remb") }
        if let id = track.transportCC {
            lines.append("a=rtcp-fb:\(codec.payloadType) transport-cc")
            lines.append("a=extmap:\(id) \(Self.transportCCExtension)")
        }
        for (index, candidate) in candidates.enumerated() {
            // Host candidates, highest type preference (RFC 8445 §5.1.2.1), component 1 (rtcp-mux).
            let priority = (126 << 24) | ((65_535 - index) << 8) | 255
            lines.append("a=candidate:\(index + 1) 1 udp \(priority) \(candidate.host) \(candidate.port) typ host")
        }
        lines.append("a=end-of-candidates")
        return lines.joined(separator: "\r\n")
    }
}
