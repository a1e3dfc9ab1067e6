/// One complete frame of compressed media, reassembled from RTP packets: an H.264 access unit
/// (Annex B, with start codes), a VP8 frame or an Opus packet.
public struct EncodedFrame: Sendable {
    public var data: [UInt8]
    /// The RTP timestamp, extended to 64 bits so it never wraps.
    public var timestamp: Int64
    public var isKeyframe: Bool
    /// Some of the frame's packets were lost: it is incomplete (dropped by the depacketizers
    /// for video, so this marks only the first whole frame after a loss).
    public var followsLoss: Bool

    /// The largest frame reassembled (8 MiB, far above a 4K key frame): a sender that never
    /// ends a frame is cut off there, its frame dropped as damaged.
    public static let maxSize = 8 << 20

    /// The buffer a depacketizer joins its next frame in, after `finished`. A finished frame's
    /// bytes go on as they are (the array is shared), so the next frame needs a buffer of its own:
    /// one sized like the frame just finished, not like the largest one yet (a key frame's
    /// capacity, kept, made every later frame a fresh mapping of that size).
    static func nextBuffer(after finished: [UInt8]) -> [UInt8] {
        var next: [UInt8] = []
        next.reserveCapacity(min(finished.count + finished.count / 4, maxSize))
        return next
    }

    public init(data: [UInt8], timestamp: Int64, isKeyframe: Bool, followsLoss: Bool = false) {
        self.data = data
        self.timestamp = timestamp
        self.isKeyframe = isKeyframe
        self.followsLoss = followsLoss
    }
}

/// Turns the in-order payloads of one RTP stream into whole frames.
public protocol Depacketizer: Sendable {
    /// Feeds one packet, released in sequence order by the jitter buffer (`afterGap`: packets
    /// were lost just before it), with its extended timestamp. Returns the frames it completed.
    mutating func push(_ packet: RTPPacket, timestamp: Int64, afterGap: Bool) -> [EncodedFrame]
}

/// The codecs the hub depacketizes.
public enum RTPCodec: String, Sendable, Equatable, CaseIterable {
    case h264 = "H264", vp8 = "VP8", opus = "opus"

    public var isVideo: Bool { self != .opus }

    /// The RTP clock rate the payload format defines.
    public var defaultClockRate: Int { self == .opus ? 48_000 : 90_000 }

    /// LiveKit's MIME type for the codec.
    public var mimeType: String {
        switch self {
        case .h264: "video/H264"
        case .vp8: "video/VP8"
        case .opus: "audio/opus"
        }
    }

    public func makeDepacketizer() -> any Depacketizer {
        switch self {
        case .h264: H264Depacketizer()
        case .vp8: VP8Depacketizer()
        case .opus: OpusDepacketizer()
        }
    }
}
