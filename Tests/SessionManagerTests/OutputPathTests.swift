import Support
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

    @Test(arguments: ["../x.mp4", "a/../../x.mp4", "a/..", "/srv/rec/../x.mp4", "/out/../../x.mp4", "//../x.mp4"])
    func pathsLeavingTheDirectoryAreRefused(path: String) {
        #expect(OutputPath.confine(path, to: "/srv/rec") == .failure(.escapesOutputDirectory(path)))
    }

    /// An absolute path elsewhere is rooted at the output directory, as in a container whose
    /// volume is mounted there.
    @Test(arguments: [
        ("/out/x.mp4", "out/x.mp4"), ("/etc/passwd", "etc/passwd"), ("/srv/recordings/x.mp4", "srv/recordings/x.mp4"),
        ("//x.mp4", "x.mp4"), ("/out/", "out/"), ("/", ""),
    ])
    func absolutePathsElsewhereAreRootedAtTheDirectory(path: String, relative: String) {
        #expect(OutputPath.confine(path, to: "/srv/rec") == .success(relative))
    }

    @Test func controlCharactersAreRefused() {
        #expect(OutputPath.confine("a\u{0}b", to: "/srv/rec") == .failure(.invalidCharacter("a\u{0}b")))
    }

    @Test(arguments: [
        ("{room_name}{room_name}/{room_name}{room_name}/x.mp4", "."),
        ("{room_name}{room_name}/x.mp4", "."),
        ("a/{room_name}{room_name}", "."),
        ("{room_name}./x.mp4", "."),
    ])
    func valuesThatMakeDotDotAfterFillingAreRefused(template: String, room: String) {
        let filled = OutputPath.fill(template, with: [("{room_name}", room)])
        #expect(filled.split(separator: "/").contains(".."))
        #expect(OutputPath.checkFilled(filled, in: "/srv/rec") == .failure(.escapesOutputDirectory(filled)))
    }

    @Test func aValueNeverAddsADirectoryOrAControlCharacter() {
        #expect(OutputPath.fill("{room_name}/x", with: [("{room_name}", "a/../b\u{0}c\n..")]) == "a___b_c__/x")
        #expect(OutputPath.checkFilled("./a//b/./x.mp4", in: "/srv/rec") == .success("a/b/x.mp4"))
        #expect(OutputPath.checkFilled("/x.mp4", in: "/srv/rec") == .success("x.mp4"))
        #expect(OutputPath.checkFilled("./", in: "/srv/rec") == .failure(.escapesOutputDirectory("./")))
    }

    @Test func namesAndPathsOverTheSystemsLimitsAreRefused() {
        let long = String(repeating: "n", count: 256)
        #expect(OutputPath.confine("a/\(long).mp4", to: "/srv/rec") == .failure(.componentTooLong(long + ".mp4")))
        #expect(OutputPath.confine(String(repeating: "n", count: 255), to: "/srv/rec") == .success(String(repeating: "n", count: 255)))
        let deep = Array(repeating: String(repeating: "d", count: 200), count: 30).joined(separator: "/")
        #expect(OutputPath.confine(deep, to: "/srv/rec") == .failure(.tooLong(9 + deep.utf8.count)))
        // Bytes, not characters: 128 two-byte characters are 256 bytes.
        let wide = String(repeating: "é", count: 128)
        #expect(OutputPath.checkFilled(wide, in: "/srv/rec") == .failure(.componentTooLong(wide)))
    }

    @Test(arguments: ["a\u{0}b.mp4", "a\u{1}b", "a\u{7F}", "a\nb"])
    func controlCharactersAreRefusedAfterFillingToo(path: String) {
        #expect(OutputPath.checkFilled(path, in: "/srv/rec") == .failure(.invalidCharacter(path)))
        #expect(OutputPath.confine(path, to: "/srv/rec") == .failure(.invalidCharacter(path)))
    }

    /// "/" followed by a combining mark is one Character to Swift but a separator to the kernel.
    @Test(arguments: ["../\u{301}escaped.mp4", "a/../../\u{301}x", "/\u{301}x.mp4", "/\u{301}dir/sub/x.mp4", "..\u{0}"])
    func separatorsHiddenInCharactersAreStillSeparators(path: String) throws {
        if PathText.isAbsolute(path) {
            // Rooted at the output directory: the "/" byte is read as the separator it is, and
            // what is left starts with the combining mark, relative.
            let relative = try OutputPath.confine(path, to: "/srv/rec").get()
            #expect(!PathText.isAbsolute(relative) && relative.unicodeScalars.first == "\u{301}")
            // Once filled in, a leading "/" is only the start of a relative path.
            #expect(try !PathText.isAbsolute(OutputPath.checkFilled(path, in: "/srv/rec").get()))
        } else {
            #expect(throws: OutputPath.Problem.self) { try OutputPath.confine(path, to: "/srv/rec").get() }
            #expect(throws: OutputPath.Problem.self) { try OutputPath.checkFilled(path, in: "/srv/rec").get() }
        }
    }

    @Test func namesThatJoinTheSlashInOneCharacterKeepTheirDirectories() {
        // U+0600 is a "prepend" character: with the "/" after it, one Character.
        #expect(OutputPath.checkFilled("a\u{600}/b.mp4", in: "/srv/rec") == .success("a\u{600}/b.mp4"))
        #expect(OutputPath.confine("/srv/rec/\u{301}a/x.mp4", to: "/srv/rec") == .success("\u{301}a/x.mp4"))
    }
}
