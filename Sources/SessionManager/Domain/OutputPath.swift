/// Keeps output paths inside the server's output directory.
public enum OutputPath {
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case escapesOutputDirectory(String)
        case invalidCharacter(String)

        public var description: String {
            switch self {
            case .escapesOutputDirectory(let path): "path \(path) leaves the output directory"
            case .invalidCharacter(let path): "path \(path) contains a NUL or control character"
            }
        }
    }

    /// `path` made relative to `directory`: an absolute path must lie inside `directory`, and no
    /// path may climb out of it with `..`. A trailing "/" (a directory for a default name) is kept.
    public static func confine(_ path: String, to directory: String) -> Result<String, Problem> {
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return .failure(.invalidCharacter(path))
        }
        var relative = path
        if path.hasPrefix("/") {
            let root = normalized(directory)
            let absolute = normalized(path)
            guard absolute == root || absolute.hasPrefix(root == "/" ? "/" : root + "/") else {
                return .failure(.escapesOutputDirectory(path))
            }
            relative = String(absolute.dropFirst(root.count)).drop { $0 == "/" }.description
            if path.hasSuffix("/"), !relative.isEmpty { relative += "/" }
        }
        let components = relative.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else {
            return .failure(.escapesOutputDirectory(path))
        }
        let cleaned = components.filter { $0 != "." }.joined(separator: "/")
        return .success(relative.hasSuffix("/") && !cleaned.isEmpty ? cleaned + "/" : cleaned)
    }

    /// Collapses "//", "." and "..", without touching the file system.
    static func normalized(_ path: String) -> String {
        var stack: [Substring] = []
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !stack.isEmpty { stack.removeLast() }
            default: stack.append(component)
            }
        }
        return "/" + stack.joined(separator: "/")
    }
}
