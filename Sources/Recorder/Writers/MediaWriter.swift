import Media
import RTP

/// Turns a recording's timed frames into one output file. Positions are nanoseconds of media
/// time from the start of the recording. Called from the recording's own thread only.
protocol MediaWriter: AnyObject {
    var path: String { get }
    var bytesWritten: Int64 { get }
    /// Nanoseconds of media written so far.
    var duration: Int64 { get }

    func video(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws
    func audio(_ frame: EncodedFrame, at position: Int64) throws
    /// Writes everything up to `position`. `visibility` says where the video track is muted,
    /// unpublished or absent (transcoding shows black there).
    func advance(to position: Int64, visibility: VideoVisibility) throws
    /// Writes up to `position` and closes the file, playable.
    func finish(at position: Int64, visibility: VideoVisibility) throws
}

extension RTPCodec {
    var decoderCodec: Decoder.Codec {
        switch self {
        case .h264: .h264
        case .vp8: .vp8
        case .opus: .opus
        }
    }
}
