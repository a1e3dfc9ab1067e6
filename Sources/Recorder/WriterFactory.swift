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
    /// - Parameter uploadDeadline: the egress's, for the uploaders of its HLS and image outputs.
    func make(for tracks: Tracks, streams: [StreamResult], wallClockOrigin: Int64,
              uploadDeadline: UploadDeadline) throws -> (writer: any MediaWriter, logged: [String: String]) {
        let outputs = spec.outputs
        if let url = outputs.websocketURL {
            let writer = try WebSocketAudioWriter(url: url)
            if tracks.audio.first?.muted == true { try writer.muteChanged(true) }
            // The URL's query may hold a token: only where it goes is logged.
            return (writer, ["websocket": HTTPURL(url).map { "\($0.host):\($0.port)" } ?? ""])
        }
        let named = tracks.video ?? tracks.audio.first
        let plan = try OutputPlan.make(spec: spec, video: tracks.video, hasAudio: !tracks.audio.isEmpty)
        let naming = FileNaming(roomName: spec.roomName, roomID: tracks.roomID,
                                publisherIdentity: named?.participantIdentity ?? tracks.participant ?? "",
                                trackID: named?.sid ?? "",
                                trackType: tracks.video != nil ? "video" : "audio",
                                trackSource: "\(named?.source ?? .unknown)", now: Date())
        let targets = OutputTargets(outputDirectory: configuration.outputDirectory, naming: naming, defaultName: plan.defaultName)
        let files = try zip(outputs.files, plan.fileTypes).map { file, type in try targets.file(file, fileType: type) }
        let segments = try outputs.segments.map { output in
            let (prefix, playlist, live) = try targets.segments(output)
            return SegmentedOutput(output: output, prefix: prefix, playlist: playlist, livePlaylist: live, wallClockOrigin: wallClockOrigin,
                                   uploader: output.upload.map { OutputUploader($0, partSize: configuration.uploadPartSize, deadline: uploadDeadline) })
        }
        // Streams over WEBSOCKET take the mix as PCM; the others (RTMP, SRT) encoded packets.
        let overWebSocket = outputs.stream?.streamProtocol == .websocket
        let liveStreams = overWebSocket ? [] : streams.map { LiveStreamOutput(id: $0.id, url: $0.url, policy: configuration.streamRetry) }
        let webSockets = overWebSocket ? streams.map { WebSocketPCMOutput(id: $0.id, url: $0.url) } : []
        let size = plan.pictureSize
        let imagePrefixes = try outputs.images.map { try targets.images($0) }
        // Filled, two outputs may name the same files: refused before anything is written.
        let playlists = segments.flatMap { [$0.playlistTarget] + ($0.livePlaylistTarget.map { [$0] } ?? []) }
        try OutputTargets.checkDistinct(exact: files + playlists, segmentPrefixes: segments.map(\.prefix), imagePrefixes: imagePrefixes)
        let thumbnails = try zip(outputs.images, imagePrefixes).map { image, prefix in
            try ThumbnailOutput(output: image, prefix: prefix, width: size.width, height: size.height, wallClockOrigin: wallClockOrigin,
                                uploader: image.upload.map { OutputUploader($0, partSize: configuration.uploadPartSize, deadline: uploadDeadline) })
        }
        let writer = try plan.makeWriter(files: files, segments: segments, streams: liveStreams, webSockets: webSockets, thumbnails: thumbnails,
                                         staleAfter: configuration.staleVideoAfter.nanoseconds)
        return (writer, ["files": files.map(\.relative).joined(separator: " "), "playlists": segments.map(\.playlistPath).joined(separator: " ")])
    }
}
