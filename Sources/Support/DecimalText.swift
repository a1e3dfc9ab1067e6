/// Numbers as people read them in messages and JSON: two decimals, no exponent.
public enum DecimalText {
    /// `value` rounded to hundredths ("0.30", "-1.25"); "0.00" when it is not finite or beyond 1e12.
    public static func hundredths(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "0.00" }
        let hundredths = Int((value * 100).rounded())
        let fraction = String(abs(hundredths) % 100)
        return "\(hundredths < 0 ? "-" : "")\(abs(hundredths) / 100).\(fraction.count == 1 ? "0" + fraction : fraction)"
    }
}
