/// A recording that cannot go on, with what went wrong and the error code its egress ends
/// with (LiveKit's HTTP-like codes: 400 for what the request asked, 500 for the server's own).
struct RecorderError: Error, CustomStringConvertible {
    let description: String
    let code: Int32

    init(_ description: String, code: Int32 = 500) {
        self.description = description
        self.code = code
    }
}
