import CProtobufC

/// A service generated from Protos/ and its methods, read from protobuf-c's service descriptor.
public struct ServiceDescriptor: Sendable {
    /// `package.Service`, e.g. `livekit.Egress`.
    public let fullName: String
    public let methods: [Method]

    /// One RPC method: its name and its request and response types.
    public struct Method: Sendable {
        public let name: String
        public let input: MessageDescriptor
        public let output: MessageDescriptor
        /// The HTTP/2 `:path` of the method: `/package.Service/Method`.
        public let path: String
    }

    init(_ raw: UnsafePointer<ProtobufCServiceDescriptor>, message: (UnsafeRawPointer) -> MessageDescriptor) {
        fullName = String(cString: raw.pointee.name)
        var methods: [Method] = []
        for i in 0..<Int(raw.pointee.n_methods) {
            let method = raw.pointee.methods[i]
            let name = String(cString: method.name)
            methods.append(Method(
                name: name,
                input: message(method.input),
                output: message(method.output),
                path: "/\(String(cString: raw.pointee.name))/\(name)"
            ))
        }
        self.methods = methods
    }

    public func method(named name: String) -> Method? { methods.first { $0.name == name } }
}
