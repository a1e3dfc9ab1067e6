import Rooms
import RTP
import WebRTC

/// One WHIP session in the hub: a participant of a room whose tracks arrive over WebRTC. It
/// holds the transport (ICE-lite, DTLS, SRTP), the sections the answer accepted, the addresses
/// ICE verified, and which SSRC became which track. Owned by the hub, used on its loop.
final class WebRTCPublisher {
    /// The session's id in its WHIP resource URL.
    let id: String
    let room: String
    let identity: String
    let transport: WebRTCTransport
    let negotiated: [NegotiatedTrack]
    /// The publisher shares its screen (`?source=screen_share`): its tracks are SCREEN_SHARE and SCREEN_SHARE_AUDIO.
    let screenShare: Bool
    /// The SSRC this side's RTCP is sent from.
    let feedbackSSRC: UInt32
    let createdAt: Int64

    /// Addresses that passed a connectivity check, at most `maxAddresses`.
    private(set) var addresses: [SourceAddress] = []
    /// Where feedback is sent: the address the peer nominated, else the first one verified.
    private(set) var selected: SourceAddress?
    /// The SSRC of each accepted section, once its first packet came (mid → ssrc).
    var ssrcByMid: [String: UInt32] = [:]
    /// Datagrams from its addresses that failed SRTP/SRTCP authentication or replay checks.
    var packetsRejected = 0
    /// SRTP packets of an SSRC no accepted section has.
    var packetsUnknownSSRC = 0
    /// Monotonic ns of the last receiver report sent.
    var lastReportAt: Int64 = 0
    /// The transport-wide sequence number extension's id, when the publisher takes TWCC feedback.
    let transportCCExtension: UInt8?
    var transportFeedback = TransportWideFeedback()

    static let maxAddresses = 8

    init(id: String, room: String, identity: String, transport: WebRTCTransport, negotiated: [NegotiatedTrack], screenShare: Bool,
         createdAt: Int64) {
        self.id = id
        self.room = room
        self.identity = identity
        self.transport = transport
        self.negotiated = negotiated
        self.screenShare = screenShare
        self.createdAt = createdAt
        feedbackSSRC = UInt32.random(in: 1...UInt32.max)
        transportCCExtension = negotiated.lazy.compactMap(\.transportCC).first
    }

    /// Notes an address that passed a check; false when the session already has its maximum.
    func verified(_ address: SourceAddress, nominated: Bool) -> Bool {
        if !addresses.contains(address) {
            guard addresses.count < Self.maxAddresses else { return false }
            addresses.append(address)
        }
        if nominated || selected == nil { selected = address }
        return true
    }

    /// Drops an address another session verified since.
    func forget(_ address: SourceAddress) {
        addresses.removeAll { $0 == address }
        if selected == address { selected = addresses.last }
    }

    /// The accepted section a new SSRC belongs to: the one whose `a=ssrc` named it, else the
    /// only one not yet started whose payload type it carries; nil if none or ambiguous.
    func section(for ssrc: UInt32, payloadType: UInt8) -> NegotiatedTrack? {
        if let named = negotiated.first(where: { $0.ssrcs.contains(ssrc) }) {
            return ssrcByMid[named.mid] == nil ? named : nil
        }
        let open = negotiated.filter { $0.payloadType == payloadType && $0.ssrcs.isEmpty && ssrcByMid[$0.mid] == nil }
        return open.count == 1 ? open[0] : nil
    }

    /// LiveKit's source for a section: camera and microphone, or the screen and its audio for a
    /// screen-share session; a second video (audio) section is the screen (its audio).
    func source(of track: NegotiatedTrack) -> TrackSource {
        let sameKind = negotiated.filter { $0.isVideo == track.isVideo }
        let isSecond = sameKind.firstIndex { $0.mid == track.mid }.map { $0 > 0 } ?? false
        let screen = screenShare || isSecond
        return track.isVideo ? (screen ? .screenShare : .camera) : (screen ? .screenShareAudio : .microphone)
    }
}
