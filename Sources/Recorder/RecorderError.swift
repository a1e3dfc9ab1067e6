/// A recording that cannot go on, with what went wrong.
struct RecorderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
