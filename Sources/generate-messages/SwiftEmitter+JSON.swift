import Protobuf

/// The JSON half of a generated message: `init(json:path:)` and `json(_:)`, reading and writing
/// the typed properties with `JSONRead` and `JSONMembers` (Protobuf/Typed/JSONFields.swift).
extension SwiftEmitter {
    func emitJSONReading(_ message: ProtoFile.Message, fields: [ProtoFile.Field], oneofs: [Int]) {
        line("public init(json: JSONValue, path: String) throws(JSONError) {")
        indented {
            line("self.init()")
            guard !fields.isEmpty else {
                line("_ = try JSONRead.members(json, at: path)")
                return
            }
            line("for (key, value) in try JSONRead.members(json, at: path) {")
            indented {
                line("if case .null = value { continue }")
                line("switch key {")
                for field in fields {
                    let camel = FieldDescriptor.lowerCamelCase(field.name)
                    line("case \(camel == field.name ? "\"\(field.name)\"" : "\"\(field.name)\", \"\(camel)\""):")
                    indented {
                        line("let at = path + \".\(field.name)\"")
                        emitJSONAssignment(message, field)
                    }
                }
                line("default: continue")
                line("}")
            }
            line("}")
        }
        line("}")
    }

    func emitJSONAssignment(_ message: ProtoFile.Message, _ field: ProtoFile.Field) {
        let property = SwiftNames.field(field.name)
        if field.label == .repeated {
            if let entry = mapEntry(field) {
                let key = entry.fields.first { $0.number == 1 }!, value = entry.fields.first { $0.number == 2 }!
                let keyRead = switch key.type {
                case 8: "JSONRead.boolKey(text, at: at)"
                case 9: "JSONRead.stringKey(text, at: at)"
                default: "JSONRead.integerKey(text, at: at)"
                }
                line("self.\(property) = try JSONRead.map(")
                indented {
                    line("value, at: at, default: \(elementDefault(value)),")
                    line("key: { text, at throws(JSONError) in try \(keyRead) },")
                    line("value: { item, at throws(JSONError) in \(jsonElement(value, from: "item")) })")
                }
            } else {
                line("self.\(property) = try JSONRead.array(value, at: at) { item, at throws(JSONError) in \(jsonElement(field, from: "item")) }")
            }
            return
        }
        let read = jsonElement(field, from: "value")
        let target: (String) -> String = if let oneof = field.oneofIndex, !field.isProto3Optional {
            { "self.\(SwiftNames.field(message.oneofs[oneof])) = .\(property)(\($0))" }
        } else {
            { "self.\(property) = \($0)" }
        }
        if field.type == 14 {
            line("if let parsed: \(elementType(field)) = \(read) { \(target("parsed")) }")
        } else {
            line(target(read))
        }
    }

    /// The expression that reads one element of `field`'s type from the JSON value `source`
    /// at `at`; an enum's is optional (nil: a name this version does not know).
    func jsonElement(_ field: ProtoFile.Field, from source: String) -> String {
        switch field.type {
        case 14: "try JSONRead.enumeration(\(source), at: at) as \(elementType(field))?"
        case 11: "try \(elementType(field))(json: \(source), path: at)"
        // The scalar readers are named as MessageReader's: JSONRead.int32, .string, .bytes, ...
        default: "try JSONRead.\(readerName(field).name)(\(source), at: at)"
        }
    }

    func emitJSONWriting(_ message: ProtoFile.Message, fields: [ProtoFile.Field]) {
        line("public func json(_ options: JSONEncodingOptions) -> JSONValue {")
        indented {
            line("\(fields.isEmpty ? "let" : "var") members = JSONMembers(options)")
            for field in fields {
                let names = "\"\(field.name)\", \"\(FieldDescriptor.lowerCamelCase(field.name))\""
                let property = SwiftNames.field(field.name)
                if let oneof = field.oneofIndex, !field.isProto3Optional {
                    line("if case .\(property)(let value)? = self.\(SwiftNames.field(message.oneofs[oneof])) { members.field(\(names), present: value) }")
                } else if field.isProto3Optional {
                    line("members.field(\(names), present: self.\(property))")
                } else {
                    line("members.field(\(names), self.\(property))")
                }
            }
            line("return members.value")
        }
        line("}")
    }
}
