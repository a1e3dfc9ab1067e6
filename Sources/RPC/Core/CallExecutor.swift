import CoreMetrics
import JSON
import Logging
import NIOCore
import Protobuf

/// Runs calls the same way whichever transport carries them. gRPC and Twirp parse their own
/// framing and hand over the route, the caller's metadata and the request's bytes; the executor
/// admits the call, enforces the size limit, decodes, checks, runs the handler and encodes, and
/// turns whatever went wrong into the one status that answers the call.
///
/// Every call is counted (`egress_rpc_requests_total` by transport, method and status code) and
/// timed (`egress_rpc_duration_seconds` by transport and method) through swift-metrics.
struct CallExecutor: Sendable {
    let configuration: RPCConfiguration
    let logger: Logger
    /// "grpc" or "twirp", for the metrics.
    let transport: String

    /// The largest request message `handler` takes.
    func requestLimit(of handler: RPCHandler) -> Int {
        min(configuration.maxReceiveMessageSize, handler.maxRequestSize ?? .max)
    }

    /// Runs the method's admission check on the call's metadata, before any of its request is read.
    func admit(_ handler: RPCHandler, metadata: Metadata, method: ServiceDescriptor.Method) -> Result<(any Sendable)?, RPCError> {
        guard let admission = handler.admission else { return .success(nil) }
        do {
            return .success(try admission(metadata))
        } catch {
            let refusal = (error as? any RPCErrorConvertible)?.rpcError ?? RPCError(.unauthenticated, "\(error)")
            count(method, refusal.code)
            return .failure(refusal)
        }
    }

    /// Counts a call that ended with `code`.
    private func count(_ method: ServiceDescriptor.Method, _ code: StatusCode) {
        Counter(label: "egress_rpc_requests_total",
                dimensions: [("transport", transport), ("method", String(method.path.dropFirst())), ("code", "\(code)")]).increment()
    }

    /// Counts and times a call that ran, from `started`.
    private func measure<Success>(_ result: Result<Success, RPCError>, _ method: ServiceDescriptor.Method, since started: ContinuousClock.Instant) -> Result<Success, RPCError> {
        let elapsed = ContinuousClock.now - started
        count(method, { if case .failure(let error) = result { return error.code } else { return .ok } }())
        Timer(label: "egress_rpc_duration_seconds", dimensions: [("transport", transport), ("method", String(method.path.dropFirst()))])
            .recordNanoseconds(Int64(elapsed.components.seconds) &* 1_000_000_000 &+ elapsed.components.attoseconds / 1_000_000_000)
        return result
    }

    /// A unary call (or Twirp's only kind): the response's bytes, or the status answering the call.
    func unary(_ handler: RPCHandler, request: ByteBuffer, format: WireFormat,
               context: ServerContext) async -> Result<RPCHandler.Answer, RPCError> {
        let started = ContinuousClock.now
        return measure(await runUnary(handler, request: request, format: format, context: context), context.method, since: started)
    }

    private func runUnary(_ handler: RPCHandler, request: ByteBuffer, format: WireFormat,
                          context: ServerContext) async -> Result<RPCHandler.Answer, RPCError> {
        guard case .unary(let body) = handler.kind else {
            return .failure(.unimplemented("\(context.method.name) is not a unary method"))
        }
        if let refusal = refuseSize(request, handler) { return .failure(refusal) }
        do {
            return .success(try await body(request, format, context, handler.check))
        } catch {
            return .failure(status(for: error, context))
        }
    }

    /// A server-streaming call: its responses go to `send`; the trailers, or the status
    /// answering the call.
    func serverStreaming(_ handler: RPCHandler, request: ByteBuffer, context: ServerContext,
                         send: @escaping RPCHandler.Send) async -> Result<Metadata, RPCError> {
        let started = ContinuousClock.now
        return measure(await runServerStreaming(handler, request: request, context: context, send: send), context.method, since: started)
    }

    private func runServerStreaming(_ handler: RPCHandler, request: ByteBuffer, context: ServerContext,
                                    send: @escaping RPCHandler.Send) async -> Result<Metadata, RPCError> {
        guard case .serverStreaming(let body) = handler.kind else {
            return .failure(.unimplemented("\(context.method.name) is not a server-streaming method"))
        }
        if let refusal = refuseSize(request, handler) { return .failure(refusal) }
        do {
            return .success(try await body(request, context, handler.check, send))
        } catch {
            return .failure(status(for: error, context))
        }
    }

    /// A bidirectional call: its requests arrive through `requests` as they come (the transport
    /// holds each to the size limit), its responses go to `send`.
    func bidirectionalStreaming(_ handler: RPCHandler, requests: RPCHandler.Payloads, context: ServerContext,
                                send: @escaping RPCHandler.Send) async -> Result<Metadata, RPCError> {
        let started = ContinuousClock.now
        return measure(await runBidirectional(handler, requests: requests, context: context, send: send), context.method, since: started)
    }

    private func runBidirectional(_ handler: RPCHandler, requests: RPCHandler.Payloads, context: ServerContext,
                                  send: @escaping RPCHandler.Send) async -> Result<Metadata, RPCError> {
        guard case .bidirectionalStreaming(let body) = handler.kind else {
            return .failure(.unimplemented("\(context.method.name) is not a streaming method"))
        }
        do {
            return .success(try await body(requests, context, handler.check, send))
        } catch {
            return .failure(status(for: error, context))
        }
    }

    private func refuseSize(_ request: ByteBuffer, _ handler: RPCHandler) -> RPCError? {
        let limit = requestLimit(of: handler)
        if request.readableBytes > limit {
            return RPCError(.resourceExhausted, "received message larger than max (\(request.readableBytes) vs. \(limit))")
        }
        if let own = handler.decodeLimit, request.readableBytes > own.bytes { return own.refusal(request.readableBytes) }
        return nil
    }

    /// The status a failure answers the call with; the one mapping of every transport.
    func status(for error: any Error, _ context: ServerContext) -> RPCError {
        switch error {
        case let error as any RPCErrorConvertible:
            return error.rpcError
        case let failure as RequestDecodingFailure:
            return decodingStatus(failure)
        case is CancellationError:
            if let deadline = context.deadline, deadline <= .now {
                return RPCError(.deadlineExceeded, "deadline exceeded")
            }
            return RPCError(.cancelled, "the call was cancelled")
        default:
            logger.error("handler failed", metadata: ["method": "\(context.method.path)", "error": "\(error)"])
            return RPCError(.internal, "internal error")
        }
    }

    /// A value the type cannot hold (a string that is not UTF-8) is the caller's INVALID_ARGUMENT;
    /// bytes that are no message at all are malformed.
    private func decodingStatus(_ failure: RequestDecodingFailure) -> RPCError {
        let detail = (failure.underlying as? ProtoError)?.message ?? "\(failure.underlying)"
        let isInvalidValue = (failure.underlying as? ProtoError)?.isInvalidValue ?? (failure.underlying as? JSONError)?.isInvalidValue ?? false
        if isInvalidValue {
            return RPCError(.invalidArgument, "invalid request: \(detail)")
        }
        var status = switch failure.format {
        case .protobuf: RPCError(.internal, "the request is not a valid \(failure.type.fullName): \(detail)")
        case .json: RPCError(.internal, "the json request could not be decoded as \(failure.type.fullName): \(detail)")
        }
        status.isMalformedRequest = true
        return status
    }
}
