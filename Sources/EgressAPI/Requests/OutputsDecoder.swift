import APIMessages
import HTTP
import RPC
import SessionManager
import Support

/// Reads the outputs of a request into `Outputs`: up to `Outputs.maxPerKind` files, segmented
/// outputs and image outputs, one stream output (with its URLs), paths confined to the output
/// directory, uploads to S3 only.
struct OutputsDecoder {
    let outputDirectory: String
    /// The server's storage, for the outputs a request gives none.
    var defaultUpload: S3Upload? = nil

    // MARK: Legacy requests (file_outputs, stream_outputs, segment_outputs, image_outputs)

    /// The output lists of a Participant or TrackComposite request, with the deprecated single
    /// `file` / `stream` / `segments` member of the requests that have one.
    struct EncodedOutputs {
        var files: [Livekit_EncodedFileOutput]
        var streams: [Livekit_StreamOutput]
        var segments: [Livekit_SegmentedFileOutput]
        var images: [Livekit_ImageOutput]

        init(_ request: Livekit_ParticipantEgressRequest) {
            (files, streams, segments, images) = (request.fileOutputs, request.streamOutputs, request.segmentOutputs, request.imageOutputs)
        }

        init(_ request: Livekit_TrackCompositeEgressRequest) {
            (files, streams, segments, images) = (request.fileOutputs, request.streamOutputs, request.segmentOutputs, request.imageOutputs)
            // The deprecated member counts when its list is empty.
            switch request.output {
            case .file(let file)? where files.isEmpty: files = [file]
            case .stream(let stream)? where streams.isEmpty: streams = [stream]
            case .segments(let segment)? where segments.isEmpty: segments = [segment]
            default: break
            }
        }
    }

    /// The encoded outputs of a Participant / TrackComposite request.
    func encodedOutputs(_ request: EncodedOutputs, recordsVideo: Bool) throws(RPCError) -> Outputs {
        guard request.streams.count <= 1 else { throw RequestErrors.invalidField("stream_outputs", "more than one; list every URL in one") }
        try Self.checkCount(request.files.count, field: "file_outputs")
        try Self.checkCount(request.segments.count, field: "segment_outputs")
        try Self.checkCount(request.images.count, field: "image_outputs")
        var outputs = Outputs()
        outputs.files = try request.files.map { file throws(RPCError) in
            try fileOutput(fileType: file.fileType, path: file.filepath, disableManifest: file.disableManifest,
                           upload: try upload(file.output.map(Upload.init)) ?? defaultUpload)
        }
        outputs.stream = try request.streams.first.map { stream throws(RPCError) in try streamOutput(stream) }
        outputs.segments = try request.segments.map { segments throws(RPCError) in
            try segmentsOutput(segments, upload: try upload(segments.output.map(Upload.init)) ?? defaultUpload)
        }
        outputs.images = try request.images.map { image throws(RPCError) in
            try imageOutput(image, upload: try upload(image.output.map(Upload.init)) ?? defaultUpload)
        }
        try checkShape(outputs, recordsVideo: recordsVideo)
        return outputs
    }

    // MARK: The unified request (repeated Output)

    func unifiedOutputs(_ list: [Livekit_Output], storage: Livekit_StorageConfig?, recordsVideo: Bool) throws(RPCError) -> Outputs {
        // The request's storage is for the outputs that name none of their own; the server's
        // default storage for the outputs of a request that names none at all.
        let requestStorage = try upload(storage?.provider.map(Upload.init)) ?? defaultUpload
        var outputs = Outputs()
        for output in list {
            let storage = try upload(output.storage?.provider.map(Upload.init)) ?? requestStorage
            switch output.config {
            case .file(let file)?:
                outputs.files.append(try fileOutput(fileType: file.fileType, path: file.filepath, disableManifest: file.disableManifest,
                                                    upload: storage))
            case .stream(let stream)?:
                guard outputs.stream == nil else { throw RequestErrors.invalidField("outputs.stream", "more than one; list every URL in one") }
                outputs.stream = try streamOutput(stream)
            case .segments(let segments)?:
                outputs.segments.append(try segmentsOutput(segments, upload: storage))
            case .images(let images)?:
                outputs.images.append(try imageOutput(images, upload: storage))
            case nil:
                throw RequestErrors.invalidField("output", "an output sets none of file, stream, segments, images")
            }
        }
        try Self.checkCount(outputs.files.count, field: "outputs.file")
        try Self.checkCount(outputs.segments.count, field: "outputs.segments")
        try Self.checkCount(outputs.images.count, field: "outputs.images")
        try checkShape(outputs, recordsVideo: recordsVideo)
        return outputs
    }

