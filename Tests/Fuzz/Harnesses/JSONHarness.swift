import JSON
import Protobuf

/// Twirp's JSON bodies: the first byte picks a request type (`RequestTypes`), the rest is JSON
/// text, parsed, decoded as that type, written back (both JSON styles, and protobuf), and read
/// again: what the server writes it must read back as the same message.
enum JSONHarness {
    static func run(_ input: [UInt8]) {
        var input = FuzzInput(input)
        let type = RequestTypes.pick(input.byte())
        guard let json = try? JSONParser.parse(Array(input.rest)) else { return }
        let text = json.text
        guard let reparsed = try? JSONParser.parse(Array(text.utf8)) else {
            preconditionFailure("JSONValue.text wrote JSON that JSONParser refuses: \(text)")
        }
        precondition(reparsed.text == text, "JSONValue.text is not stable: \(text) then \(reparsed.text)")

        guard let message = try? ProtoMessage(json: json, as: type) else { return }
        let encoded = message.encoded()
        for options in [JSONEncodingOptions.twirp, .webhook] {
            let written = message.json(options).text
            let read: ProtoMessage
            do {
                read = try ProtoMessage(jsonText: Array(written.utf8), as: type)
            } catch {
                preconditionFailure("\(type) written as JSON is not read back (\(error)): \(written)")
            }
            precondition(read.encoded() == encoded, "\(type) changes in a JSON round trip: \(written)")
        }
        guard let decoded = try? ProtoMessage(decoding: encoded, as: type) else {
            preconditionFailure("\(type) encoded from JSON is not decoded back")
        }
        precondition(decoded.encoded() == encoded, "\(type) changes in a protobuf round trip")
    }
}
