import CProtobufC

/// An enum type generated from Protos/: its values by name and by number.
public final class EnumDescriptor: Sendable, CustomStringConvertible {
    /// `package.Name`, e.g. `livekit.EgressStatus`.
    public let fullName: String
    /// Values in declaration order.
    public let values: [(name: String, number: Int32)]
    private let numberByName: [String: Int32]
    private let nameByNumber: [Int32: String]

    init(_ raw: UnsafePointer<ProtobufCEnumDescriptor>) {
        fullName = String(cString: raw.pointee.name)
        var values: [(String, Int32)] = []
        for i in 0..<Int(raw.pointee.n_values) {
            let value = raw.pointee.values[i]
            values.append((String(cString: value.name), value.value))
        }
        self.values = values
        numberByName = Dictionary(values.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
        nameByNumber = Dictionary(values.map { ($0.1, $0.0) }, uniquingKeysWith: { first, _ in first })
    }

    public func number(named name: String) -> Int32? { numberByName[name] }
    public func name(of number: Int32) -> String? { nameByNumber[number] }

    public var description: String { fullName }
}
