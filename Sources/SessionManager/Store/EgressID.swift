import Support

/// Egress ids as LiveKit makes them: `EG_` and 12 random base62 characters.
public enum EgressID {
    public static func make() -> String { RandomID.make(prefix: "EG_") }
}
