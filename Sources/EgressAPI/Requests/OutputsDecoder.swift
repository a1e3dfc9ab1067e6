import Protobuf
import RPC
import SessionManager

/// Reads the outputs of a request into `Outputs`: at most one file, one stream and one
/// segmented output, any number of image outputs, paths confined to the output directory, and
/// only local storage.
struct OutputsDecoder {
    let outputDirectory: String

    // MARK: Legacy requests (file_outputs, stream_outputs, segment_outputs, image_outputs)

    /// The encoded outputs of a Participant / TrackComposite request, including the deprecated
    /// single `file` / `stream` / `segments` members where the request has them.
    func encodedOutputs(of request: ProtoMessage, recordsVideo: Bool) throws(RPCError) -> Outputs {
        var outputs = Outputs()
        let files = request.messages("file_outputs")
        let streams = request.messages("stream_outputs")
        let segments = request.messages("segment_outputs")
        let images = request.messages("image_outputs")
        let hasDeprecated = request.descriptor.field(named: "file") != nil
        guard files.count <= 1 else { throw RequestErrors.invalidField("multiple file outputs") }
        guard streams.count <= 1 else { throw RequestErrors.invalidField("multiple stream outputs") }
        guard segments.count <= 1 else { throw RequestErrors.invalidField("multiple segmented file outputs") }

        if let file = files.first ?? (hasDeprecated ? request.message("file") : nil) {
            try rejectUpload(in: file)
            outputs.file = try fileOutput(file, typeField: "file_type")
        }
        if let stream = streams.first ?? (hasDeprecated ? request.message("stream") : nil) {
            outputs.stream = try streamOutput(stream)
        }
        if let segment = segments.first ?? (hasDeprecated ? request.message("segments") : nil) {
            outputs.segments = try segmentsOutput(segment)
        }
        outputs.images = try images.map { image throws(RPCError) in try imageOutput(image) }
        try checkShape(outputs, recordsVideo: recordsVideo)
        return outputs
    }

    // MARK: The unified request (repeated Output)

    func unifiedOutputs(of request: ProtoMessage, recordsVideo: Bool) throws(RPCError) -> Outputs {
        if let storage = request.message("storage") { try rejectStorage(storage) }
        var outputs = Outputs()
        for output in request.messages("outputs") {
            if let storage = output.message("storage") { try rejectStorage(storage) }
            if let file = output.message("file") {
                guard outputs.file == nil else { throw RequestErrors.invalidField("multiple file outputs") }
                outputs.file = try fileOutput(file, typeField: "file_type")
            } else if let stream = output.message("stream") {
                guard outputs.stream == nil else { throw RequestErrors.invalidField("multiple stream outputs") }
                outputs.stream = try streamOutput(stream)
            } else if let segments = output.message("segments") {
                guard outputs.segments == nil else { throw RequestErrors.invalidField("multiple segmented file outputs") }
                outputs.segments = try segmentsOutput(segments)
            } else if let images = output.message("images") {
                outputs.images.append(try imageOutput(images))
            } else {
                throw RequestErrors.invalidField("output", "an output sets none of file, stream, segments, images")
            }
        }
        try checkShape(outputs, recordsVideo: recordsVideo)
        return outputs
    }

    // MARK: Track egress (DirectFileOutput or websocket_url)

    func directOutput(of request: ProtoMessage) throws(RPCError) -> Outputs {
        if let file = request.message("file") {
            try rejectUpload(in: file)
            return Outputs(file: FileOutput(fileType: nil, path: try confined(file.string("filepath"), field: "filepath"),
                                            disableManifest: file.bool("disable_manifest")))
        }
        if request.has("websocket_url") {
            let url = request.string("websocket_url")
            try Self.checkURL(url, schemes: ["ws", "wss"], field: "websocket_url")
            return Outputs(websocketURL: url)
        }
        throw RequestErrors.invalidField("output")
    }

    // MARK: One output each

    private func fileOutput(_ file: ProtoMessage, typeField: String) throws(RPCError) -> FileOutput {
        let fileType: FileType? = switch file.enumNumber(typeField) {
        case 0: nil
        case 1: .mp4
        case 2: .ogg
        case 3: .mp3
        case let other: throw RequestErrors.invalidField(typeField, "unknown file type \(other)")
        }
        return FileOutput(fileType: fileType, path: try confined(file.string("filepath"), field: "filepath"),
                          disableManifest: file.bool("disable_manifest"))
    }

    private func streamOutput(_ stream: ProtoMessage) throws(RPCError) -> StreamOutput {
        let streamProtocol: StreamProtocol
        switch stream.enumNumber("protocol") {
        case 0, 1: streamProtocol = .rtmp
        case 2: streamProtocol = .srt
        case 3: streamProtocol = .websocket
        case let other: throw RequestErrors.invalidField("protocol", "unknown stream protocol \(other)")
        }
        let urls = stream.strings("urls") + stream.messages("destinations").map { $0.string("url") }
        try Self.checkStreamURLs(urls, for: streamProtocol, field: "stream url")
        return StreamOutput(streamProtocol: streamProtocol, urls: urls)
    }

