import Yams

/// A YAML config file, parsed into plain values that remember their line. Anchors and aliases
/// are expanded by the parser; the expansion is bounded (`maxValues`) so that a small file cannot
/// make a large tree.
public struct ConfigDocument: Sendable {
    /// Where the text came from, as error messages name it: a path, or `EGRESS_CONFIG_BODY`.
    public let source: String
    let root: ConfigNode

    public static let maxBytes = 1 << 20
    public static let maxValues = 10_000
    public static let maxDepth = 16

    public init(text: String, source: String) throws(ConfigError) {
        self.source = source
        guard text.utf8.count <= Self.maxBytes else {
            throw ConfigError(source: source, line: nil, problem: "is over \(Self.maxBytes) bytes")
        }
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(source: source, line: nil, problem: "is not valid YAML: \(error)")
        } catch {
            throw ConfigError(source: source, line: nil, problem: "is not valid YAML: \(error)")
        }
        guard let composed else {
            root = ConfigNode(content: .mapping([]), line: 1)  // empty: every setting at its default
            return
        }
        var budget = Self.maxValues
        root = try ConfigNode(composed, depth: 0, budget: &budget, source: source)
        guard case .mapping = root.content else {
            throw ConfigError(source: source, line: root.line, problem: "is not a mapping of keys to values")
        }
    }
}

/// One value of the document: text (YAML's scalars, kept as written), a list, or keys.
struct ConfigNode: Sendable {
    struct Member: Sendable {
        let key: String
        let line: Int
        let value: ConfigNode
    }

    enum Content: Sendable {
        /// A scalar's text; `isNull` for `~`, `null` or nothing at all.
        case scalar(String, isNull: Bool)
        case sequence([ConfigNode])
        case mapping([Member])
    }

    let content: Content
    let line: Int

    init(content: Content, line: Int) {
        self.content = content
        self.line = line
    }

    init(_ node: Node, depth: Int, budget: inout Int, source: String) throws(ConfigError) {
        line = node.mark?.line ?? 0
        budget -= 1
        guard budget >= 0 else {
            throw ConfigError(source: source, line: line, problem: "has more than \(ConfigDocument.maxValues) values (aliases included)")
        }
        guard depth < ConfigDocument.maxDepth else {
            throw ConfigError(source: source, line: line, problem: "nests deeper than \(ConfigDocument.maxDepth) levels")
        }
        switch node {
        case .scalar(let scalar):
            content = .scalar(scalar.string, isNull: scalar.style == .plain && Self.nulls.contains(scalar.string))
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            for item in sequence {
                items.append(try ConfigNode(item, depth: depth + 1, budget: &budget, source: source))
            }
            content = .sequence(items)
        case .mapping(let mapping):
            var members: [Member] = []
            for (key, value) in mapping {
                guard case .scalar(let name) = key else {
                    throw ConfigError(source: source, line: key.mark?.line, problem: "has a key that is not text")
                }
                members.append(Member(key: name.string, line: key.mark?.line ?? line,
                                      value: try ConfigNode(value, depth: depth + 1, budget: &budget, source: source)))
            }
            content = .mapping(members)
        case .alias(let alias):
            // Yams expands aliases while composing; one left over names an anchor never defined.
            throw ConfigError(source: source, line: alias.mark?.line, problem: "has an alias to no anchor")
        }
    }

    /// YAML's spellings of null.
    static let nulls: Set<String> = ["", "~", "null", "Null", "NULL"]

    var kind: String {
        switch content {
        case .scalar: "a value"
        case .sequence: "a list"
        case .mapping: "keys"
        }
    }
}

/// What is wrong with a config file, naming the file and the line.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let source: String
    public let line: Int?
    public let problem: String

    public init(source: String, line: Int?, problem: String) {
        self.source = source
        self.line = line
        self.problem = problem
    }

    public var description: String {
        if let line { "the config file \(source), line \(line): \(problem)" } else { "the config file \(source) \(problem)" }
    }
}
