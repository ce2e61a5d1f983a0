import Foundation
import Git
import TestSupport

/// A temporary folder holding real git repositories built with the git command line.
///
/// Git runs with no global or system config and fixed identities, and each commit gets the next
/// second of a fixed clock, so tests do not depend on the machine and commit order is well defined.
/// The folder is deleted when the fixture goes away.
final class GitFixture {
    /// The temporary folder (symbolic links resolved).
    let root: String
    /// The main repository's work tree, `<root>/repo`, created by `init`.
    let repo: String
    private var clock = 1_700_000_000

    /// Creates the folder and, unless `initialize` is false, an empty repository on branch `main` in `repo`.
    init(initialize: Bool = true) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("git-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        root = base.resolvingSymlinksInPath().path
        repo = root + "/repo"
        if initialize {
            try git("init", "-q", repo, in: root)
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Runs git with `arguments` in `folder` (default: the main repository) and returns its standard output.
    @discardableResult
    func git(_ arguments: String..., in folder: String? = nil, input: String? = nil) throws -> String {
        try run(arguments, in: folder ?? repo, input: input)
    }

    /// Writes `contents` to `path` relative to `folder` (default: the main repository), making folders.
    func write(_ path: String, _ contents: String, in folder: String? = nil) throws {
        let url = URL(fileURLWithPath: (folder ?? repo) + "/" + path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    /// Stages everything and commits it with `message`; returns the new commit's id.
    @discardableResult
    func commit(_ message: String, in folder: String? = nil) throws -> ObjectID {
        try git("add", "-A", in: folder)
        try git("commit", "-q", "--allow-empty", "-m", message, in: folder)
        return try revParse("HEAD", in: folder)
    }

    /// The commit `revision` names, per the git command line.
    func revParse(_ revision: String, in folder: String? = nil) throws -> ObjectID {
        let hex = try git("rev-parse", revision + "^{commit}", in: folder).trimmingCharacters(
            in: .whitespacesAndNewlines)
        guard let id = ObjectID(hex: hex) else { throw FixtureError("git rev-parse \(revision) printed \(hex)") }
        return id
    }

    /// Runs a program (not git) with `arguments`, for `chown` and the like.
    func runProgram(_ path: String, _ arguments: [String]) throws {
        let result = try TestProject.runProgram(path, arguments)
        guard result.exitCode == 0 else {
            throw FixtureError(
                "\(path) \(arguments.joined(separator: " ")) exited with \(result.exitCode): \(result.stderr)")
        }
    }

    /// git through the test support's one git runner, with this fixture's identities and a clock that ticks one
    /// second per command, so commit dates are distinct and ordered.
    private func run(_ arguments: [String], in folder: String, input: String?) throws -> String {
        clock += 1
        return try TestProject.runGit(
            arguments, in: folder,
            environment: [
                "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": root,
                "GIT_AUTHOR_NAME": "Ada Author", "GIT_AUTHOR_EMAIL": "ada@example.com",
                "GIT_COMMITTER_NAME": "Cy Committer", "GIT_COMMITTER_EMAIL": "cy@example.com",
                "GIT_AUTHOR_DATE": "\(clock) +0000", "GIT_COMMITTER_DATE": "\(clock) +0000",
            ], stdin: input)
    }
}

/// A fixture step failed; the message says which command and why.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
