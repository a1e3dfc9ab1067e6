import Protobuf

/// The request messages of every service the server has (Generated/): what a client's bytes are
/// decoded as. Sorted by full name; an input's first byte picks one (modulo their count).
enum RequestTypes {
    static let all: [MessageDescriptor] = {
        var seen: Set<String> = []
        return DescriptorRegistry.shared.services.flatMap(\.methods).map(\.input)
            .filter { seen.insert($0.fullName).inserted }
            .sorted { $0.fullName < $1.fullName }
    }()

    static func pick(_ selector: UInt8) -> MessageDescriptor {
        all[Int(selector) % all.count]
    }
}
