import SessionManager

/// LiveKit's `session_limits`: the longest an egress may record, by the kinds of output it has
/// (the shortest limit among them applies), and the largest file it may write. An egress that
/// reaches one is finalized as at a stop, and ends LIMIT_REACHED with its outputs listed.
public struct SessionLimits: Sendable, Equatable {
    /// nil: no limit.
    public var fileOutputMaxDuration: Duration?
    public var streamOutputMaxDuration: Duration?
    public var segmentOutputMaxDuration: Duration?
    public var imageOutputMaxDuration: Duration?
    /// Bytes a file output may reach; nil: no limit.
    public var fileOutputMaxSize: Int64?

    public init() {}

    /// The limits of an egress with `outputs`: the shortest duration among its outputs' (ns),
    /// and the files' size if it has files (each one's).
    func applying(to outputs: Outputs) -> Applying {
        let durations: [Duration?] = [
            outputs.files.isEmpty ? nil : fileOutputMaxDuration,
            outputs.stream != nil || outputs.websocketURL != nil ? streamOutputMaxDuration : nil,
            outputs.segments.isEmpty ? nil : segmentOutputMaxDuration,
            outputs.images.isEmpty ? nil : imageOutputMaxDuration,
        ]
        return Applying(maxDuration: durations.compactMap { $0?.nanoseconds }.min(),
                        maxFileSize: outputs.files.isEmpty ? nil : fileOutputMaxSize)
    }

    /// The limits one egress has, worked out once.
    struct Applying {
        let maxDuration: Int64?
        let maxFileSize: Int64?

        /// Which limit a recording of `duration` ns, its largest file `fileSize` bytes, has reached, if one.
        func reached(duration: Int64, fileSize: () -> Int64) -> String? {
            if let maxDuration, duration >= maxDuration {
                return "the session's maximum duration of \(maxDuration / 1_000_000_000) s"
            }
            if let maxFileSize, fileSize() >= maxFileSize {
                return "the file's maximum size of \(maxFileSize) bytes"
            }
            return nil
        }
    }
}
