extension StringProtocol {
    /// The text without the leading and trailing characters in `characters` (spaces and tabs by
    /// default). Only the ends are walked, so a long token with no spaces costs two comparisons.
    public func trimmingEnds(of characters: String = " \t") -> String {
        guard let first = firstIndex(where: { !characters.contains($0) }),
              let last = lastIndex(where: { !characters.contains($0) }) else { return "" }
        return String(self[first...last])
    }
}
