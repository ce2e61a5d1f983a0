internal import CLibGit2
import Foundation

/// A git repository opened through libgit2: commits, trees, diffs, merge bases, history, status.
///
/// Reads only: nothing here writes to the repository, and no `git` process is ever started.
/// A repository is used from one thread at a time (it is not `Sendable`); open one per task.
/// Paths given to and returned by its methods are repository-relative with `/` separators
/// (`migrations/x.sql`), unless a method says otherwise.
public final class Repository {
    /// The libgit2 repository; owned by this object and freed in `deinit`. Never leaves the module.
    let handle: OpaquePointer

    /// The work tree's absolute path, without a trailing slash; nil for a bare repository.
    public let workdir: String?

    /// The absolute path of the git directory (usually `<workdir>/.git`), without a trailing slash.
    public let gitDirectory: String

    private init(handle: OpaquePointer) {
        self.handle = handle
        gitDirectory = Self.withoutTrailingSlash(LibGit2.string(git_repository_path(handle)) ?? "")
        workdir = LibGit2.string(git_repository_workdir(handle)).map(Self.withoutTrailingSlash)
    }

    deinit {
        git_repository_free(handle)
    }

    /// Opens the repository containing `path`, looking upward from it like git does.
    ///
    /// `path` may be relative to the current directory. The search stops at a file-system boundary,
    /// as git's does by default. Environment variables such as `GIT_DIR` are not consulted.
    ///
    /// Ownership: like git, a repository owned by another user is refused unless the user's global or
    /// system git config lists it in `safe.directory` (libgit2 1.5.1 reads the same key; note that it
    /// does not understand `safe.directory = *`, so the exact path must be listed). libgit2 1.5.1 reports
    /// this case as "config value 'safe.directory' was not found"; this method checks the owner of the
    /// work tree and git directory itself and throws `.unsafeOwnership` with the command that fixes it.
    ///
    /// - Throws: `.notARepository` when no repository contains `path`; `.unsafeOwnership` as above.
    public static func discover(from path: String) throws(GitError) -> Repository {
        try LibGit2.initialize()
        let start = absolutePath(path)
        guard FileManager.default.fileExists(atPath: start) else {
            throw GitError(
                code: .notARepository,
                message: "cannot look for a git repository at \(start): there is no such file or folder")
        }
        var pointer: OpaquePointer?
        git_error_clear()
        let result = git_repository_open_ext(&pointer, start, 0, nil)
        if result >= 0, let pointer {
            return Repository(handle: pointer)
        }
        let failure = LibGit2.lastError(
            result, function: "git_repository_open_ext",
            context: "cannot open the git repository at or above \(start)")
        if let unsafePath = foreignOwnedRepository(containing: start) {
            throw unsafeOwnership(unsafePath, libgitCode: result, libgitClass: failure.libgitClass)
        }
        if result == GIT_EOWNER.rawValue {
            throw unsafeOwnership(start, libgitCode: result, libgitClass: failure.libgitClass)
        }
        if result == GIT_ENOTFOUND.rawValue {
            throw GitError(
                code: .notARepository,
                message: "\(start) is not in a git repository (no .git found there or in any folder above it); "
                    + "run this inside a git work tree, or create one with `git init`",
                libgitCode: result,
                libgitClass: failure.libgitClass)
        }
        throw failure
    }

    /// True when the repository is a shallow clone (`git clone --depth`, CI checkouts): its oldest
    /// commits' parents are missing, so merge bases and history walks may fail with `.shallowHistory`.
    public var isShallow: Bool {
        git_repository_is_shallow(handle) == 1
    }

