import RPC

/// The Egress API's error wording, LiveKit's where it has one.
enum RequestErrors {
    /// `request has missing or invalid field: <field>`, with the reason when there is more to say.
    static func invalidField(_ field: String, _ reason: String? = nil) -> RPCError {
        .invalidArgument("request has missing or invalid field: \(field)" + (reason.map { " (\($0))" } ?? ""))
    }

    /// `format <format> incompatible with codec <codec>`.
    static func incompatible(format: String, codec: String) -> RPCError {
        .invalidArgument("format \(format) incompatible with codec \(codec)")
    }

    static func needsBrowser(_ what: String) -> RPCError {
        .unimplemented("\(what) renders the room in a browser, which this server does not run; "
            + "use participant, track composite or track egress")
    }

    static func uploadNotSupported(_ provider: String) -> RPCError {
        .unimplemented("\(provider) upload is not implemented; s3 (and S3-compatible storage: MinIO, R2, GCS's XML API) is")
    }
}
