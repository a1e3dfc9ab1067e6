import JSON

/// JWT NumericDate claims (`exp`, `nbf`, `iat`: seconds since 1970, RFC 7519 §2), read from
/// untrusted JSON without a trapping conversion: a value must be a JSON number within
/// `range`, else the token is refused.
enum TokenTime {
    /// 1970 to the end of year 9999: room to add a leeway without overflow.
    static let range: ClosedRange<Int64> = 0...253_402_300_799

    /// The whole seconds of a claim; `nil` for a value that is not a number in range.
    static func seconds(_ value: JSONValue) -> Int64? {
        guard case .number(let text) = value else { return nil }
        if let whole = Int64(text) { return range.contains(whole) ? whole : nil }
        // A fraction or an exponent (`1.7e9`): through Double, checked before converting.
        guard let real = Double(text), real.isFinite,
              real >= Double(range.lowerBound), real <= Double(range.upperBound) else { return nil }
        return Int64(real.rounded(.down))
    }

    /// `now` when it lies in `range` (a clock reading always does).
    static func clamped(_ now: Int64) -> Int64? {
        range.contains(now) ? now : nil
    }
}
