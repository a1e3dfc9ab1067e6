/// When a recording's video is to be shown, by media position: a muted, unpublished or absent
/// video track is hidden (black) from the moment the change happened — not from when the
/// delayed output reaches it — so a mute lands where it was made.
struct VideoVisibility {
    /// Changes in order: from `position` (ns of media) on, the video is `shown` or not.
    private var changes: [(position: Int64, shown: Bool)] = []

    /// Records the state at `position` if it differs from the last one.
    mutating func note(_ shown: Bool, at position: Int64) {
        if changes.last?.shown != shown { changes.append((position, shown)) }
    }

    /// Whether the video is shown at `position`.
    func isShown(at position: Int64) -> Bool {
        changes.last { $0.position <= position }?.shown ?? changes.first?.shown ?? false
    }

    /// Forgets changes superseded before `position` (the output is past them).
    mutating func prune(before position: Int64) {
        while changes.count > 1, changes[1].position <= position { changes.removeFirst() }
    }
}
