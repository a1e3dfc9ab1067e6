/// One setting's value in a config file, with what an error about it must name: the key and
/// its line.
public struct ConfigValue {
    /// The dotted key (`session_limits.file_output_max_duration`).
    public let key: String
    public let line: Int
    let node: ConfigNode
    let source: String

    /// An error about this value: the file, the line, the key, the problem.
    public func error(_ problem: String) -> ConfigError {
        ConfigError(source: source, line: line, problem: "\(key) \(problem)")
    }

    /// How error messages elsewhere name where a value came from.
    public var origin: String { "\(key) (\(source) line \(line))" }

    /// The value's text, as written (quotes removed); an error when it is a list or keys.
    public func text() throws(ConfigError) -> String {
        guard case .scalar(let text, _) = node.content else { throw error("is \(node.kind), not a single value") }
        return text
    }

    /// The value as `T` parses its text (an integer, a number, a word).
    public func decode<T: LosslessStringConvertible>(_ type: T.Type = T.self) throws(ConfigError) -> T {
        let text = try text()
        guard let value = T(text) else { throw error("\(text.debugDescription) is not a valid value") }
        return value
    }

    /// `true` or `false`.
    public func bool() throws(ConfigError) -> Bool {
        switch try text().lowercased() {
        case "true": return true
        case "false": return false
        case let other: throw error("\(other.debugDescription) is neither true nor false")
        }
    }

    /// A duration in seconds: a number of seconds (`90`, `0.5`) or Go's duration text as
    /// LiveKit's configs write it (`1h30m`, `45s`, `500ms`).
    public func seconds() throws(ConfigError) -> Double {
        let text = try text()
        guard let seconds = Double(text) ?? GoDuration.seconds(text), seconds.isFinite else {
            throw error("\(text.debugDescription) is not a duration (seconds, or like 1h30m, 45s, 500ms)")
        }
        return seconds
    }

    /// A list of values (or one value, as a list of one).
    public func texts() throws(ConfigError) -> [String] {
        switch node.content {
        case .scalar(let text, _):
            return [text]
        case .sequence(let items):
            var texts: [String] = []
            for item in items {
                guard case .scalar(let text, isNull: false) = item.content else {
                    throw ConfigError(source: source, line: item.line, problem: "\(key) has an item that is not a single value")
                }
                texts.append(text)
            }
            return texts
        case .mapping:
            throw error("is keys, not a list")
        }
    }

    /// Keys to single values (`keys:` of API key to secret), in the file's order.
    public func pairs() throws(ConfigError) -> [(key: String, value: String)] {
        guard case .mapping(let members) = node.content else { throw error("is \(node.kind), not keys") }
        var pairs: [(key: String, value: String)] = []
        for member in members {
            guard case .scalar(let text, isNull: false) = member.value.content else {
                throw ConfigError(source: source, line: member.line, problem: "\(key).\(member.key) is not a single value")
            }
            pairs.append((member.key, text))
        }
        return pairs
    }
}

/// Go's `time.ParseDuration` text: numbers with units, `1h30m`, `1.5s`, `300ms`.
enum GoDuration {
    static let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]

    static func seconds(_ text: String) -> Double? {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        var rest = Substring(text)
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            // The longest unit that is the whole run of letters.
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        return total
    }
}