    /// At most `Outputs.maxPerKind` outputs of one kind.
    private static func checkCount(_ count: Int, field: String) throws(RPCError) {
        guard count <= Outputs.maxPerKind else {
            throw RequestErrors.invalidField(field, "\(count) outputs; at most \(Outputs.maxPerKind) of one kind are allowed")
        }
    }

    // MARK: Track egress (DirectFileOutput or websocket_url)

    func directOutput(_ output: Livekit_TrackEgressRequest.OneOf_Output?) throws(RPCError) -> Outputs {
        switch output {
        case .file(let file)?:
            return Outputs(files: [FileOutput(fileType: nil, path: try confined(file.filepath, field: "filepath"),
                                              disableManifest: file.disableManifest,
                                              upload: try upload(file.output.map(Upload.init)) ?? defaultUpload)])
        case .websocketUrl(let url)?:
            try Self.checkURL(url, schemes: ["ws", "wss"], field: "websocket_url")
            guard url.utf8.count <= StreamOutput.maxURLLength, HTTPURL(url) != nil else {
                throw RequestErrors.invalidField("websocket_url", "not a ws:// or wss:// URL with a host (and a port from 1 to 65535) of at most \(StreamOutput.maxURLLength) bytes")
            }
            return Outputs(websocketURL: url)
        case nil:
            throw RequestErrors.invalidField("output")
        }
    }

    // MARK: One output each

    private func fileOutput(fileType: Livekit_EncodedFileType, path: String, disableManifest: Bool, upload: S3Upload?) throws(RPCError) -> FileOutput {
        let type: FileType? = switch fileType {
        case .defaultFiletype: nil
        case .mp4: .mp4
        case .ogg: .ogg
        case .mp3: .mp3
        case .unrecognized(let other): throw RequestErrors.invalidField("file_type", "unknown file type \(other)")
        }
        return FileOutput(fileType: type, path: try confined(path, field: "filepath"), disableManifest: disableManifest, upload: upload)
    }

    private func streamOutput(_ stream: Livekit_StreamOutput) throws(RPCError) -> StreamOutput {
        let streamProtocol: StreamProtocol
        switch stream.protocol {
        case .defaultProtocol, .rtmp: streamProtocol = .rtmp
        case .srt: streamProtocol = .srt
        case .websocket: streamProtocol = .websocket
        case .unrecognized(let other): throw RequestErrors.invalidField("protocol", "unknown stream protocol \(other)")
        }
        let urls = stream.urls + stream.destinations.map(\.url)
        return StreamOutput(streamProtocol: streamProtocol, urls: try Self.streamURLs(urls, for: streamProtocol, field: "stream url"))
    }

    /// The URLs to connect to: each must use the scheme of the stream's protocol, an RTMP one
    /// must name its app and stream key (LiveKit's `mux://` and `twitch://` shortcuts expanded).
    static func streamURLs(_ urls: [String], for streamProtocol: StreamProtocol, field: String) throws(RPCError) -> [String] {
        guard urls.count <= StreamOutput.maxURLs else {
            throw RequestErrors.invalidField(field, "\(urls.count) URLs; at most \(StreamOutput.maxURLs) are allowed")
        }
        if let long = urls.first(where: { $0.utf8.count > StreamOutput.maxURLLength }) {
            throw RequestErrors.invalidField(field, "a URL of \(long.utf8.count) bytes; at most \(StreamOutput.maxURLLength) are allowed")
        }
        let schemes = switch streamProtocol {
        case .rtmp: ["rtmp", "rtmps", "mux", "twitch"]
        case .srt: ["srt"]
        case .websocket: ["ws", "wss"]
        }
        return try urls.map { url throws(RPCError) in
            try checkURL(url, schemes: schemes, field: field)
            let expanded = StreamKey.expanded(url)
            guard streamProtocol != .rtmp || StreamKey.hasAppAndKey(expanded) else {
                throw RequestErrors.invalidField(field, "invalid url \(url): rtmp urls must be of format rtmp(s)://{host}(/{path})/{app}/{stream_key}( live=1)")
            }
            return expanded
        }
    }

