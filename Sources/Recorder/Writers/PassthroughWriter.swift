import Media
import RTP
import SessionManager
import Support

/// Copies the frames as they arrived into the container, without decoding (PASSTHROUGH and
/// Track egress). The file's streams are fixed by its header, so frames are held until the
/// parameters of every expected stream are known (a video key frame, the first audio frame)
/// or two seconds have passed; video starts at its first key frame.
final class PassthroughWriter: MediaWriter {
    private let destination: ConfinedPath
    var files: [(target: ConfinedPath, file: ConfinedFile?)] { [(destination, muxer?.file)] }
    private let format: String
    private let expectsVideo: Bool
    private let expectsAudio: Bool
    private var held: [(video: Bool, codec: RTPCodec, frame: EncodedFrame, position: Int64)] = []
    private var muxer: Muxer?
    private var videoStream: Int?
    private var audioStream: Int?
    private var lastPTS: [Int: Int64] = [:]
    private var lastPosition: Int64 = 0
    private var firstPosition: Int64?
    private var videoStarted = false
    private var audioTrack: String?

    private static let videoTimeBase: (num: Int32, den: Int32) = (1, 90_000)
    private static let audioTimeBase: (num: Int32, den: Int32) = (1, 48_000)
    /// How long to wait for a stream's parameters before writing without it.
    private static let holdLimit: Int64 = 2_000_000_000

    init(target: ConfinedPath, format: String, expectsVideo: Bool, expectsAudio: Bool) {
        destination = target
        self.format = format
        self.expectsVideo = expectsVideo
        self.expectsAudio = expectsAudio
    }

    var bytesWritten: Int64 { muxer?.bytesWritten ?? 0 }
    var file: ConfinedFile? { muxer?.file }
    var duration: Int64 { firstPosition.map { lastPosition - $0 } ?? 0 }

    func video(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws {
        try take(video: true, codec: codec, frame: frame, at: position)
    }

    /// Without decoding there is no black picture: a muted stretch is a gap, and the video
    /// resumes at its next key frame (the frames after the gap refer to frames not written).
    func mutedVideo(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws {
        videoStarted = false
    }

    /// Without decoding there is no mixing: the first audio track is written (a later one takes
    /// over once it is gone).
    func audio(_ frame: EncodedFrame, track: String, channel: EgressSpec.AudioRoute.Channel, at position: Int64) throws {
        if audioTrack == nil { audioTrack = track }
        guard audioTrack == track else { return }
        try take(video: false, codec: .opus, frame: frame, at: position)
    }

    func removeAudio(track: String) {
        if audioTrack == track { audioTrack = nil }
    }

    func advance(to position: Int64, visibility: VideoVisibility) throws {
        if muxer == nil, let first = held.first, position - first.position > Self.holdLimit { try open() }
    }

    func finish(at position: Int64, visibility: VideoVisibility) throws {
        if muxer == nil, !held.isEmpty { try open() }
        try muxer?.finish()
    }

    private func take(video: Bool, codec: RTPCodec, frame: EncodedFrame, at position: Int64) throws {
        guard muxer != nil else {
            held.append((video, codec, frame, position))
            let haveVideo = !expectsVideo || held.contains { $0.video && $0.frame.isKeyframe }
            let haveAudio = !expectsAudio || held.contains { !$0.video }
            if haveVideo && haveAudio { try open() }
            return
        }
        try write(video: video, frame: frame, at: position)
    }

    private func open() throws {
        // The stream's description first: a key frame that does not decode leaves no file behind.
        let video = try held.first(where: { $0.video && $0.frame.isKeyframe }).map { try Self.parameters(of: $0.frame, codec: $0.codec) }
        let muxer = try Muxer(file: try ConfinedFile.create(destination), format: format)
        if let video {
            videoStream = try muxer.addStream(video, timeBase: Self.videoTimeBase)
        }
        if held.contains(where: { !$0.video }) {
            audioStream = try muxer.addStream(.opus(channels: 2), timeBase: Self.audioTimeBase)
        }
        try muxer.writeHeader()
        self.muxer = muxer
        for item in held { try write(video: item.video, frame: item.frame, at: item.position) }
        held.removeAll()
    }

    private func write(video: Bool, frame: EncodedFrame, at position: Int64) throws {
        guard let muxer, let stream = video ? videoStream : audioStream else { return }
        if video {
            guard videoStarted || frame.isKeyframe else { return }
            videoStarted = true
        }
        let timeBase = video ? Self.videoTimeBase : Self.audioTimeBase
        guard var pts = max(0, position).rescaled(by: Int64(timeBase.den), over: 1_000_000_000) else { return }
        if let last = lastPTS[stream], pts <= last { pts = last + 1 }  // times only move forward
        lastPTS[stream] = pts
        firstPosition = firstPosition ?? position
        lastPosition = max(lastPosition, position)
        try muxer.write(try Packet(data: frame.data, pts: pts, isKeyframe: frame.isKeyframe, timeBase: timeBase), stream: stream)
        OutputMetrics.wrote(frame.data.count, to: .file)
    }

    /// The stream description a key frame gives: size, and for H.264 the SPS and PPS.
    static func parameters(of keyframe: EncodedFrame, codec: RTPCodec) throws -> Muxer.PassthroughStream {
        switch codec {
        case .vp8:
            // RFC 6386 §9.1: after the 3-byte frame tag, a start code then 14-bit width and height.
            let d = keyframe.data
            guard d.count >= 10, d[3] == 0x9D, d[4] == 0x01, d[5] == 0x2A else { throw RecorderError("malformed VP8 key frame") }
            return .vp8(width: Int32(d[6]) | Int32(d[7] & 0x3F) << 8, height: Int32(d[8]) | Int32(d[9] & 0x3F) << 8)
        case .h264:
            let decoder = try Decoder(.h264)
            let pictures = decoder.decode(keyframe.data, pts: 0) + decoder.flush()
            guard let picture = pictures.first else { throw RecorderError("the first H.264 key frame does not decode") }
            return .h264(width: picture.width, height: picture.height, extradata: AnnexB.parameterSets(keyframe.data))
        case .opus:
            return .opus(channels: 2)
        }
    }
}
