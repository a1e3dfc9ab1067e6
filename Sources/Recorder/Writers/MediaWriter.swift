import Media
import RTP
import SessionManager
import Support

/// Turns a recording's timed frames into its outputs. Positions are nanoseconds of media
/// time from the start of the recording. Called from the recording's own thread only.
protocol MediaWriter: AnyObject {
    /// The file outputs, in the request's order: where each goes, and the file once made (a
    /// remux makes it when it first writes).
    var files: [(target: ConfinedPath, file: ConfinedFile?)] { get }
    /// The HLS outputs, in the request's order.
    var segmentOutputs: [SegmentedOutput] { get }
    /// Outputs dropped after they failed, with why (the others went on).
    var failedOutputs: [(label: String, error: String)] { get }
    var bytesWritten: Int64 { get }
    /// The first file output's file, or else the first playlist (its directory stays open: the
    /// manifest goes there).
    var file: ConfinedFile? { get }
    /// Nanoseconds of media written so far.
    var duration: Int64 { get }

    func video(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws
    /// A frame of the video track while it is muted. Transcoding decodes it (so that its
    /// decoder keeps its references; `visibility` draws black there); a remux leaves a gap.
    func mutedVideo(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws
    /// An audio frame of `track`, for `channel` (several audio tracks are mixed).
    func audio(_ frame: EncodedFrame, track: String, channel: EgressSpec.AudioRoute.Channel, at position: Int64) throws
    /// `track` is gone (unpublished): stop mixing it.
    func removeAudio(track: String)
    /// The recorded audio track was muted or unmuted (a WebSocket tells its server).
    func muteChanged(_ muted: Bool) throws
    /// Writes everything up to `position`. `visibility` says where the video track is muted,
    /// unpublished or absent (transcoding shows black there).
    func advance(to position: Int64, visibility: VideoVisibility) throws
    /// Writes up to `position` and closes the file, playable.
    func finish(at position: Int64, visibility: VideoVisibility) throws
}

extension MediaWriter {
    var segmentOutputs: [SegmentedOutput] { [] }
    /// Files and streams carry a muted track as silence, and need no word of it.
    func muteChanged(_ muted: Bool) throws {}

    /// What every output has written so far, for a recording whose media began at `startedAt`
    /// (Unix ns).
    func results(startedAt: Int64) -> EgressResults {
        var results = EgressResults()
        let duration = self.duration
        results.files = files.map { target, file in
            FileResult(filename: target.relative, location: target.path, size: file?.size ?? 0,
                       duration: duration, startedAt: startedAt, endedAt: startedAt + duration)
        }
        results.segments = segmentOutputs.map { $0.result() }
        var uploadFailures = segmentOutputs.compactMap(\.uploadFailure)
        if let writer = self as? TranscodingWriter {
            results.streams = writer.streams.map { $0.result() } + writer.webSockets.map { $0.streamResult() }
            results.images = writer.thumbnails.map { $0.result() }
            uploadFailures += writer.thumbnails.compactMap(\.uploadFailure)
        }
        results.failedOutputs = failedOutputs.map { "\($0.label): \($0.error)" }
        // An output whose upload failed kept its files where they were written.
        results.failedOutputs += uploadFailures.map { "\($0); its files are kept in the output directory" }
        if !uploadFailures.isEmpty { results.backupStorageUsed = true }
        return results
    }
    var failedOutputs: [(label: String, error: String)] { [] }

    func mutedVideo(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws {
        try video(frame, codec: codec, at: position)
    }
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
