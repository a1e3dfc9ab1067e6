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
        func playlist(_ name: String) throws -> ConfinedPath {
            ConfinedPath(root: outputDirectory, relative: try confine(SegmentsOutput.playlistPath(named: naming.fill(name), prefix: prefix)))
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

    /// Two outputs writing the same files would spoil each other. Files and playlists are named
    /// exactly; segments and images are named from a prefix (`<prefix>_00000.ts`,
    /// `<prefix>_init.mp4`, `<prefix>_00000.jpeg`, `<prefix>.jpeg` …). So, in one directory: the
    /// exact names must all differ, none may be one a prefix makes (`<prefix>_…`, or an image
    /// prefix's `<prefix>.jpeg`), and of two segment (or two image) prefixes neither may be the
    /// other or the other followed by `_` (`x` and `x_00000` make the same names).
    static func checkDistinct(exact: [ConfinedPath], segmentPrefixes: [ConfinedPath], imagePrefixes: [ConfinedPath]) throws {
        func refuse(_ target: ConfinedPath) -> RecorderError {
            RecorderError("two outputs would write \(target.relative.debugDescription); give each its own name", code: 400)
        }
        func split(_ target: ConfinedPath) -> (directory: String, name: String) {
            (PathText.directory(of: target.relative), PathText.lastComponent(of: target.relative))
        }
        var seen = Set<String>()
        for target in exact where !seen.insert(target.relative).inserted { throw refuse(target) }
        // A segment prefix makes `<stem>_init.mp4` and `<stem>_….ts` / `.m4s` (its playlist,
        // `<stem>.m3u8`, is one of the exact names); an image prefix makes `<stem>_….jpeg` and
        // `<stem>.jpeg`, each first as `.part`.
        func makesSegment(_ name: String, _ stem: String) -> Bool {
            name == stem + "_init.mp4" || name.hasPrefix(stem + "_") && (name.hasSuffix(".ts") || name.hasSuffix(".m4s"))
        }
        func makesImage(_ name: String, _ stem: String) -> Bool {
            let whole = name.hasSuffix(".part") ? String(name.dropLast(5)) : name
            return whole == stem + ".jpeg" || whole.hasPrefix(stem + "_") && whole.hasSuffix(".jpeg")
        }
        let stems = segmentPrefixes.map { (split($0), makesSegment) } + imagePrefixes.map { (split($0), makesImage) }
        for ((directory, stem), makes) in stems {
            for target in exact {
                let (other, name) = split(target)
                if other == directory, makes(name, stem) { throw refuse(target) }
            }
        }
        for family in [segmentPrefixes, imagePrefixes] {
            for (index, first) in family.enumerated() {
                for second in family[(index + 1)...] {
                    let (a, b) = (split(first), split(second))
                    guard a.directory == b.directory else { continue }
                    if a.name == b.name || a.name.hasPrefix(b.name + "_") || b.name.hasPrefix(a.name + "_") { throw refuse(second) }
                }
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
