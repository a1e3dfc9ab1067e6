// Package.swift: .package(path: "../egress-server"), then
// .product(name: "EgressClient", package: "egress-server") in the target's dependencies.
import APIClients
import APIMessages
import RPCClient

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 7880 : 7880  // the server's API port
let client = try GRPCClient(
    configuration: GRPCClientConfiguration(host: "127.0.0.1", port: port),  // tls: .init(caFile:) for https
    tokens: APIKeyTokens(apiKey: "devkey", secret: "secret"))
let egress = Livekit_EgressClient(client)

var request = Livekit_ParticipantEgressRequest()
request.roomName = "my-room"
request.identity = "alice"
var file = Livekit_EncodedFileOutput()
file.filepath = "{room_name}/{publisher_identity}.mp4"
request.fileOutputs = [file]
let info = try await egress.startParticipantEgress(request, options: CallOptions(timeout: .seconds(5)))
print(info.egressId, info.status)                      // EG_… egressStarting

do {
    var stop = Livekit_StopEgressRequest()
    stop.egressId = "EG_unknown"
    _ = try await egress.stopEgress(stop)
} catch let error as RPCError {
    print(error.code, error.message)                   // NOT_FOUND egress EG_unknown not found
}
for try await status in try await Grpc_Health_V1_HealthClient(client).watch(Grpc_Health_V1_HealthCheckRequest()) {
    print(status.status)                               // a server stream; leaving the loop cancels it
    break
}
await client.close()
