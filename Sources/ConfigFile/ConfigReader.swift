/// Reads a `ConfigDocument` key by key, the way a program asks for its settings, and then tells
/// which keys of the file were never asked for: a misspelt key is an error naming its line, not
/// a setting silently left at its default.
///
/// Keys are dotted paths (`cpu_cost.max_cpu_utilization`). Asking for a key makes it, and every
/// mapping above it, known; `unknownKeys()` is asked last.
public final class ConfigReader {
    public let document: ConfigDocument
    /// Every path asked for, and every mapping above one.
    private var known: Set<String> = []
    /// Paths asked for as values: what is under them is the value's.
    private var leaves: Set<String> = []

    public init(_ document: ConfigDocument) {
        self.document = document
    }

    /// The value at `path`, or nil when the file does not set it (null counts as not set).
    public func value(_ path: String) throws(ConfigError) -> ConfigValue? {
        let parts = path.split(separator: ".").map(String.init)
        for end in parts.indices { known.insert(parts[...end].joined(separator: ".")) }
        leaves.insert(path)
        var node = document.root
        var line = node.line
        for (index, part) in parts.enumerated() {
            guard case .mapping(let members) = node.content else {
                let above = parts[..<index].joined(separator: ".")
                throw ConfigError(source: document.source, line: line, problem: "\(above) is \(node.kind), not keys (it holds \(part))")
            }
            guard let member = members.first(where: { $0.key == part }) else { return nil }
            node = member.value
            line = member.line
        }
        if case .scalar(_, isNull: true) = node.content { return nil }
        return ConfigValue(key: path, line: line, node: node, source: document.source)
    }

    /// Every key in the file that no `value(_:)` asked for, as one error listing each with its
    /// line and the key it was likely meant to be; nil when there is none.
    public func unknownKeys() -> ConfigError? {
        var found: [(line: Int, text: String)] = []
        collectUnknown(in: document.root, path: "", into: &found)
        guard let first = found.first else { return nil }
        let text = found.map { "line \($0.line): \($0.text)" }.joined(separator: "; ")
        return ConfigError(source: document.source, line: nil,
                           problem: found.count == 1 ? "has an unknown key at line \(first.line): \(first.text)" : "has unknown keys: \(text)")
    }

    private func collectUnknown(in node: ConfigNode, path: String, into found: inout [(line: Int, text: String)]) {
        guard case .mapping(let members) = node.content else { return }
        let siblings = known.filter { parent(of: $0) == path }.map { leaf(of: $0) }.sorted()
        for member in members {
            let full = path.isEmpty ? member.key : "\(path).\(member.key)"
            guard known.contains(full) else {
                found.append((member.line, "\"\(full)\"" + hint(for: member.key, among: siblings)))
                continue
            }
            if !leaves.contains(full) { collectUnknown(in: member.value, path: full, into: &found) }
        }
    }

    private func parent(of path: String) -> String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }

    private func leaf(of path: String) -> String {
        guard let dot = path.lastIndex(of: ".") else { return path }
        return String(path[path.index(after: dot)...])
    }

    private func hint(for key: String, among siblings: [String]) -> String {
        let close = siblings.filter { editDistance(key.lowercased(), $0, limit: 2) <= 2 }
        if let best = close.min(by: { editDistance(key.lowercased(), $0, limit: 3) < editDistance(key.lowercased(), $1, limit: 3) }) {
            return " (did you mean \"\(best)\"?)"
        }
        return siblings.isEmpty ? "" : " (the keys here are \(siblings.joined(separator: ", ")))"
    }
}

/// Levenshtein distance between two short keys, counted in bytes, stopping at `limit + 1`.
func editDistance(_ a: String, _ b: String, limit: Int) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    guard abs(a.count - b.count) <= limit else { return limit + 1 }
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        guard current.min() ?? 0 <= limit else { return limit + 1 }
        previous = current
    }
    return previous[b.count]
}
