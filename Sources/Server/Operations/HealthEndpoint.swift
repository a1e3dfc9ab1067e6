import HTTP
import JSON
import NIOCore
import SessionManager
import Support

/// Health for load balancers on `health_port`: `GET` (any path) answers 200 with a small JSON
/// status while the server takes egresses, 503 from SIGTERM on (draining: live egresses finish,
/// new ones are refused). `CpuLoad` is the cores free for egresses, under LiveKit's name.
struct HealthEndpoint: Sendable {
    let sessions: EgressStore
    let cpu: MachineCPU

    func admit(method: String, path: String, headers: [HeaderField]) -> HTTPAdmission {
        guard method == "GET" || method == "HEAD" else {
            return .refused(HTTPResponse(status: 405, headers: [HeaderField("allow", "GET, HEAD")]))
        }
        return .admitted(value: nil, maxBodySize: 0)
    }

    func respond(_ request: HTTPRequest) -> HTTPResponse {
        let draining = sessions.isDraining
        let available = sessions.availableCPU ?? Double(cpu.cores) - cpu.coresInUse
        let body = JSONValue.object([
            ("status", .string(draining ? "draining" : "serving")),
            ("CpuLoad", .number(DecimalText.hundredths(max(0, available)))),
            ("available_cpu", .number(DecimalText.hundredths(max(0, available)))),
            ("live_egresses", .number(String(sessions.liveCount))),
            ("draining", .bool(draining)),
        ])
        return HTTPResponse(status: draining ? 503 : 200, headers: [HeaderField("content-type", "application/json"),
                                                                     HeaderField("cache-control", "no-store")],
                            body: ByteBuffer(string: body.text + "\n"))
    }
}
