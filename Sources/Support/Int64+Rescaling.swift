extension Int64 {
    /// `self * multiplier / divisor` computed in 128 bits (as FFmpeg's `av_rescale`, rounding
    /// toward zero); nil when the result does not fit or `divisor` is not positive. For times
    /// from the network and long recordings, where a plain `*` would trap.
    public func rescaled(by multiplier: Int64, over divisor: Int64) -> Int64? {
        guard divisor > 0 else { return nil }
        return Int64(exactly: Int128(self) * Int128(multiplier) / Int128(divisor))
    }
}