    private func segmentsOutput(_ segments: Livekit_SegmentedFileOutput, upload: S3Upload?) throws(RPCError) -> SegmentsOutput {
        let fragmented: Bool
        switch segments.protocol {
        case .defaultSegmentedFileProtocol, .hlsProtocol: fragmented = false
        case .hlsFmp4Protocol: fragmented = true
        case .unrecognized(let other): throw RequestErrors.invalidField("protocol", "unknown segmented file protocol \(other)")
        }
        let duration = segments.segmentDuration
        guard duration <= 3600 else { throw RequestErrors.invalidField("segment_duration", "\(duration) s is over an hour") }
        let timestamp: Bool = switch segments.filenameSuffix {
        case .index: false
        case .timestamp: true
        case .unrecognized(let other): throw RequestErrors.invalidField("filename_suffix", "unknown segment suffix \(other)")
        }
        let prefix = try confined(segments.filenamePrefix, field: "filename_prefix")
        let playlist = try confined(segments.playlistName, field: "playlist_name")
        let live = try confined(segments.livePlaylistName, field: "live_playlist_name")
        // The names the files get (a segment's suffix, a playlist's temporary `.part`) must fit
        // a file name too, and the two playlists must be two files.
        if PathText.lastComponent(of: prefix).utf8.count + SegmentsOutput.longestSegmentSuffix > OutputPath.maxComponentLength {
            throw RequestErrors.invalidField("filename_prefix", "a segment's name, with its suffix, would be over \(OutputPath.maxComponentLength) bytes")
        }
        for (field, name) in [("playlist_name", playlist), ("live_playlist_name", live)] where !name.isEmpty {
            guard !PathText.endsWithSlash(name) else { throw RequestErrors.invalidField(field, "it names a directory, not a playlist file") }
            let file = SegmentsOutput.playlistFile(named: name, prefix: prefix)
            guard file.utf8.count + ".part".utf8.count <= OutputPath.maxComponentLength else {
                throw RequestErrors.invalidField(field, "the playlist's name would be over \(OutputPath.maxComponentLength) bytes")
            }
        }
        if !live.isEmpty, SegmentsOutput.playlistFile(named: live, prefix: prefix) == SegmentsOutput.playlistFile(named: playlist, prefix: prefix) {
            throw RequestErrors.invalidField("live_playlist_name", "it is the same file as playlist_name")
        }
        var output = SegmentsOutput(
            filenamePrefix: prefix,
            playlistName: playlist,
            livePlaylistName: live,
            segmentDuration: duration == 0 ? 4 : duration,
            timestampSuffix: timestamp,
            disableManifest: segments.disableManifest,
            upload: upload)
        output.fragmentedMP4 = fragmented
        return output
    }

    private func imageOutput(_ image: Livekit_ImageOutput, upload: S3Upload?) throws(RPCError) -> ImageOutput {
        for (dimension, value) in [("width", image.width), ("height", image.height)] {
            guard value == 0 || (value >= 16 && value <= ImageOutput.maxDimension && value % 2 == 0) else {
                throw RequestErrors.invalidField(dimension, "\(value) is not an even number of pixels from 16 to \(ImageOutput.maxDimension)")
            }
        }
        guard image.captureInterval <= 86_400 else {
            throw RequestErrors.invalidField("capture_interval", "\(image.captureInterval) s is over a day")
        }
        guard image.imageCodec.rawValue <= 1 else { throw RequestErrors.invalidField("image_codec") }
        guard let suffix = ImageOutput.Suffix(rawValue: image.filenameSuffix.rawValue) else {
            throw RequestErrors.invalidField("filename_suffix")
        }
        let interval = image.captureInterval
        let prefix = try confined(image.filenamePrefix, field: "filename_prefix")
        if PathText.lastComponent(of: prefix).utf8.count + ImageOutput.longestSuffix > OutputPath.maxComponentLength {
            throw RequestErrors.invalidField("filename_prefix", "an image's name, with its suffix, would be over \(OutputPath.maxComponentLength) bytes")
        }
        return ImageOutput(captureInterval: interval == 0 ? 10 : interval, width: image.width, height: image.height,
                           filenamePrefix: prefix, suffix: suffix, disableManifest: image.disableManifest, upload: upload)
    }

    // MARK: Checks

