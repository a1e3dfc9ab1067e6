import ArgumentParser
import Foundation
import SessionManager
import Storage

/// Sends a file to S3 as the server sends recordings: e.g. a local copy kept after its upload
/// failed (`backup_storage_used`).
struct Upload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload", abstract: "Upload a file to S3 or S3-compatible storage, as the server uploads recordings.")
    @Argument(help: "The file.") var file: String
    @Option(help: "Bucket.") var bucket: String
    @Option(help: "Object key. [default: the file's name]") var key: String?
    @Option(help: "S3-compatible endpoint (https://host[:port]); none: AWS.") var endpoint = ""
    @Option(help: "Region. [default us-east-1]") var region = ""
    @Flag(help: "Address the bucket in the path (endpoint/bucket/key).") var forcePathStyle = false
    @Option(help: "MiB: larger files go up in parts of this size (5 to 1024).") var partSize = 16

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let access = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] else {
            throw ValidationError("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if you have one)")
        }
        guard (5...1024).contains(partSize) else { throw ValidationError("--part-size \(partSize) is not from 5 to 1024") }
        var client = S3Client(S3Upload(accessKey: access, secret: secret, sessionToken: environment["AWS_SESSION_TOKEN"] ?? "",
                                       region: region, endpoint: endpoint, bucket: bucket, forcePathStyle: forcePathStyle))
        client.partSize = Int64(partSize) << 20
        client.multipartThreshold = client.partSize
        let name = key ?? URL(fileURLWithPath: file).lastPathComponent
        let started = Date()
        let location = try client.put(file: file, as: name, contentType: "application/octet-stream")
        let seconds = Date().timeIntervalSince(started)
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        print("\(location)\t\(size) bytes in \(String(format: "%.2f", seconds)) s")
    }
}
