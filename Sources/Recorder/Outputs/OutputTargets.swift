import SessionManager
import Support

/// Where an egress's outputs go, once their templates are filled: each path checked again, as
/// the values may make a path the template did not (a room named "."), and confined to the
/// output directory.
struct OutputTargets {
    let outputDirectory: String
    let naming: FileNaming
    /// The name used when a path (or a segment prefix) is empty or a directory.
    let defaultName: String

    /// The file output's path, with the container's extension.
    func file(_ file: FileOutput, fileType: FileType) throws -> ConfinedPath {
        let filled = naming.filename(for: file.path, defaultTemplate: defaultName, fileType: fileType)
        return ConfinedPath(root: outputDirectory, relative: try confine(filled))
    }

    /// HLS: the segments' prefix (default: the file's default name), the playlist (default
    /// `<prefix>.m3u8`) and the live playlist (only when named), both in the prefix's directory.
    func segments(_ output: SegmentsOutput) throws -> (prefix: ConfinedPath, playlist: ConfinedPath, live: ConfinedPath?) {
        let prefix = try filledPrefix(output.filenamePrefix, longestSuffix: SegmentsOutput.longestSegmentSuffix)
        let directory = prefix.utf8.contains(UInt8(ascii: "/")) ? PathText.directory(of: prefix) + "/" : ""
        func playlist(_ name: String) throws -> ConfinedPath {
            let file = SegmentsOutput.playlistFile(named: naming.fill(name), prefix: prefix)
            return ConfinedPath(root: outputDirectory, relative: try confine(directory + file))
        }
        let full = try playlist(output.playlistName)
        let live = try output.livePlaylistName.isEmpty ? nil : playlist(output.livePlaylistName)
        guard live != full else { throw RecorderError("live_playlist_name is the same file as playlist_name", code: 400) }
        return (ConfinedPath(root: outputDirectory, relative: prefix), full, live)
    }

    /// Thumbnails: the images' prefix (default: the file's default name).
    func images(_ output: ImageOutput) throws -> ConfinedPath {
        ConfinedPath(root: outputDirectory, relative: try filledPrefix(output.filenamePrefix, longestSuffix: ImageOutput.longestSuffix))
    }

    /// Two outputs writing the same files would spoil each other: the files and playlists must
    /// all be different files, and so must the segment prefixes and the image prefixes.
    static func checkDistinct(files: [ConfinedPath], playlists: [ConfinedPath], segmentPrefixes: [ConfinedPath],
                              imagePrefixes: [ConfinedPath]) throws {
        for group in [files + playlists, segmentPrefixes, imagePrefixes] {
            var seen = Set<String>()
            for target in group where !seen.insert(target.relative).inserted {
                throw RecorderError("two outputs would write \(target.relative.debugDescription); give each its own name", code: 400)
            }
        }
    }

    /// A prefix template filled and confined, checked to leave room for the longest suffix.
    private func filledPrefix(_ template: String, longestSuffix: Int) throws -> String {
        var template = template
        if template.isEmpty || PathText.endsWithSlash(template) { template += defaultName }
        let prefix = try confine(naming.fill(template))
        guard PathText.lastComponent(of: prefix).utf8.count + longestSuffix <= OutputPath.maxComponentLength else {
            throw RecorderError("the prefix \(prefix.debugDescription) makes names over \(OutputPath.maxComponentLength) bytes", code: 400)
        }
        return prefix
    }

    private func confine(_ filled: String) throws -> String {
        switch OutputPath.checkFilled(filled, in: outputDirectory) {
        case .success(let relative): return relative
        case .failure(let problem): throw RecorderError("the output path \(filled.debugDescription) cannot be used: \(problem)", code: 400)
        }
    }
}
