import Foundation
import SessionManager

/// Output file names: LiveKit's filename templates filled in, a default name for an empty path
/// or a directory, and the container's extension.
struct FileNaming {
    var roomName: String
    var roomID: String
    var publisherIdentity: String
    var trackID: String
    /// `audio` or `video`.
    var trackType: String
    /// `camera`, `microphone`, `screen_share`, `screen_share_audio`.
    var trackSource: String
    var now: Date

    /// `{room_name}-{time}`-style name for `path` (relative to the output directory).
    func filename(for path: String, defaultTemplate: String, fileType: FileType) -> String {
        var template = path
        if template.isEmpty || template.hasSuffix("/") { template += defaultTemplate }
        var name = fill(template)
        let wanted = "." + fileType.rawValue
        if !name.lowercased().hasSuffix(wanted) {
            // A different extension is replaced; none is added.
            let last = name.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
            if let dot = last.lastIndex(of: "."), dot != last.startIndex {
                name = String(name.dropLast(last.distance(from: dot, to: last.endIndex)))
            }
            name += wanted
        }
        return name
    }

    func fill(_ template: String) -> String {
        OutputPath.fill(template, with: [
            ("{room_name}", roomName), ("{room_id}", roomID), ("{publisher_identity}", publisherIdentity),
            ("{track_id}", trackID), ("{track_type}", trackType), ("{track_source}", trackSource),
            ("{time}", Self.format(now, "yyyy-MM-dd'T'HHmmss", utc: false)),
            ("{utc}", Self.format(now, "yyyyMMddHHmmss", utc: true)),
        ])
    }

    private static func format(_ date: Date, _ pattern: String, utc: Bool) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = pattern
        formatter.timeZone = utc ? TimeZone(identifier: "UTC") : TimeZone.current
        return formatter.string(from: date)
    }
}
