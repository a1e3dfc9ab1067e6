import Protobuf

/// What the generator needs of a .proto file, read from its serialized FileDescriptorProto
/// (descriptor.proto's field numbers).
struct ProtoFile {
    var name = ""
    var package = ""
    var messages: [Message] = []
    var enums: [Enum] = []
    var services: [Service] = []

    struct Message {
        var name = ""
        /// `package.Outer.Name`
        var fullName = ""
        var fields: [Field] = []
        var nested: [Message] = []
        var enums: [Enum] = []
        var oneofs: [String] = []
        var isMapEntry = false
    }

    struct Field {
        enum Label: UInt64 { case optional = 1, required = 2, repeated = 3 }

        var name = ""
        var number: UInt32 = 0
        var label = Label.optional
        /// descriptor.proto's FieldDescriptorProto.Type (1 double … 18 sint64).
        var type: UInt64 = 0
        /// `.package.Name` of a message or enum field.
        var typeName = ""
        var oneofIndex: Int?
        var isProto3Optional = false
    }

    struct Enum {
        var name = ""
        var fullName = ""
        var values: [(name: String, number: Int32)] = []
    }

    struct Service {
        var name = ""
        var fullName = ""
        var methods: [Method] = []
    }

    struct Method {
        var name = ""
        var input = ""
        var output = ""
        var clientStreaming = false
        var serverStreaming = false
    }

    init(_ bytes: [UInt8]) {
        var fields = WireFields(bytes)
        var messages: [[UInt8]] = [], enums: [[UInt8]] = [], services: [[UInt8]] = []
        while let (number, value) = fields.next() {
            guard case .bytes(let data) = value else { continue }
            switch number {
            case 1: name = Self.text(data)
            case 2: package = Self.text(data)
            case 4: messages.append(data)
            case 5: enums.append(data)
            case 6: services.append(data)
            default: break
            }
        }
        let prefix = package.isEmpty ? "" : package + "."
        self.messages = messages.map { Self.message($0, prefix: prefix) }
        self.enums = enums.map { Self.enumeration($0, prefix: prefix) }
        self.services = services.map { Self.service($0, prefix: prefix) }
    }

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    private static func message(_ bytes: [UInt8], prefix: String) -> Message {
        var message = Message()
        var fields: [[UInt8]] = [], nested: [[UInt8]] = [], enums: [[UInt8]] = []
        var wire = WireFields(bytes)
        while let (number, value) = wire.next() {
            guard case .bytes(let data) = value else { continue }
            switch number {
            case 1: message.name = text(data)
            case 2: fields.append(data)
            case 3: nested.append(data)
            case 4: enums.append(data)
            case 7: message.isMapEntry = varint(7, in: data) == 1  // MessageOptions.map_entry
            case 8: message.oneofs.append(name(of: data))
            default: break
            }
        }
        message.fullName = prefix + message.name
        message.fields = fields.map(field)
        message.nested = nested.map { self.message($0, prefix: message.fullName + ".") }
        message.enums = enums.map { enumeration($0, prefix: message.fullName + ".") }
        return message
    }

    private static func field(_ bytes: [UInt8]) -> Field {
        var field = Field()
        var wire = WireFields(bytes)
        while let (number, value) = wire.next() {
            switch (number, value) {
            case (1, .bytes(let data)): field.name = text(data)
            case (3, .varint(let v)): field.number = UInt32(truncatingIfNeeded: v)
            case (4, .varint(let v)): field.label = Field.Label(rawValue: v) ?? .optional
            case (5, .varint(let v)): field.type = v
            case (6, .bytes(let data)): field.typeName = text(data)
            case (9, .varint(let v)): field.oneofIndex = Int(truncatingIfNeeded: v)
            case (17, .varint(let v)): field.isProto3Optional = v != 0
            default: break
            }
        }
        return field
    }

    private static func enumeration(_ bytes: [UInt8], prefix: String) -> Enum {
        var result = Enum()
        var wire = WireFields(bytes)
        while let (number, value) = wire.next() {
            guard case .bytes(let data) = value else { continue }
            if number == 1 { result.name = text(data) }
            if number == 2 { result.values.append((name(of: data), Int32(truncatingIfNeeded: varint(2, in: data) ?? 0))) }
        }
        result.fullName = prefix + result.name
        return result
    }

    private static func service(_ bytes: [UInt8], prefix: String) -> Service {
        var service = Service()
        var wire = WireFields(bytes)
        while let (number, value) = wire.next() {
            guard case .bytes(let data) = value else { continue }
            if number == 1 { service.name = text(data) }
            if number == 2 {
                var method = Method()
                var fields = WireFields(data)
                while let (n, v) = fields.next() {
                    switch (n, v) {
                    case (1, .bytes(let d)): method.name = text(d)
                    case (2, .bytes(let d)): method.input = text(d)
                    case (3, .bytes(let d)): method.output = text(d)
                    case (5, .varint(let x)): method.clientStreaming = x != 0
                    case (6, .varint(let x)): method.serverStreaming = x != 0
                    default: break
                    }
                }
                service.methods.append(method)
            }
        }
        service.fullName = prefix + service.name
        return service
    }

    /// Field 1 (`name`) of a descriptor message.
    private static func name(of bytes: [UInt8]) -> String {
        var wire = WireFields(bytes)
        while let (number, value) = wire.next() {
            if number == 1, case .bytes(let data) = value { return text(data) }
        }
        return ""
    }

    /// A varint field of a message.
    private static func varint(_ field: UInt64, in bytes: [UInt8]) -> UInt64? {
        var wire = WireFields(bytes)
        while let (number, value) = wire.next() {
            if number == field, case .varint(let v) = value { return v }
        }
        return nil
    }
}
