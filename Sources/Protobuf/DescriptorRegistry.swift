import CProtobufC
import CProtos

/// Every service, message and enum generated from Protos/, found through the generated
/// `proto_registry_*` lists and looked up by full name or by C descriptor address.
public final class DescriptorRegistry: Sendable {
    /// The registry of everything in Generated/.
    public static let shared = DescriptorRegistry()

    public let services: [ServiceDescriptor]
    private let messagesByAddress: [Int: MessageDescriptor]
    private let messagesByName: [String: MessageDescriptor]
    private let enumsByAddress: [Int: EnumDescriptor]
    private let enumsByName: [String: EnumDescriptor]

    private init() {
        var messagesByAddress: [Int: MessageDescriptor] = [:]
        for raw in Self.nullTerminated(proto_registry_messages()) {
            messagesByAddress[Int(bitPattern: raw)] = MessageDescriptor(raw)
        }
        var enumsByAddress: [Int: EnumDescriptor] = [:]
        for raw in Self.nullTerminated(proto_registry_enums()) {
            enumsByAddress[Int(bitPattern: raw)] = EnumDescriptor(raw)
        }
        self.messagesByAddress = messagesByAddress
        self.enumsByAddress = enumsByAddress
        messagesByName = Dictionary(uniqueKeysWithValues: messagesByAddress.values.map { ($0.fullName, $0) })
        enumsByName = Dictionary(uniqueKeysWithValues: enumsByAddress.values.map { ($0.fullName, $0) })
        // Services refer to messages, so they are read once the messages are known.
        services = Self.nullTerminated(proto_registry_services()).map { raw in
            ServiceDescriptor(raw) { messagesByAddress[Int(bitPattern: $0)]! }
        }
    }

    public func message(named fullName: String) -> MessageDescriptor? { messagesByName[fullName] }
    public func enumType(named fullName: String) -> EnumDescriptor? { enumsByName[fullName] }
    public func service(named fullName: String) -> ServiceDescriptor? { services.first { $0.fullName == fullName } }

    /// The message type generated at this descriptor address; every generated type is listed.
    func message(at raw: UnsafeRawPointer) -> MessageDescriptor {
        guard let found = messagesByAddress[Int(bitPattern: raw)] else {
            preconditionFailure("a message descriptor outside Generated/: run Scripts/generate-protos")
        }
        return found
    }

    func enumType(at raw: UnsafeRawPointer) -> EnumDescriptor {
        guard let found = enumsByAddress[Int(bitPattern: raw)] else {
            preconditionFailure("an enum descriptor outside Generated/: run Scripts/generate-protos")
        }
        return found
    }

    private static func nullTerminated<T>(_ list: UnsafePointer<UnsafePointer<T>?>?) -> [UnsafePointer<T>] {
        guard let list else { return [] }
        var out: [UnsafePointer<T>] = []
        var i = 0
        while let item = list[i] {
            out.append(item)
            i += 1
        }
        return out
    }
}