    /// The commit HEAD points to and the branch it is on.
    ///
    /// `commit` is nil on an unborn branch (a new repository before its first commit); `branch` is the
    /// short branch name (`main`), or nil when HEAD is detached.
    public func head() throws(GitError) -> (commit: ObjectID?, branch: String?) {
        var reference: OpaquePointer?
        try LibGit2.call("git_reference_lookup", "cannot read HEAD in the repository at \(location)") {
            git_reference_lookup(&reference, handle, "HEAD")
        }
        defer { git_reference_free(reference) }
        var branch: String?
        if git_reference_type(reference) == GIT_REFERENCE_SYMBOLIC,
            let target = LibGit2.string(git_reference_symbolic_target(reference)),
            target.hasPrefix(Self.branchPrefix)
        {
            branch = String(target.dropFirst(Self.branchPrefix.count))
        }
        var oid = git_oid()
        do throws(GitError) {
            try LibGit2.call("git_reference_name_to_id", "cannot resolve HEAD in the repository at \(location)") {
                git_reference_name_to_id(&oid, handle, "HEAD")
            }
        } catch  where error.code == .notFound || error.code == .unbornBranch {
            return (nil, branch)
        }
        return (ObjectID(oid), branch)
    }

    /// The repository-relative path of `absolutePath`, or nil when it is outside the work tree.
    ///
    /// Symbolic links are resolved on both sides, so `/tmp/x` and `/private/tmp/x` match. The work tree
    /// itself gives "". Use it to turn a project folder into the directory argument of other methods.
    public func relativePath(of absolutePath: String) -> String? {
        guard let workdir else { return nil }
        let root = Self.resolvingSymlinks(workdir)
        let path = Self.resolvingSymlinks(Self.absolutePath(absolutePath))
        if path == root { return "" }
        let prefix = root == "/" ? "/" : root + "/"
        guard path.hasPrefix(prefix) else { return nil }
        return String(path.dropFirst(prefix.count))
    }

    // MARK: - Helpers shared by the other files

    /// The repository's place, for messages: its work tree, or its git directory when bare.
    var location: String { workdir ?? gitDirectory }

    static let branchPrefix = "refs/heads/"
    static let remoteBranchPrefix = "refs/remotes/"

    /// The error for a repository whose owner is not the current user.
    private static func unsafeOwnership(_ path: String, libgitCode: Int32, libgitClass: Int32?) -> GitError {
        GitError(
            code: .unsafeOwnership,
            message: "the repository at \(path) is owned by another user; "
                + "run `git config --global --add safe.directory \(path)`",
            libgitCode: libgitCode,
            libgitClass: libgitClass)
    }

    /// The path git wants in `safe.directory` (the work tree, or the git directory when bare) when the
    /// repository containing `start` is owned by another user; nil when it is ours or there is none.
    private static func foreignOwnedRepository(containing start: String) -> String? {
        var gitDirectory: String?
        var buffer = git_buf()
        git_error_clear()
        if git_repository_discover(&buffer, start, 0, nil) == 0, let text = buffer.ptr {
            gitDirectory = withoutTrailingSlash(String(cString: text))
        }
        git_buf_dispose(&buffer)
        // The work tree is the nearest folder at or above `start` that holds a `.git` file or folder.
        var workTree: String?
        var folder = start
        while true {
            if FileManager.default.fileExists(atPath: folder + (folder == "/" ? ".git" : "/.git")) {
                workTree = folder
                break
            }
            let parent = (folder as NSString).deletingLastPathComponent
            if parent == folder || parent.isEmpty { break }
            folder = parent
        }
        if let gitDirectory, isBare(gitDirectory) { workTree = nil }
        let checked = [workTree, workTree.map { $0 + "/.git" }, gitDirectory].compactMap { $0 }
        guard checked.contains(where: { !isOwnedByCurrentUser($0) }) else { return nil }
        return workTree ?? gitDirectory
    }

    /// Whether a git directory path is a bare repository's (not `<work tree>/.git` nor inside one).
    private static func isBare(_ gitDirectory: String) -> Bool {
        !gitDirectory.hasSuffix("/.git") && !gitDirectory.contains("/.git/")
    }

    private static func isOwnedByCurrentUser(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return true }
        return info.st_uid == geteuid()
    }

    static func absolutePath(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let standardized = (joined as NSString).standardizingPath
        return standardized.isEmpty ? "/" : standardized
    }

    private static func resolvingSymlinks(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func withoutTrailingSlash(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }
}

/// A repository must not cross threads: libgit2 repository handles are not safe for concurrent use.
@available(*, unavailable, message: "a Repository is used from one thread at a time; open one per task")
extension Repository: Sendable {}
