import Protobuf

/// `grpc.health.v1.Health`: Check, List and Watch over a `HealthStatus`.
public enum HealthService {
    public static func make(_ health: HealthStatus) -> RPCService {
        RPCService("grpc.health.v1.Health", handlers: [
            "Check": .unary { request in
                let service = request.message.string("service")
                guard let status = health.status(of: service) else {
                    throw RPCError.notFound("unknown service \(service)")
                }
                return ServerResponse(response(status))
            },
            "List": .unary { _ in
                var list = ProtoMessage("grpc.health.v1.HealthListResponse")
                let entryType = list.descriptor.field(named: "statuses")!.messageType
                let entries = health.all.sorted { $0.key < $1.key }.map { service, status in
                    var entry = ProtoMessage(entryType)
                    entry.set("key", service)
                    entry.set("value", response(status))
                    return entry
                }
                list.set("statuses", entries)
                return ServerResponse(list)
            },
            "Watch": .serverStreaming { request, writer in
                for await status in health.updates(of: request.message.string("service")) {
                    try await writer.write(response(status))
                }
                try Task.checkCancellation()
                return Metadata()
            },
        ])
    }

    private static func response(_ status: HealthStatus.Serving) -> ProtoMessage {
        var message = ProtoMessage("grpc.health.v1.HealthCheckResponse")
        message.setEnum("status", number: status.rawValue)
        return message
    }
}
