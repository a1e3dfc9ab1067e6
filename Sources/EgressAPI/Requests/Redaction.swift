import APIMessages
import EgressWire
import SessionManager

/// What is echoed back of a request loses its secrets, as LiveKit's egress does: the key of an
/// RTMP stream URL becomes `{stream_key}`.
enum Redaction {
    static func redacted(_ request: Livekit_ParticipantEgressRequest) -> Livekit_ParticipantEgressRequest {
        var request = request
        request.streamOutputs = request.streamOutputs.map(redacted)
        return request
    }

    static func redacted(_ request: Livekit_TrackCompositeEgressRequest) -> Livekit_TrackCompositeEgressRequest {
        var request = request
        request.streamOutputs = request.streamOutputs.map(redacted)
        if case .stream(let stream)? = request.output { request.output = .stream(redacted(stream)) }
        return request
    }

    static func redacted(_ request: Livekit_StartEgressRequest) -> Livekit_StartEgressRequest {
        var request = request
        request.outputs = request.outputs.map { output in
            var output = output
            if case .stream(let stream)? = output.config { output.config = .stream(redacted(stream)) }
            return output
        }
        return request
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
