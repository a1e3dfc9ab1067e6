import RTP

/// What a WebRTC publisher's offer says that the answer and the transport need: its ICE
/// credentials, its certificate's fingerprint, and per media section the codecs it can send.
public struct WebRTCOffer: Sendable, Equatable {
    public struct Codec: Sendable, Equatable {
        public var payloadType: UInt8
        public var name: String
        public var clockRate: Int
        public var channels: Int
        /// The `a=fmtp` parameters, as written.
        public var parameters: String
        /// `a=rtcp-fb` values for this payload type (and `*`).
        public var feedback: [String]

        /// A parameter of `a=fmtp` (`packetization-mode`, say).
        public func parameter(_ name: String) -> Substring? {
            for pair in parameters.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingSpaces == name { return parts[1].trimmingSpaces }
            }
            return nil
        }
    }

    public struct Section: Sendable, Equatable {
        public var mid: String
        public var kind: String
        public var proto: String
        /// Whether the publisher sends on it (`sendonly` or `sendrecv`, the default).
        public var sends: Bool
        public var codecs: [Codec]
        /// RTP header extensions: id → URI.
        public var extensions: [UInt8: String]
        /// The media SSRCs its `a=ssrc` lines announce (retransmission SSRCs of `ssrc-group:FID` left out).
        public var ssrcs: [UInt32] = []
    }

    public var iceUsername: String
    public var icePassword: String
    public var fingerprint: Fingerprint
    public var sections: [Section]

    /// ICE credentials are 4 to 256 (username) / 22 to 256 (password) ice-chars (RFC 8839).
    static func isICEText(_ text: Substring, minimum: Int) -> Bool {
        (minimum...256).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
        }
    }

    /// Reads the offer; throws naming what it lacks or what is malformed.
    public init(_ description: SessionDescription) throws(SDPError) {
        guard !description.media.isEmpty else { throw SDPError("the offer has no media section") }
        func sessionOrMedia(_ name: String, _ media: SessionDescription.Media) -> Substring? {
            media.value(name) ?? description.value(name)
        }
        var username: Substring?, password: Substring?, fingerprint: Fingerprint?
        var sections: [Section] = []
        var mids = Set<String>()
        for (index, media) in description.media.enumerated() {
            let mid = media.value("mid").map(String.init) ?? "\(index)"
            guard (1...32).contains(mid.utf8.count), mids.insert(mid).inserted else {
                throw SDPError("media section \(index + 1) has an empty, long or repeated a=mid")
            }
            let isMedia = media.kind == "audio" || media.kind == "video"
            guard isMedia, media.port != 0 else {
                sections.append(Section(mid: mid, kind: media.kind, proto: media.proto, sends: false, codecs: [], extensions: [:]))
                continue
            }
            // With BUNDLE every section carries the same transport; the first one's is used.
            if username == nil {
                guard let ufrag = sessionOrMedia("ice-ufrag", media), Self.isICEText(ufrag, minimum: 4) else {
                    throw SDPError("media section \(mid) has no valid a=ice-ufrag")
                }
                guard let pwd = sessionOrMedia("ice-pwd", media), Self.isICEText(pwd, minimum: 22) else {
                    throw SDPError("media section \(mid) has no valid a=ice-pwd")
                }
                guard let print = sessionOrMedia("fingerprint", media).flatMap({ Fingerprint(sdpValue: $0) }) else {
                    throw SDPError("media section \(mid) has no a=fingerprint of sha-256, sha-384 or sha-512")
                }
                if let setup = sessionOrMedia("setup", media), setup != "actpass", setup != "active" {
                    throw SDPError("a=setup:\(SessionDescription.excerpt(setup)) is not supported: the server is the DTLS server (actpass or active)")
                }
                (username, password, fingerprint) = (ufrag, pwd, print)
            }
            guard media.proto.hasSuffix("/SAVPF") || media.proto.hasSuffix("/SAVP") else {
                throw SDPError("media section \(mid) is \(SessionDescription.excerpt(Substring(media.proto))), not secured RTP (UDP/TLS/RTP/SAVPF)")
            }
            let sends = !(media.has("recvonly") || media.has("inactive"))
            sections.append(Section(mid: mid, kind: media.kind, proto: media.proto, sends: sends,
                                    codecs: try Self.codecs(of: media, mid: mid), extensions: Self.extensions(of: media),
                                    ssrcs: Self.ssrcs(of: media)))
        }
        guard let username, let password, let fingerprint else { throw SDPError("the offer has no audio or video section") }
        self.iceUsername = String(username)
        self.icePassword = String(password)
        self.fingerprint = fingerprint
        self.sections = sections
    }

    /// The most payload types read from one section.
    static let maxCodecs = 64

    private static func codecs(of media: SessionDescription.Media, mid: String) throws(SDPError) -> [Codec] {
        // The section's rtpmap, fmtp and rtcp-fb lines by payload type, in one pass (the first
        // of a payload type wins), rather than a pass over every line per format.
        var maps: [Substring: Substring] = [:], parameters: [Substring: Substring] = [:], feedback: [Substring: [String]] = [:]
        for attribute in media.attributes {
            guard let value = attribute.value else { continue }
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            switch attribute.name {
            case "rtpmap": if maps[parts[0]] == nil { maps[parts[0]] = parts[1] }
            case "fmtp": if parameters[parts[0]] == nil { parameters[parts[0]] = parts[1] }
            case "rtcp-fb": feedback[parts[0], default: []].append(String(parts[1]))
            default: continue
            }
        }
        var codecs: [Codec] = []
        for format in media.formats.prefix(maxCodecs) {
            guard let payloadType = UInt8(format), payloadType < 128, let encoding = maps[Substring(format)] else { continue }
            let parts = encoding.split(separator: "/")
            guard parts.count >= 2, let rate = Int(parts[1]), (1...192_000).contains(rate) else {
                throw SDPError("media section \(mid): a=rtpmap:\(format) \(SessionDescription.excerpt(encoding)) is malformed")
            }
            let channels = parts.count > 2 ? Int(parts[2]) ?? 1 : 1
            codecs.append(Codec(payloadType: payloadType, name: String(parts[0]), clockRate: rate, channels: channels,
                                parameters: parameters[Substring(format)].map(String.init) ?? "",
                                feedback: feedback[Substring(format), default: []] + feedback["*", default: []]))
        }
        return codecs
    }

    private static func ssrcs(of media: SessionDescription.Media) -> [UInt32] {
        var repairs = Set<UInt32>()
        for group in media.values("ssrc-group").prefix(16) {
            let parts = group.split(separator: " ")
            if parts.first == "FID" { for part in parts.dropFirst(2) { if let ssrc = UInt32(part) { repairs.insert(ssrc) } } }
        }
        var ssrcs: [UInt32] = []
        for line in media.values("ssrc").prefix(64) {
            guard let ssrc = line.split(separator: " ").first.flatMap({ UInt32($0) }), !repairs.contains(ssrc), !ssrcs.contains(ssrc) else { continue }
            ssrcs.append(ssrc)
        }
        return ssrcs
    }

    private static func extensions(of media: SessionDescription.Media) -> [UInt8: String] {
        var extensions: [UInt8: String] = [:]
        for value in media.values("extmap").prefix(32) {
            let parts = value.split(separator: " ")
            guard parts.count >= 2, let id = UInt8(parts[0].split(separator: "/").first ?? ""), (1...14).contains(id) else { continue }
            extensions[id] = String(parts[1])
        }
        return extensions
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
