import Support

/// How recordings behave: where files go and the timeouts of LiveKit's semantics.
public struct RecorderConfiguration: Sendable {
    /// Absolute directory every output path is relative to.
    public var outputDirectory: String
    /// A Participant egress whose participant has not joined after this long ends FAILED.
    public var participantWaitTimeout: Duration = .seconds(30)
    /// How far the recording trails real time, so late packets still find their place.
    public var recordingDelay: Duration = .milliseconds(400)
    /// A live video track that sends nothing for this long is shown as black frames.
    public var staleVideoAfter: Duration = .seconds(2)
    /// Inputs (frames and room events) one recording may have waiting; beyond, frames are dropped and counted.
    public var queueCapacity = 4096
    /// Files larger than this go to S3 as a multipart upload of parts this size (bytes).
    public var uploadPartSize: Int64 = 16 << 20
    /// LiveKit's `session_limits`: how long an egress with each kind of output may record.
    public var limits = SessionLimits()
    /// How live streams (RTMP, SRT) reconnect.
    public var streamRetry = StreamRetryPolicy()

    public init(outputDirectory: String) {
        self.outputDirectory = outputDirectory
    }
}
