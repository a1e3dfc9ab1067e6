import Testing
@testable import Recorder

@Suite struct VideoVisibilityTests {
    @Test func changesApplyFromTheirPositionOn() {
        var visibility = VideoVisibility()
        visibility.note(true, at: 0)
        visibility.note(false, at: 100)
        visibility.note(false, at: 150)  // no change
        visibility.note(true, at: 200)
        #expect(visibility.isShown(at: 50))
        #expect(!visibility.isShown(at: 100) && !visibility.isShown(at: 199))
        #expect(visibility.isShown(at: 200))
        visibility.prune(before: 180)
        #expect(!visibility.isShown(at: 180) && visibility.isShown(at: 250))
    }
}
