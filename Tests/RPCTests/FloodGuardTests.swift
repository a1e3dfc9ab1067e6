import Testing
@testable import HTTP

@Suite struct FloodGuardTests {
    @Test func aBucketAllowsItsBurstThenRefillsAtItsRate() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(.init(burst: 3, perSecond: 2), now: start)
        #expect((0..<3).allSatisfy { _ in bucket.take(now: start) })
        let emptied = bucket.take(now: start)
        let refilled = bucket.take(now: start + .milliseconds(500))
        let emptiedAgain = bucket.take(now: start + .milliseconds(600))
        #expect(!emptied && refilled && !emptiedAgain)
        #expect((0..<3).allSatisfy { _ in bucket.take(now: start + .seconds(10)) })
    }
}
