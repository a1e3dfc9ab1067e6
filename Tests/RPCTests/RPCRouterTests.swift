import APIMessages
import Testing
@testable import RPC

@Suite struct RPCRouterTests {
    let router = RPCRouter(services: [
        RPCService("grpc.health.v1.Health", handlers: [
            "Check": .unary { (_: Grpc_Health_V1_HealthCheckRequest, _: ServerContext) in Grpc_Health_V1_HealthCheckResponse() },
        ]),
    ])

    @Test func everyMethodOfARegisteredServiceHasARoute() throws {
        let route = try router.route("/grpc.health.v1.Health/Check").get()
        #expect(route.method.input.fullName == "grpc.health.v1.HealthCheckRequest")
        #expect(route.method.output.fullName == "grpc.health.v1.HealthCheckResponse")
    }

    @Test func aMethodWithoutAHandlerIsUnimplemented() {
        #expect(throws: RPCError(.unimplemented, "method Watch of grpc.health.v1.Health is not implemented")) {
            try router.route("/grpc.health.v1.Health/Watch").get()
        }
    }

    @Test(arguments: [
        ("/grpc.health.v1.Health/Nope", "unknown method Nope for service grpc.health.v1.Health"),
        ("/livekit.Egress/ListEgress", "unknown service livekit.Egress"),
        ("/nonsense", "unknown service nonsense"),
    ])
    func unknownPathsAreUnimplemented(path: String, message: String) {
        #expect(throws: RPCError(.unimplemented, message)) { try router.route(path).get() }
    }
}
