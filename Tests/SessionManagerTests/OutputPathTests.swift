import Testing
@testable import SessionManager

@Suite struct OutputPathTests {
    @Test(arguments: [
        ("x.mp4", "x.mp4"), ("a/./b/x.mp4", "a/b/x.mp4"), ("a//b/", "a/b/"), ("", ""),
        ("/srv/rec/x.mp4", "x.mp4"), ("/srv/rec/a/../b.mp4", "b.mp4"), ("/srv/rec/", ""), ("{room_name}/{time}.mp4", "{room_name}/{time}.mp4"),
    ])
    func pathsInsideTheDirectoryBecomeRelative(path: String, relative: String) {
        #expect(OutputPath.confine(path, to: "/srv/rec") == .success(relative))
    }

    @Test(arguments: ["../x.mp4", "a/../../x.mp4", "a/..", "/etc/passwd", "/srv/recordings/x.mp4", "/srv/rec/../x.mp4"])
    func pathsLeavingTheDirectoryAreRefused(path: String) {
        #expect(OutputPath.confine(path, to: "/srv/rec") == .failure(.escapesOutputDirectory(path)))
    }

    @Test func controlCharactersAreRefused() {
        #expect(OutputPath.confine("a\u{0}b", to: "/srv/rec") == .failure(.invalidCharacter("a\u{0}b")))
    }
}
