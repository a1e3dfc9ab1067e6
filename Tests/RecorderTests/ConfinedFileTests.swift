import Foundation
import Support
import Testing

/// Files are made under the output directory without following a symbolic link below it.
@Suite struct ConfinedFileTests {
    /// A fresh output directory and, beside it, a directory a link could point to.
    func directories() throws -> (root: String, outside: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("confined-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base + "/out", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/elsewhere", withIntermediateDirectories: true)
        return (base + "/out", base + "/elsewhere")
    }

    @Test func directoriesOnTheWayAreMadeAndTheFileWritten() throws {
        let (root, _) = try directories()
        let file = try ConfinedFile.create(ConfinedPath(root: root, relative: "a/b/c.txt"))
        try file.append(Array("hello".utf8))
        #expect(try String(contentsOfFile: root + "/a/b/c.txt", encoding: .utf8) == "hello")
        #expect(file.size == 5 && file.path == root + "/a/b/c.txt")
    }

    @Test func aLinkedDirectoryInsideIsNotFollowedOut() throws {
        let (root, outside) = try directories()
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: outside)
        #expect(throws: ConfinedFile.Failure.self) { try ConfinedFile.create(ConfinedPath(root: root, relative: "link/x.mp4")) }
        let failure = try #require(throws: ConfinedFile.Failure.self) {
            try ConfinedFile.create(ConfinedPath(root: root, relative: "link/deeper/x.mp4"))
        }
        #expect(failure.description.contains("\(root)/link") && failure.description.contains("symbolic link"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    }

    @Test func aLinkInPlaceOfTheFileIsNotFollowed() throws {
        let (root, outside) = try directories()
        _ = FileManager.default.createFile(atPath: outside + "/victim", contents: Data("keep".utf8))
        try FileManager.default.createSymbolicLink(atPath: root + "/x.mp4", withDestinationPath: outside + "/victim")
        #expect(throws: ConfinedFile.Failure.self) { try ConfinedFile.create(ConfinedPath(root: root, relative: "x.mp4")) }
        #expect(try String(contentsOfFile: outside + "/victim", encoding: .utf8) == "keep")
    }

    @Test func aSiblingReplacesTheFileWhole() throws {
        let (root, _) = try directories()
        let file = try ConfinedFile.create(ConfinedPath(root: root, relative: "d/x.json"))
        try file.append(Array("old".utf8))
        let part = try file.sibling(named: "x.json.part")
        try part.append(Array("new".utf8))
        try part.rename(over: file)
        #expect(try String(contentsOfFile: root + "/d/x.json", encoding: .utf8) == "new")
        #expect(!FileManager.default.fileExists(atPath: root + "/d/x.json.part"))
    }

    @Test func pathsThatClimbAreRefusedEvenHere() throws {
        let (root, _) = try directories()
        #expect(throws: ConfinedFile.Failure.self) { try ConfinedFile.create(ConfinedPath(root: root, relative: "../x.mp4")) }
        #expect(throws: ConfinedFile.Failure.self) { try ConfinedFile.create(ConfinedPath(root: root, relative: "")) }
    }

    @Test func aSeparatorInsideACharacterIsStillASeparator() throws {
        let (root, outside) = try directories()
        #expect(throws: ConfinedFile.Failure.self) {
            try ConfinedFile.create(ConfinedPath(root: root, relative: "../\u{301}escaped.mp4"))
        }
        #expect(!FileManager.default.fileExists(atPath: PathText.directory(of: root) + "/\u{301}escaped.mp4"))
        // A directory whose name ends in a character that joins the "/" is made, and used.
        let file = try ConfinedFile.create(ConfinedPath(root: root, relative: "a\u{600}/x.mp4"))
        #expect(file.path == root + "/a\u{600}/x.mp4")
        #expect(FileManager.default.fileExists(atPath: root + "/a\u{600}/x.mp4"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    }
}
