import Foundation
import Git
import Testing

/// Builds a few hundred commits with `git fast-import` and checks that history walks stay between
/// the merge base and the tip. Not timed: it guards the range logic at a realistic size.
@Suite struct ScaleTests {
    private struct Change {
        var path: String
        var contents: String
    }

    /// A fast-import stream under construction; commits get marks 1, 2, 3… in order.
    private struct Stream {
        var text = ""
        var marks = 0
        var clock = 1_700_000_000

        mutating func commit(_ branch: String, from parent: Int?, message: String, changes: [Change]) -> Int {
            marks += 1
            clock += 60
            text += "commit refs/heads/\(branch)\nmark :\(marks)\n"
            text += "author Ada Author <ada@example.com> \(clock) +0000\n"
            text += "committer Cy Committer <cy@example.com> \(clock) +0000\n"
            text += data(message)
            if let parent { text += "from :\(parent)\n" }
            for change in changes {
                text += "M 100644 inline \(change.path)\n" + data(change.contents)
            }
            text += "\n"
            return marks
        }

        private func data(_ contents: String) -> String {
            "data \(contents.utf8.count)\n\(contents)\n"
        }
    }

    @Test func commitsTouchingWalksOnlyFromTheMergeBaseToTheTip() throws {
        let fixture = try GitFixture()
        var stream = Stream()
        var mainMarks: [Int: Int] = [:]  // main commit number → mark
        var parent: Int?
        for number in 1...300 {
            var changes = [Change(path: "src/file\(number % 10).txt", contents: "version \(number)\n")]
            if number % 10 == 0 {
                changes.append(Change(path: "migrations/r\(number).sql", contents: "-- main \(number)\n"))
            }
            parent = stream.commit("main", from: parent, message: "main \(number)", changes: changes)
            mainMarks[number] = parent
            if number == 250 {
                // The feature branch forks here; its commits are dated between main 250 and main 251.
                var featureParent = parent
                for number in 1...40 {
                    var changes: [Change] = []
                    if number % 4 == 0 {
                        changes.append(Change(path: "migrations/f\(number).sql", contents: "-- feature \(number)\n"))
                    } else if number % 4 == 1, number > 1 {
                        changes.append(
                            Change(
                                path: "migrations/f\(number - 1).sql", contents: "-- feature \(number - 1), edited\n"))
                    } else {
                        changes.append(Change(path: "src/feature.txt", contents: "feature \(number)\n"))
                    }
                    featureParent = stream.commit(
                        "feature", from: featureParent, message: "feature \(number)", changes: changes)
                }
            }
        }
        let marksFile = fixture.root + "/marks"
        try fixture.git("fast-import", "--quiet", "--export-marks=" + marksFile, input: stream.text)
        let marks = try Self.readMarks(marksFile)
        let repository = try Repository.discover(from: fixture.repo)
        let mainTip = try repository.resolve("main")
        let featureTip = try repository.resolve("feature")
        let forkMark = try #require(mainMarks[250])
        let forkPoint = try #require(marks[forkMark])

        let base = try #require(try repository.mergeBase(featureTip, mainTip))
        #expect(base == forkPoint)

        let touching = try repository.commitsTouching(path: "migrations", from: featureTip, hiding: base)
        let expected = (1...40).reversed().filter { $0 % 4 == 0 || ($0 % 4 == 1 && $0 > 1) }.map { "feature \($0)" }
        #expect(touching.map(\.summary) == expected)

        let oneFile = try repository.commitsTouching(path: "migrations/f20.sql", from: featureTip, hiding: base)
        #expect(oneFile.map(\.summary) == ["feature 21", "feature 20"])
        #expect(try repository.commitAdding(path: "migrations/f20.sql", from: featureTip)?.summary == "feature 20")
        #expect(try repository.commitAdding(path: "migrations/r10.sql", from: featureTip)?.summary == "main 10")
        #expect(try repository.files(in: featureTip, directory: "migrations").count == 25 + 10)

        let changes = try repository.diff(from: base, to: featureTip, directory: "migrations", detectRenames: true)
        #expect(changes.count == 10)
        #expect(changes.allSatisfy { $0.kind == .added })

        let mainSide = try repository.commitsTouching(path: "migrations", from: mainTip, hiding: base)
        #expect(mainSide.map(\.summary) == (260...300).reversed().filter { $0 % 10 == 0 }.map { "main \($0)" })
    }

    private static func readMarks(_ path: String) throws -> [Int: ObjectID] {
        var marks: [Int: ObjectID] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let mark = Int(parts[0].dropFirst()), let id = ObjectID(hex: String(parts[1]))
            else {
                throw FixtureError("unexpected line in \(path): \(line)")
            }
            marks[mark] = id
        }
        return marks
    }
}