    /// An output list that records nothing, or images of an audio-only egress, is refused.
    private func checkShape(_ outputs: Outputs, recordsVideo: Bool) throws(RPCError) {
        if !outputs.images.isEmpty, !recordsVideo { throw RequestErrors.invalidField("audio_only", "image outputs need video") }
        if let stream = outputs.stream, stream.urls.isEmpty, outputs.files.isEmpty, outputs.segments.isEmpty, outputs.images.isEmpty {
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

    /// Where an output is uploaded: S3 (and S3-compatible storage) is; the other providers are
    /// refused by name.
    private enum Upload {
        case s3(Livekit_S3Upload), gcp, azure, aliOSS

        var name: String {
            switch self {
            case .s3: "s3"
            case .gcp: "gcp"
            case .azure: "azure"
            case .aliOSS: "aliOSS"
            }
        }

        init(_ output: Livekit_EncodedFileOutput.OneOf_Output) {
            switch output {
            case .s3(let s3): self = .s3(s3)
            case .gcp: self = .gcp
            case .azure: self = .azure
            case .aliOSS: self = .aliOSS
            }
        }

        init(_ output: Livekit_DirectFileOutput.OneOf_Output) {
            switch output {
            case .s3(let s3): self = .s3(s3)
            case .gcp: self = .gcp
            case .azure: self = .azure
            case .aliOSS: self = .aliOSS
            }
        }

        init(_ output: Livekit_SegmentedFileOutput.OneOf_Output) {
            switch output {
            case .s3(let s3): self = .s3(s3)
            case .gcp: self = .gcp
            case .azure: self = .azure
            case .aliOSS: self = .aliOSS
            }
        }

        init(_ output: Livekit_ImageOutput.OneOf_Output) {
            switch output {
            case .s3(let s3): self = .s3(s3)
            case .gcp: self = .gcp
            case .azure: self = .azure
            case .aliOSS: self = .aliOSS
            }
        }

        init(_ provider: Livekit_StorageConfig.OneOf_Provider) {
            switch provider {
            case .s3(let s3): self = .s3(s3)
            case .gcp: self = .gcp
            case .azure: self = .azure
            case .aliOSS: self = .aliOSS
            }
        }
    }

    /// The S3 upload asked for, checked; another provider is refused naming it.
    private func upload(_ upload: Upload?) throws(RPCError) -> S3Upload? {
        guard let upload else { return nil }
        guard case .s3(let s3) = upload else { throw RequestErrors.uploadNotSupported(upload.name) }
        for (field, value) in [("access_key", s3.accessKey), ("secret", s3.secret), ("bucket", s3.bucket)] where value.isEmpty {
            throw RequestErrors.invalidField("s3.\(field)", "empty (this server has no other credentials to use)")
        }
        if !s3.assumeRoleArn.isEmpty { throw RPCError.unimplemented("s3.assume_role_arn: assuming a role is not implemented; give access_key and secret") }
        if s3.proxy != nil { throw RPCError.unimplemented("s3.proxy: uploading through a proxy is not implemented") }
        let texts = [("access_key", s3.accessKey), ("secret", s3.secret), ("session_token", s3.sessionToken), ("region", s3.region),
                     ("endpoint", s3.endpoint), ("bucket", s3.bucket), ("tagging", s3.tagging), ("content_disposition", s3.contentDisposition)]
            + s3.metadata.flatMap { [("metadata", $0.key), ("metadata", $0.value)] }
        for (field, value) in texts {
            // They become header lines: no line breaks or other control characters.
            guard value.utf8.count <= S3Upload.maxFieldLength, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw RequestErrors.invalidField("s3.\(field)", "over \(S3Upload.maxFieldLength) bytes, or with a control character")
            }
        }
        guard s3.metadata.count <= S3Upload.maxMetadata,
              s3.metadata.keys.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { Self.isTokenByte($0) } }) else {
            throw RequestErrors.invalidField("s3.metadata", "at most \(S3Upload.maxMetadata) entries, each named with letters, digits and -_.")
        }
        guard s3.bucket.utf8.count <= S3Upload.maxBucketLength, s3.bucket.utf8.allSatisfy({ Self.isTokenByte($0) }) else {
            throw RequestErrors.invalidField("s3.bucket", "\(s3.bucket.debugDescription) is not a bucket name")
        }
        if let problem = S3Upload.problem(accessKey: s3.accessKey, region: s3.region) {
            throw RequestErrors.invalidField(s3.accessKey.contains(":") ? "s3.access_key" : "s3.region", problem)
        }
        if !s3.endpoint.isEmpty, HTTPURL(s3.endpoint) == nil || s3.endpoint.lowercased().hasPrefix("ws") {
            throw RequestErrors.invalidField("s3.endpoint", "\(s3.endpoint) is not an http:// or https:// URL")
        }
        return S3Upload(accessKey: s3.accessKey, secret: s3.secret, sessionToken: s3.sessionToken, region: s3.region,
                        endpoint: s3.endpoint, bucket: s3.bucket, forcePathStyle: s3.forcePathStyle, metadata: s3.metadata,
                        tagging: s3.tagging, contentDisposition: s3.contentDisposition)
    }

    /// Letters, digits, `-`, `_`, `.`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".")
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
