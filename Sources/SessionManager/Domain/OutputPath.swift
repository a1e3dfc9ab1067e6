import Support

/// Keeps output paths inside the server's output directory: a request's path when it arrives,
/// and again once its template is filled in, since the values (a room named `.`, say) can
/// make a path that the template alone did not.
public enum OutputPath {
    /// The longest name of one file or directory, in bytes (Linux's NAME_MAX).
    public static let maxComponentLength = 255
    /// The longest path, output directory included, in bytes (Linux's PATH_MAX).
    public static let maxLength = 4096

    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case escapesOutputDirectory(String)
        case invalidCharacter(String)
        case componentTooLong(String)
        case tooLong(Int)

        public var description: String {
            switch self {
            case .escapesOutputDirectory(let path): "path \(path) leaves the output directory"
            case .invalidCharacter(let path): "path \(path.debugDescription) contains a NUL or control character"
            case .componentTooLong(let name):
                "the name \(name.prefix(32))… is \(name.utf8.count) bytes long; at most \(OutputPath.maxComponentLength) are allowed"
            case .tooLong(let length): "the path is \(length) bytes long with the output directory; at most \(OutputPath.maxLength) are allowed"
            }
        }
    }

    /// `path` made relative to `directory`. An absolute path inside `directory` is taken as the
    /// same place; any other absolute path has `directory` as its root, as a container's mounted
    /// volume would (`/out/x.mp4` → `<directory>/out/x.mp4`). No path may climb out with `..`,
    /// hold a control character or exceed the system's lengths. A trailing "/" (a directory for
    /// a default name) is kept.
    public static func confine(_ path: String, to directory: String) -> Result<String, Problem> {
        guard !path.unicodeScalars.contains(where: isControl) else { return .failure(.invalidCharacter(path)) }
        var relative = path
        if PathText.isAbsolute(path) {
            let root = PathText.components(of: normalized(directory))
            let absolute = PathText.components(of: normalized(path))
            if absolute.count >= root.count, zip(root, absolute).allSatisfy({ $0.utf8.elementsEqual($1.utf8) }) {
                relative = absolute.dropFirst(root.count).joined(separator: "/")
                if PathText.endsWithSlash(path), !relative.isEmpty { relative += "/" }
            } else {
                // Rooted at the output directory, as it was written: a ".." in it is refused below.
                relative = String(decoding: path.utf8.drop { $0 == UInt8(ascii: "/") }, as: UTF8.self)
            }
        }
        let components = PathText.components(of: relative)
        guard !components.contains(where: PathText.isDotDot) else {
            return .failure(.escapesOutputDirectory(path))
        }
        let cleaned = components.filter { !PathText.isDot($0) }.joined(separator: "/")
        if let problem = lengthProblem(of: cleaned, in: directory) { return .failure(problem) }
        return .success(PathText.endsWithSlash(relative) && !cleaned.isEmpty ? cleaned + "/" : cleaned)
    }

    /// A filled-in path, checked as a file to be opened in `directory`: no `..` component, no
    /// control character, lengths within the system's. Returns it with `.` and empty components
    /// removed (so that it never starts with "/"). Components are split at "/" bytes, as the
    /// kernel splits them (`PathText`).
    public static func checkFilled(_ path: String, in directory: String) -> Result<String, Problem> {
        guard !path.unicodeScalars.contains(where: isControl) else { return .failure(.invalidCharacter(path)) }
        let components = PathText.components(of: path).filter { !PathText.isDot($0) }
        guard !components.contains(where: PathText.isDotDot) else { return .failure(.escapesOutputDirectory(path)) }
        guard !components.isEmpty else { return .failure(.escapesOutputDirectory(path)) }
        let cleaned = components.joined(separator: "/")
        if let problem = lengthProblem(of: cleaned, in: directory) { return .failure(problem) }
        return .success(cleaned)
    }

    /// `template` with each `(placeholder, value)` put in. A value never adds a directory: "/"
    /// and control characters in it become "_", and so does "..". (Two values side by side can
    /// still make "..": `checkFilled` is what refuses that.)
    public static func fill(_ template: String, with values: [(placeholder: String, value: String)]) -> String {
        // Most paths name no placeholder: one scan of the bytes, not a text search per placeholder.
        guard template.utf8.contains(UInt8(ascii: "{")) else { return template }
        var out = template
        for (placeholder, value) in values where out.contains(placeholder) {
            out = out.replacing(placeholder, with: safe(value))
        }
        return out
    }

    private static func safe(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0 == "/" || isControl($0) ? "_" : $0 }))
            .replacing("..", with: "_")
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F
    }

    private static func lengthProblem(of relative: String, in directory: String) -> Problem? {
        for component in PathText.components(of: relative) where component.utf8.count > maxComponentLength {
            return .componentTooLong(component)
        }
        let total = directory.utf8.count + 1 + relative.utf8.count
        return total > maxLength ? .tooLong(total) : nil
    }

    /// Collapses "//", "." and "..", without touching the file system.
    static func normalized(_ path: String) -> String {
        var stack: [String] = []
        for component in PathText.components(of: path) {
            if PathText.isDot(component) { continue }
            if PathText.isDotDot(component) {
                if !stack.isEmpty { stack.removeLast() }
                continue
            }
            stack.append(component)
        }
        return "/" + stack.joined(separator: "/")
    }
}
