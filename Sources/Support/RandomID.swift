/// Ids as LiveKit makes them: a prefix (`EG_`, `PA_`, `TR_`, `RM_`) and 12 random base62 characters.
public enum RandomID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    public static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<12).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
