import Foundation
import HTTP
import Rooms
import SessionManager
import Support

/// Makes a recording's writer once the tracks it will hold are known: a Track egress's
/// WebSocket, or the plan's writer with every output named (templates filled), confined to the
/// output directory and opened.
struct WriterFactory {
    let spec: EgressSpec
    let configuration: RecorderConfiguration

    /// What the recording has when its writer is made.
    struct Tracks {
        var video: HubTrack?
        var audio: [HubTrack]
        /// The participant the egress names, if it names one.
        var participant: String?
        var roomID: String
    }

    /// The writer, and what to log about where it writes.
    func make(for tracks: Tracks, streams: [StreamResult], wallClockOrigin: Int64) throws -> (writer: any MediaWriter, logged: [String: String]) {
        let outputs = spec.outputs
        if let url = outputs.websocketURL {
            let writer = try WebSocketAudioWriter(url: url)
            if tracks.audio.first?.muted == true { try writer.muteChanged(true) }
            // The URL's query may hold a token: only where it goes is logged.
            return (writer, ["websocket": HTTPURL(url).map { "\($0.host):\($0.port)" } ?? ""])
        }
        if outputs.stream?.streamProtocol == .websocket {
            throw RecorderError("stream_outputs over WEBSOCKET are not written yet; a Track egress's websocket_url is", code: 501)
        }
        let named = tracks.video ?? tracks.audio.first
        let plan = try OutputPlan.make(spec: spec, video: tracks.video, hasAudio: !tracks.audio.isEmpty)
        let naming = FileNaming(roomName: spec.roomName, roomID: tracks.roomID,
                                publisherIdentity: named?.participantIdentity ?? tracks.participant ?? "",
                                trackID: named?.sid ?? "",
                                trackType: tracks.video != nil ? "video" : "audio",
                                trackSource: "\(named?.source ?? .unknown)", now: Date())
        let targets = OutputTargets(outputDirectory: configuration.outputDirectory, naming: naming, defaultName: plan.defaultName)
        let fileTarget = try outputs.file.flatMap { file in try plan.fileType.map { try targets.file(file, fileType: $0) } }
        let segments = try outputs.segments.map { output in
            let (prefix, playlist, live) = try targets.segments(output)
            return SegmentedOutput(output: output, prefix: prefix, playlist: playlist, livePlaylist: live, wallClockOrigin: wallClockOrigin)
        }
        let liveStreams = streams.map { LiveStreamOutput(id: $0.id, url: $0.url, policy: configuration.streamRetry) }
        let size = plan.pictureSize
        let thumbnails = try outputs.images.map { image in
            try ThumbnailOutput(output: image, prefix: try targets.images(image), width: size.width, height: size.height,
                                wallClockOrigin: wallClockOrigin)
        }
        let writer = try plan.makeWriter(file: fileTarget, segments: segments, streams: liveStreams, thumbnails: thumbnails,
                                         staleAfter: configuration.staleVideoAfter.nanoseconds)
        return (writer, ["file": fileTarget?.relative ?? "", "playlist": segments?.playlistPath ?? ""])
    }
}
