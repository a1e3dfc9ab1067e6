import Protobuf
import RPC

/// gRPC server reflection, `grpc.reflection.v1` and `grpc.reflection.v1alpha` (the same
/// messages): lists the services and hands out the file descriptors of Protos/, so generic
/// tools (grpcurl, grpcio-reflection) can discover and call the API.
public enum ReflectionService {
    /// Both versions, listing `services` (full names).
    public static func make(listing services: [String]) -> [RPCService] {
        ["grpc.reflection.v1", "grpc.reflection.v1alpha"].map { package in
            RPCService("\(package).ServerReflection", handlers: [
                // Dynamic messages: one body serves both versions' (distinct but identical) types.
                "ServerReflectionInfo": .bidirectionalStreaming(dynamic: { requests, writer, _ in
                    for try await request in requests {
                        try await writer.write(answer(request, package: package, services: services))
                    }
                }),
            ])
        }
    }

    static func answer(_ request: ProtoMessage, package: String, services: [String]) -> ProtoMessage {
        var response = ProtoMessage("\(package).ServerReflectionResponse")
        response.set("valid_host", request.string("host"))
        response.set("original_request", request)
        let set = FileDescriptorSet.shared
        func files(_ file: FileDescriptorSet.File?, _ missing: String) {
            guard let file else { return error(5, missing) }
            var files = ProtoMessage("\(package).FileDescriptorResponse")
            files["file_descriptor_proto"] = .list(set.withDependencies(file).map { .bytes($0.bytes) })
            response.set("file_descriptor_response", files)
        }
        func error(_ code: Int32, _ message: String) {
            var error = ProtoMessage("\(package).ErrorResponse")
            error.set("error_code", code)
            error.set("error_message", message)
            response.set("error_response", error)
        }
        switch request.oneofCase(containing: "list_services") {
        case "list_services":
            var list = ProtoMessage("\(package).ListServiceResponse")
            list.set("service", services.sorted().map { name in
                var service = ProtoMessage("\(package).ServiceResponse")
                service.set("name", name)
                return service
            })
            response.set("list_services_response", list)
        case "file_by_filename":
            let name = request.string("file_by_filename")
            files(set.file(named: name), "file not found: \(name)")
        case "file_containing_symbol":
            let symbol = request.string("file_containing_symbol")
            files(set.file(containing: symbol), "symbol not found: \(symbol)")
        case "all_extension_numbers_of_type":
            let type = request.string("all_extension_numbers_of_type")
            if set.file(containing: type) != nil {
                // No file here declares extensions: the list is empty.
                var numbers = ProtoMessage("\(package).ExtensionNumberResponse")
                numbers.set("base_type_name", type)
                response.set("all_extension_numbers_response", numbers)
            } else {
                error(5, "type not found: \(type)")
            }
        case "file_containing_extension":
            let extensionRequest = request.message("file_containing_extension")
            error(5, "extension not found: \(extensionRequest?.string("containing_type") ?? "")(\(extensionRequest?.int32("extension_number") ?? 0))")
        default:
            error(3, "the request names nothing to look up")
        }
        return response
    }
}
