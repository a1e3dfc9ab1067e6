import Foundation
import Protobuf

// Writes the Swift messages and enums of every file of a descriptor set (protoc's
// --descriptor_set_out of Protos/) into a directory, one `<file>.pb.swift` each.
// Run by Scripts/generate-protos after protoc-c.
guard CommandLine.arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: generate-messages DESCRIPTOR_SET OUTPUT_DIR\n".utf8))
    exit(2)
}
let set = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[1])))
let output = URL(fileURLWithPath: CommandLine.arguments[2], isDirectory: true)
try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

var files: [ProtoFile] = []
var wire = WireFields(set)
while let (number, value) = wire.next() {
    if number == 1, case .bytes(let file) = value { files.append(ProtoFile(file)) }
}
let emitter = SwiftEmitter(files: files)
for file in files {
    let name = file.name.replacingOccurrences(of: ".proto", with: ".pb.swift")
    try Data(emitter.source(of: file).utf8).write(to: output.appendingPathComponent(name))
}
try Data(emitter.registry().utf8).write(to: output.appendingPathComponent("GeneratedMessages.swift"))
