import Foundation
import Protobuf

// Writes the Swift of every file of a descriptor set (protoc's --descriptor_set_out of Protos/)
// into a directory: Messages/<file>.pb.swift (messages and enums, module APIMessages),
// Services/<file>.services.swift (service protocols, module APIServices) and
// Clients/<file>.clients.swift (client stubs, module APIClients).
// Run by Scripts/generate-protos after protoc-c.
guard CommandLine.arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: generate-messages DESCRIPTOR_SET OUTPUT_DIR\n".utf8))
    exit(2)
}
let set = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[1])))
let root = URL(fileURLWithPath: CommandLine.arguments[2], isDirectory: true)
let output = root.appendingPathComponent("Messages", isDirectory: true)
let servicesOutput = root.appendingPathComponent("Services", isDirectory: true)
let clientsOutput = root.appendingPathComponent("Clients", isDirectory: true)
for directory in [output, servicesOutput, clientsOutput] {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
}

var files: [ProtoFile] = []
var wire = WireFields(set)
while let (number, value) = wire.next() {
    if number == 1, case .bytes(let file) = value { files.append(ProtoFile(file)) }
}
let emitter = SwiftEmitter(files: files)
let services = ServiceEmitter(swiftTypes: emitter.swiftTypes)
let clients = ClientEmitter(swiftTypes: emitter.swiftTypes, files: files)
for file in files {
    let name = file.name.replacingOccurrences(of: ".proto", with: ".pb.swift")
    try Data(emitter.source(of: file).utf8).write(to: output.appendingPathComponent(name))
    if let source = services.source(of: file) {
        let name = file.name.replacingOccurrences(of: ".proto", with: ".services.swift")
        try Data(source.utf8).write(to: servicesOutput.appendingPathComponent(name))
    }
    if let source = clients.source(of: file) {
        let name = file.name.replacingOccurrences(of: ".proto", with: ".clients.swift")
        try Data(source.utf8).write(to: clientsOutput.appendingPathComponent(name))
    }
}
try Data(emitter.registry().utf8).write(to: output.appendingPathComponent("GeneratedMessages.swift"))
