import Logging
import NIOCore
import Protobuf

/// The handlers of one generated service, by method name.
public struct RPCService: Sendable {
    public let descriptor: ServiceDescriptor
    public let handlers: [String: RPCHandler]

    /// `fullName` names a service in Protos/; every handler must name one of its methods.
    public init(_ fullName: String, handlers: [String: RPCHandler]) {
        guard let descriptor = DescriptorRegistry.shared.service(named: fullName) else {
            preconditionFailure("no service \(fullName) in Generated/")
        }
        for (name, handler) in handlers {
            guard let method = descriptor.method(named: name) else { preconditionFailure("\(fullName) has no method \(name)") }
            if let (request, response) = handler.types {
                precondition(request === method.input && response === method.output,
                             "the handler of \(method.path) takes \(request.fullName) and returns \(response.fullName)")
            }
        }
        self.descriptor = descriptor
        self.handlers = handlers
    }

    private init(descriptor: ServiceDescriptor, handlers: [String: RPCHandler]) {
        self.descriptor = descriptor
        self.handlers = handlers
    }

    /// The same service with `admit` run on every call's metadata before any of its request is
    /// read (gRPC and Twirp alike): an error it throws is the call's answer, so a caller without
    /// a token costs no body buffering or decoding. What it returns is `ServerContext.admission`.
    public func admitting(_ admit: @escaping RPCAdmission) -> RPCService {
        RPCService(descriptor: descriptor, handlers: handlers.mapValues { handler in
            var handler = handler
            handler.admission = admit
            return handler
        })
    }

    /// The same service taking request messages of at most `bytes` (for methods open to
    /// callers without a token, whose requests are small).
    public func limitingRequests(to bytes: Int) -> RPCService {
        RPCService(descriptor: descriptor, handlers: handlers.mapValues { handler in
            var handler = handler
            handler.maxRequestSize = bytes
            return handler
        })
    }

    /// The same service admitting each call by its method's name and metadata (see the other
    /// `admitting`): what a caller must hold for a method can be checked before its body is read.
    public func admitting(_ admit: @escaping @Sendable (_ method: String, Metadata) throws -> (any Sendable)?) -> RPCService {
        RPCService(descriptor: descriptor, handlers: Dictionary(uniqueKeysWithValues: handlers.map { name, handler in
            var handler = handler
            handler.admission = { metadata in try admit(name, metadata) }
            return (name, handler)
        }))
    }

    /// The same service refusing, before decoding them, requests of `methods` over `bytes`,
    /// answered with `refusal` (a service's own limit, below the transport's).
    public func refusingRequests(over bytes: Int, for methods: Set<String>,
                                 _ refusal: @escaping @Sendable (_ size: Int) -> RPCError) -> RPCService {
        RPCService(descriptor: descriptor, handlers: Dictionary(uniqueKeysWithValues: handlers.map { name, handler in
            var handler = handler
            if methods.contains(name) { handler.decodeLimit = (bytes, refusal) }
            return (name, handler)
        }))
    }

    /// The same service with `check` run on every decoded request message before its handler,
    /// on the gRPC and Twirp paths alike: an error it throws is the call's answer, and the
    /// handler does not run. Checks added earlier run first.
    public func checking(_ check: @escaping RequestCheck) -> RPCService {
        RPCService(descriptor: descriptor, handlers: handlers.mapValues { handler in
            var handler = handler
            handler.check = { [earlier = handler.check] request, context in
                try earlier?(request, context)
                try check(request, context)
            }
            return handler
        })
    }
}

/// Finds the method for a request's `:path` (`/package.Service/Method`). The table is built
/// from the services' generated descriptors: every method of a registered service has a route,
/// and a method without a handler answers UNIMPLEMENTED.
public struct RPCRouter: Sendable {
    public struct Route: Sendable {
        public let method: ServiceDescriptor.Method
        let handler: RPCHandler?
    }

    private let routes: [String: Route]
    private let serviceNames: Set<String>

    public init(services: [RPCService]) {
        var routes: [String: Route] = [:]
        for service in services {
            for method in service.descriptor.methods {
                routes[method.path] = Route(method: method, handler: service.handlers[method.name])
            }
        }
        self.routes = routes
        serviceNames = Set(services.map(\.descriptor.fullName))
    }

    /// The route for `path`, or the UNIMPLEMENTED error that explains why there is none.
    func route(_ path: String) -> Result<Route, RPCError> {
        if let route = routes[path] {
            guard route.handler != nil else {
                return .failure(.unimplemented("method \(route.method.name) of \(path.split(separator: "/").first ?? "") is not implemented"))
            }
            return .success(route)
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, serviceNames.contains(String(parts[1])) else {
            let service = parts.count > 1 ? String(parts[1]) : path
            return .failure(.unimplemented("unknown service \(service)"))
        }
        return .failure(.unimplemented("unknown method \(parts[2]) for service \(parts[1])"))
    }
}

extension RPCRouter {
    /// Runs a unary call handed over by another server (a node of the cluster): `path`'s
    /// handler with `request`'s protobuf bytes, as `CallExecutor` runs one from the network —
    /// size limits, decoding, the handler's checks, the one status for what went wrong — except
    /// for admission: the caller vouches for the call (the services routed here are not the
    /// ones behind access tokens).
    public func runHandedOver(path: String, request: [UInt8], configuration: RPCConfiguration, logger: Logger,
                              deadline: ContinuousClock.Instant?) async throws(RPCError) -> [UInt8] {
        let route = try route(path).get()
        guard let handler = route.handler else { throw .unimplemented("\(path) has no handler") }
        let executor = CallExecutor(configuration: configuration, logger: logger, transport: "cluster")
        let context = ServerContext(method: route.method, deadline: deadline, requestSize: request.count)
        switch await executor.unary(handler, request: ByteBuffer(bytes: request), format: .protobuf, context: context) {
        case .success(let answer): return answer.bytes
        case .failure(let error): throw error
        }
    }
}
