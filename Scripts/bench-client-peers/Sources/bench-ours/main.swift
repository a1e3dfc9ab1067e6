import APIClients
import APIMessages
import BenchSupport
import RPCClient

// This project's client: one GRPCClient (one HTTP/2 connection), calls from many tasks.
let arguments = Load.arguments()
let client = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: arguments.port))
let health = Grpc_Health_V1_HealthClient(client)
await Load.run(arguments, name: "egress RPCClient") {
    _ = try await health.check(Grpc_Health_V1_HealthCheckRequest())
}
await client.close()
