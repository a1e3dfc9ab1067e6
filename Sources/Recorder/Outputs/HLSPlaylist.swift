import Foundation

/// An HLS media playlist (RFC 8216) as text: the full one (every segment, `EVENT` while the
/// recording goes on, ended with `#EXT-X-ENDLIST`) or a live one (the last few segments,
/// sliding, its media sequence the number of the first).
struct HLSPlaylist: Equatable {
    struct Segment: Equatable {
        /// The segment's name relative to the playlist.
        let uri: String
        /// Seconds.
        let duration: Double
        /// Unix nanoseconds at which its media starts.
        let startedAt: Int64
        /// `startedAt` as `#EXT-X-PROGRAM-DATE-TIME` writes it: formatted once, not at every
        /// rewrite of a playlist that lists every segment.
        let dateTime: String

        init(uri: String, duration: Double, startedAt: Int64) {
            (self.uri, self.duration, self.startedAt) = (uri, duration, startedAt)
            dateTime = HLSPlaylist.dateTime(startedAt)
        }
    }

    var segments: [Segment] = []
    /// The segment duration asked for, in seconds: the target duration is never below it.
    var segmentDuration: UInt32
    /// The number of the first segment listed.
    var mediaSequence = 0
    /// `#EXT-X-PLAYLIST-TYPE:EVENT` (segments are only ever added).
    var isEvent = true
    var ended = false
    /// The init segment fMP4 segments need (`#EXT-X-MAP`), relative to the playlist; nil for MPEG-TS.
    var mapURI: String?

    var text: String {
        let longest = segments.map(\.duration).max() ?? 0
        var lines = [
            "#EXTM3U",
            // fMP4 segments (EXT-X-MAP on a playlist without I-frames only) need version 6; 7 as players expect.
            "#EXT-X-VERSION:\(mapURI == nil ? 3 : 7)",
            "#EXT-X-TARGETDURATION:\(max(Int(segmentDuration), Int(min(longest, 1e9).rounded(.up))))",
            "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)",
        ]
        if isEvent { lines.append("#EXT-X-PLAYLIST-TYPE:EVENT") }
        if let mapURI { lines.append("#EXT-X-MAP:URI=\"\(mapURI)\"") }
        for segment in segments {
            lines.append("#EXT-X-PROGRAM-DATE-TIME:\(segment.dateTime)")
            lines.append("#EXTINF:\(String(format: "%.3f", segment.duration)),")
            lines.append(segment.uri)
        }
        if ended { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The last `count` segments of `full`, as a live playlist.
    static func live(of full: HLSPlaylist, keeping count: Int) -> HLSPlaylist {
        var live = full
        live.segments = Array(full.segments.suffix(count))
        live.mediaSequence = full.mediaSequence + full.segments.count - live.segments.count
        live.isEvent = false
        return live
    }

    /// ISO 8601 with milliseconds, UTC (`2026-11-28T05:40:00.123Z`).
    static func dateTime(_ unixNanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(unixNanoseconds) / 1e9))
    }
}
