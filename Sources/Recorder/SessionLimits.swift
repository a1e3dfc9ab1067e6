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

    /// The limit on the media time of an egress with `outputs` (ns), if any.
    func maxDuration(for outputs: Outputs) -> Int64? {
        let applying: [Duration?] = [
            outputs.file != nil ? fileOutputMaxDuration : nil,
            outputs.stream != nil || outputs.websocketURL != nil ? streamOutputMaxDuration : nil,
            outputs.segments != nil ? segmentOutputMaxDuration : nil,
            outputs.images.isEmpty ? nil : imageOutputMaxDuration,
        ]
        return applying.compactMap { $0?.nanoseconds }.min()
    }
}
