import Foundation
import SessionManager
import Support

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
    /// The zone of `{time}` (`{utc}` is UTC).
    var timeZone: TimeZone = .current

    /// `{room_name}-{time}`-style name for `path` (relative to the output directory).
    func filename(for path: String, defaultTemplate: String, fileType: FileType) -> String {
        var template = path
        if template.isEmpty || PathText.endsWithSlash(template) { template += defaultTemplate }
        let name = fill(template)
        let wanted = "." + fileType.rawValue
        guard !name.lowercased().utf8.reversed().starts(with: wanted.utf8.reversed()) else { return name }
        // A different extension is replaced; none is added. (Bytes, as the kernel reads names.)
        let last = PathText.lastComponent(of: name)
        let stem = last.utf8.lastIndex(of: UInt8(ascii: ".")).flatMap { dot in
            dot == last.utf8.startIndex ? nil : String(decoding: last.utf8[..<dot], as: UTF8.self)
        } ?? last
        let directory = PathText.directory(of: name)
        return (name.utf8.contains(UInt8(ascii: "/")) ? directory + "/" : "") + stem + wanted
    }

    func fill(_ template: String) -> String {
        OutputPath.fill(template, with: [
            ("{room_name}", roomName), ("{room_id}", roomID), ("{publisher_identity}", publisherIdentity),
            ("{track_id}", trackID), ("{track_type}", trackType), ("{track_source}", trackSource),
            ("{time}", Self.format(now, "yyyy-MM-dd'T'HHmmss", in: timeZone)),
            ("{utc}", Self.format(now, "yyyyMMddHHmmss", in: TimeZone(identifier: "UTC") ?? timeZone)),
        ])
    }

    private static func format(_ date: Date, _ pattern: String, in zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = pattern
        formatter.timeZone = zone
        return formatter.string(from: date)
    }
}
