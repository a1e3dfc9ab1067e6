/// Egress ids as LiveKit makes them: `EG_` and 12 random base62 characters.
public enum EgressID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return "EG_" + String((0..<12).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
