import APIMessages
import EgressWire
import SessionManager

/// What is echoed back of a request loses its secrets, as LiveKit's egress does: the key of an
/// RTMP stream URL becomes `{stream_key}`; an S3 upload's access key, secret and session token
/// become `{access_key}`, `{secret}`, `{session_token}`. Beyond LiveKit: an SRT passphrase
/// and the query values of a WebSocket URL become `{passphrase}`, `{token}` … (`StreamKey`).
enum Redaction {
    static func redacted(_ request: Livekit_ParticipantEgressRequest) -> Livekit_ParticipantEgressRequest {
        var request = request
        request.streamOutputs = request.streamOutputs.map(redacted)
        request.fileOutputs = request.fileOutputs.map(redacted)
        request.segmentOutputs = request.segmentOutputs.map(redacted)
        request.imageOutputs = request.imageOutputs.map(redacted)
        return request
    }

    static func redacted(_ request: Livekit_TrackCompositeEgressRequest) -> Livekit_TrackCompositeEgressRequest {
        var request = request
        request.streamOutputs = request.streamOutputs.map(redacted)
        request.fileOutputs = request.fileOutputs.map(redacted)
        request.segmentOutputs = request.segmentOutputs.map(redacted)
        request.imageOutputs = request.imageOutputs.map(redacted)
        switch request.output {
        case .stream(let stream)?: request.output = .stream(redacted(stream))
        case .file(let file)?: request.output = .file(redacted(file))
        case .segments(let segments)?: request.output = .segments(redacted(segments))
        default: break
        }
        return request
    }

    static func redacted(_ request: Livekit_TrackEgressRequest) -> Livekit_TrackEgressRequest {
        var request = request
        if case .websocketUrl(let url)? = request.output { request.output = .websocketUrl(StreamKey.redacted(url)) }
        if case .file(var file)? = request.output, case .s3(let s3)? = file.output {
            file.output = .s3(redacted(s3))
            request.output = .file(file)
        }
        return request
    }

    static func redacted(_ request: Livekit_StartEgressRequest) -> Livekit_StartEgressRequest {
        var request = request
        if case .s3(let s3)? = request.storage?.provider { request.storage?.provider = .s3(redacted(s3)) }
        request.outputs = request.outputs.map { output in
            var output = output
            if case .stream(let stream)? = output.config { output.config = .stream(redacted(stream)) }
            if case .s3(let s3)? = output.storage?.provider { output.storage?.provider = .s3(redacted(s3)) }
            return output
        }
        return request
    }

    private static func redacted(_ file: Livekit_EncodedFileOutput) -> Livekit_EncodedFileOutput {
        var file = file
        if case .s3(let s3)? = file.output { file.output = .s3(redacted(s3)) }
        return file
    }

    private static func redacted(_ segments: Livekit_SegmentedFileOutput) -> Livekit_SegmentedFileOutput {
        var segments = segments
        if case .s3(let s3)? = segments.output { segments.output = .s3(redacted(s3)) }
        return segments
    }

    private static func redacted(_ image: Livekit_ImageOutput) -> Livekit_ImageOutput {
        var image = image
        if case .s3(let s3)? = image.output { image.output = .s3(redacted(s3)) }
        return image
    }

    private static func redacted(_ s3: Livekit_S3Upload) -> Livekit_S3Upload {
        var s3 = s3
        if !s3.accessKey.isEmpty { s3.accessKey = "{access_key}" }
        if !s3.secret.isEmpty { s3.secret = "{secret}" }
        if !s3.sessionToken.isEmpty { s3.sessionToken = "{session_token}" }
        return s3
    }

    private static func redacted(_ stream: Livekit_StreamOutput) -> Livekit_StreamOutput {
        var stream = stream
        stream.urls = stream.urls.map(StreamKey.redacted)
        stream.destinations = stream.destinations.map { destination in
            var destination = destination
            destination.url = StreamKey.redacted(destination.url)
            return destination
        }
        return stream
    }
}
