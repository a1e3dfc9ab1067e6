import APIMessages
import APIServices
import RPC

/// `grpc.health.v1.Health`: Check, List and Watch over a `HealthStatus`.
public struct HealthService: Grpc_Health_V1_Health.ServiceProtocol {
    let health: HealthStatus

    public init(_ health: HealthStatus) {
        self.health = health
    }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = health.status(of: request.service) else {
            throw RPCError.notFound("unknown service \(request.service)")
        }
        return Self.response(status)
    }

    public func list(request: Grpc_Health_V1_HealthListRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthListResponse {
        var list = Grpc_Health_V1_HealthListResponse()
        list.statuses = health.all.mapValues(Self.response)
        return list
    }

    public func watch(request: Grpc_Health_V1_HealthCheckRequest, response: ResponseWriter<Grpc_Health_V1_HealthCheckResponse>,
                      context: ServerContext) async throws {
        for await status in health.updates(of: request.service) {
            try await response.write(Self.response(status))
        }
        try Task.checkCancellation()
    }

    private static func response(_ status: HealthStatus.Serving) -> Grpc_Health_V1_HealthCheckResponse {
        var message = Grpc_Health_V1_HealthCheckResponse()
        message.status = .init(rawValue: status.rawValue)
        return message
    }
}