    /// Each URL must use the scheme of the stream's protocol.
    static func checkStreamURLs(_ urls: [String], for streamProtocol: StreamProtocol, field: String) throws(RPCError) {
        guard urls.count <= StreamOutput.maxURLs else {
            throw RequestErrors.invalidField(field, "\(urls.count) URLs; at most \(StreamOutput.maxURLs) are allowed")
        }
        if let long = urls.first(where: { $0.utf8.count > StreamOutput.maxURLLength }) {
            throw RequestErrors.invalidField(field, "a URL of \(long.utf8.count) bytes; at most \(StreamOutput.maxURLLength) are allowed")
        }
        let schemes = switch streamProtocol {
        case .rtmp: ["rtmp", "rtmps"]
        case .srt: ["srt"]
        case .websocket: ["ws", "wss"]
        }
        for url in urls { try checkURL(url, schemes: schemes, field: field) }
    }

    private func segmentsOutput(_ segments: ProtoMessage) throws(RPCError) -> SegmentsOutput {
        try rejectUpload(in: segments)
        let fragmented: Bool = switch segments.enumNumber("protocol") {
        case 0, 1: false
        case 2: true
        case let other: throw RequestErrors.invalidField("protocol", "unknown segmented file protocol \(other)")
        }
        let duration = segments.uint32("segment_duration")
        guard duration <= 3600 else { throw RequestErrors.invalidField("segment_duration", "\(duration) s is over an hour") }
        return SegmentsOutput(
            fragmentedMP4: fragmented,
            filenamePrefix: try confined(segments.string("filename_prefix"), field: "filename_prefix"),
            playlistName: try confined(segments.string("playlist_name"), field: "playlist_name"),
            livePlaylistName: try confined(segments.string("live_playlist_name"), field: "live_playlist_name"),
            segmentDuration: duration == 0 ? 4 : duration,
            timestampSuffix: segments.enumNumber("filename_suffix") == 1,
            disableManifest: segments.bool("disable_manifest"))
    }

    private func imageOutput(_ image: ProtoMessage) throws(RPCError) -> ImageOutput {
        try rejectUpload(in: image)
        for dimension in ["width", "height"] {
            let value = image.int32(dimension)
            guard value == 0 || (value >= 16 && value % 2 == 0) else {
                throw RequestErrors.invalidField(dimension, "\(value) is not an even number of pixels of at least 16")
            }
        }
        guard image.enumNumber("image_codec") <= 1 else { throw RequestErrors.invalidField("image_codec") }
        guard let suffix = ImageOutput.Suffix(rawValue: image.enumNumber("filename_suffix")) else {
            throw RequestErrors.invalidField("filename_suffix")
        }
        let interval = image.uint32("capture_interval")
        return ImageOutput(captureInterval: interval == 0 ? 10 : interval, width: image.int32("width"), height: image.int32("height"),
                           filenamePrefix: try confined(image.string("filename_prefix"), field: "filename_prefix"),
                           suffix: suffix, disableManifest: image.bool("disable_manifest"))
    }

    // MARK: Checks

    /// An output list that records nothing, or images of an audio-only egress, is refused.
    private func checkShape(_ outputs: Outputs, recordsVideo: Bool) throws(RPCError) {
        if !outputs.images.isEmpty, !recordsVideo { throw RequestErrors.invalidField("audio_only", "image outputs need video") }
        if let stream = outputs.stream, stream.urls.isEmpty, outputs.file == nil, outputs.segments == nil, outputs.images.isEmpty {
            throw RequestErrors.invalidField("stream url")
        }
        if outputs.isEmpty { throw RequestErrors.invalidField("output") }
    }

    private func confined(_ path: String, field: String) throws(RPCError) -> String {
        switch OutputPath.confine(path, to: outputDirectory) {
        case .success(let relative): return relative
        case .failure(let problem): throw RequestErrors.invalidField(field, problem.description)
        }
    }

    private func rejectUpload(in output: ProtoMessage) throws(RPCError) {
        for provider in ["s3", "gcp", "azure", "aliOSS"] where output.descriptor.field(named: provider) != nil && output.has(provider) {
            throw RequestErrors.uploadNotSupported(provider)
        }
    }

    private func rejectStorage(_ storage: ProtoMessage) throws(RPCError) {
        if let provider = storage.oneofCase(containing: "s3") { throw RequestErrors.uploadNotSupported(provider) }
    }

    private static func checkURL(_ url: String, schemes: [String], field: String) throws(RPCError) {
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw RequestErrors.invalidField(field, "a URL with a space or control character")
        }
        guard let colon = url.firstIndex(of: ":"), schemes.contains(url[..<colon].lowercased()),
              url[colon...].hasPrefix("://"), url.count > url.distance(from: url.startIndex, to: colon) + 3 else {
            throw RequestErrors.invalidField(field, "\(url) is not a \(schemes.joined(separator: "/"))://... url")
        }
    }
}
