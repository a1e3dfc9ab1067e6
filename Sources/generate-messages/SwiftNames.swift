import Protobuf

/// How proto names become Swift names: types as SwiftProtobuf names them (`livekit.EgressInfo`
/// → `Livekit_EgressInfo`, nested types nested), fields as their JSON names (`room_name` →
/// `roomName`), enum values in lowerCamelCase without their type's prefix (`EGRESS_ACTIVE` →
/// `egressActive`, `H264_720P_30` → `h264720p30`).
enum SwiftNames {
    /// The Swift type of a proto type, from its full name and its file's package.
    static func type(_ fullName: String, package: String) -> String {
        let name = fullName.hasPrefix(".") ? String(fullName.dropFirst()) : fullName
        let prefix = package.split(separator: ".").map { upperFirst(String($0)) }.joined(separator: "_")
        let path = package.isEmpty ? name : String(name.dropFirst(package.count + 1))
        return (prefix.isEmpty ? "" : prefix + "_") + path
    }

    static func field(_ name: String) -> String { escaped(lowerCamel(name)) }

    static func oneofType(_ name: String) -> String { "OneOf_" + upperFirst(lowerCamel(name)) }

    static func enumCase(_ value: String, enumName: String) -> String {
        let prefix = snakeUpper(enumName) + "_"
        var name = value
        if name.hasPrefix(prefix), let first = name.dropFirst(prefix.count).first, !first.isNumber {
            name = String(name.dropFirst(prefix.count))
        }
        let camel = lowerCamel(name.lowercased())
        return camel.first?.isNumber == true ? "_" + camel : escaped(camel)
    }

    static func lowerCamel(_ name: String) -> String { FieldDescriptor.lowerCamelCase(name) }

    static func upperFirst(_ name: String) -> String { name.prefix(1).uppercased() + name.dropFirst() }

    /// `ListRooms` → `listRooms`
    static func lowerFirst(_ name: String) -> String { name.prefix(1).lowercased() + name.dropFirst() }

    /// `EncodingOptionsPreset` → `ENCODING_OPTIONS_PRESET`
    static func snakeUpper(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch.isUppercase, !out.isEmpty { out += "_" }
            out += ch.uppercased()
        }
        return out
    }

    private static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout", "internal",
        "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias",
        "var", "break", "case", "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in",
        "repeat", "return", "switch", "where", "while", "as", "Any", "catch", "false", "is", "nil", "super", "self", "Self",
        "throw", "throws", "true", "try", "Type", "Protocol",
    ]

    static func escaped(_ name: String) -> String { keywords.contains(name) ? "`\(name)`" : name }
}
