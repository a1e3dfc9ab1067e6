import CProtos

/// Every file of Protos/ as a serialized `google.protobuf.FileDescriptorProto` (what
/// Scripts/generate-protos embeds from protoc), with its imports and the symbols it defines:
/// what gRPC server reflection hands to generic tools.
public struct FileDescriptorSet: Sendable {
    public struct File: Sendable {
        public let name: String
        public let package: String
        public let dependencies: [String]
        /// Fully-qualified names of its messages (nested too), enums, services and methods.
        public let symbols: [String]
        /// The serialized FileDescriptorProto.
        public let bytes: [UInt8]
    }

    public let files: [File]

    public static let shared = FileDescriptorSet(
        bytes: Array(UnsafeBufferPointer(start: descriptor_set_bytes(), count: descriptor_set_size())))

    init(bytes: [UInt8]) {
        var files: [File] = []
        var set = WireFields(bytes)
        while let (number, value) = set.next() {
            guard number == 1, case .bytes(let file) = value else { continue }
            files.append(Self.parseFile(file))
        }
        self.files = files
    }

    public func file(named name: String) -> File? {
        files.first { $0.name == name }
    }

    public func file(containing symbol: String) -> File? {
        files.first { $0.symbols.contains(symbol) }
    }

    /// `file` and every file it imports, directly or not, `file` first.
    public func withDependencies(_ file: File) -> [File] {
        var result: [File] = [file]
        var seen: Set<String> = [file.name]
        var index = 0
        while index < result.count {
            for name in result[index].dependencies where !seen.contains(name) {
                seen.insert(name)
                if let dependency = self.file(named: name) { result.append(dependency) }
            }
            index += 1
        }
        return result
    }

    private static func parseFile(_ bytes: [UInt8]) -> File {
        var name = "", package = "", dependencies: [String] = []
        var messages: [[UInt8]] = [], enums: [[UInt8]] = [], services: [[UInt8]] = []
        var fields = WireFields(bytes)
        while let (number, value) = fields.next() {
            guard case .bytes(let data) = value else { continue }
            switch number {
            case 1: name = String(decoding: data, as: UTF8.self)
            case 2: package = String(decoding: data, as: UTF8.self)
            case 3: dependencies.append(String(decoding: data, as: UTF8.self))
            case 4: messages.append(data)
            case 5: enums.append(data)
            case 6: services.append(data)
            default: break
            }
        }
        let prefix = package.isEmpty ? "" : package + "."
        var symbols: [String] = []
        for message in messages { messageSymbols(message, prefix: prefix, into: &symbols) }
        for enumeration in enums { symbols.append(prefix + nameField(enumeration)) }
        for service in services {
            let serviceName = prefix + nameField(service)
            symbols.append(serviceName)
            var serviceFields = WireFields(service)
            while let (number, value) = serviceFields.next() {
                if number == 2, case .bytes(let method) = value { symbols.append(serviceName + "." + nameField(method)) }
            }
        }
        return File(name: name, package: package, dependencies: dependencies, symbols: symbols, bytes: bytes)
    }

    /// A DescriptorProto's name, its nested messages' and its enums'.
    private static func messageSymbols(_ message: [UInt8], prefix: String, into symbols: inout [String]) {
        let name = prefix + nameField(message)
        symbols.append(name)
        var fields = WireFields(message)
        while let (number, value) = fields.next() {
            guard case .bytes(let data) = value else { continue }
            if number == 3 { messageSymbols(data, prefix: name + ".", into: &symbols) }
            if number == 4 { symbols.append(name + "." + nameField(data)) }
        }
    }

    private static func nameField(_ bytes: [UInt8]) -> String {
        var fields = WireFields(bytes)
        while let (number, value) = fields.next() {
            if number == 1, case .bytes(let data) = value { return String(decoding: data, as: UTF8.self) }
        }
        return ""
    }
}

/// Walks the fields of a serialized message without knowing its type (descriptors, here and in
/// the Swift code generator).
public struct WireFields {
    public enum Value {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed
    }

    private let bytes: [UInt8]
    private var at = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The next field, or nil at the end (or at malformed input).
    public mutating func next() -> (number: UInt64, value: Value)? {
        guard at < bytes.count, let key = varint() else { return nil }
        switch key & 7 {
        case 0:
            guard let value = varint() else { return nil }
            return (key >> 3, .varint(value))
        case 1, 5:
            let size = key & 7 == 1 ? 8 : 4
            guard at + size <= bytes.count else { return nil }
            at += size
            return (key >> 3, .fixed)
        case 2:
            guard let length = varint(), length <= UInt64(bytes.count - at) else { return nil }
            let data = Array(bytes[at..<at + Int(length)])
            at += Int(length)
            return (key >> 3, .bytes(data))
        default:
            return nil
        }
    }

    private mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while at < bytes.count, shift < 64 {
            let byte = bytes[at]
            at += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }
}
