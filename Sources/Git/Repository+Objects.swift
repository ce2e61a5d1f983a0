internal import CLibGit2
import Foundation

/// A tree entry reduced to what comparisons need: the object it names and its file mode.
///
/// Two commits whose entries for a folder are equal have identical contents below it, so walks
/// compare entries level by level and never open a subtree that did not change.
struct TreeEntryID: Equatable {
    var id: ObjectID
    var mode: UInt32

    var isTree: Bool { mode == GIT_FILEMODE_TREE.rawValue }

    /// The root tree of a commit.
    init(rootOf commit: OpaquePointer) {
        id = ObjectID(git_commit_tree_id(commit))
        mode = GIT_FILEMODE_TREE.rawValue
    }

    init(id: ObjectID, mode: UInt32) {
        self.id = id
        self.mode = mode
    }
}

// Internal helpers over libgit2 objects, shared by the public methods in the other files.
extension Repository {
    /// Splits a repository-relative path into its components, ignoring empty and `.` components.
    static func components(of path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    /// Runs `body` with the commit `id`, freed afterwards.
    func withCommit<T>(_ id: ObjectID, _ body: (OpaquePointer) throws(GitError) -> T) throws(GitError) -> T {
        var oid = id.oid
        var commit: OpaquePointer?
        do throws(GitError) {
            try LibGit2.call("git_commit_lookup", "cannot read commit \(id.short) in the repository at \(location)") {
                git_commit_lookup(&commit, handle, &oid)
            }
        } catch  where error.code == .notFound {
            throw missingObject("commit \(id.hex)", error)
        }
        defer { git_commit_free(commit) }
        return try body(commit!)
    }

    /// Runs `body` with the tree `id`, freed afterwards.
    func withTree<T>(_ id: ObjectID, _ body: (OpaquePointer) throws(GitError) -> T) throws(GitError) -> T {
        var oid = id.oid
        var tree: OpaquePointer?
        try LibGit2.call("git_tree_lookup", "cannot read tree \(id.short) in the repository at \(location)") {
            git_tree_lookup(&tree, handle, &oid)
        }
        defer { git_tree_free(tree) }
        return try body(tree!)
    }

    /// The facts of a commit that is open in libgit2.
    func commitInfo(_ commit: OpaquePointer) -> CommitInfo {
        let author = git_commit_author(commit)?.pointee
        let parentCount = git_commit_parentcount(commit)
        return CommitInfo(
            id: ObjectID(git_commit_id(commit)),
            summary: LibGit2.string(git_commit_summary(commit)) ?? "",
            authorName: LibGit2.string(author?.name) ?? "",
            authorEmail: LibGit2.string(author?.email) ?? "",
            time: Date(timeIntervalSince1970: TimeInterval(author?.when.time ?? 0)),
            parents: (0..<parentCount).compactMap { index in git_commit_parent_id(commit, index).map(ObjectID.init) })
    }

    /// The parents' ids of a commit that is open in libgit2, first parent first.
    func parentIDs(_ commit: OpaquePointer) -> [ObjectID] {
        (0..<git_commit_parentcount(commit)).compactMap { index in
            git_commit_parent_id(commit, index).map(ObjectID.init)
        }
    }

    /// The entry named `name` in the tree `entry` names; nil when `entry` is nil, not a tree, or has no such name.
    func child(of entry: TreeEntryID?, named name: String) throws(GitError) -> TreeEntryID? {
        guard let entry, entry.isTree else { return nil }
        return try withTree(entry.id) { tree throws(GitError) in
            guard let found = git_tree_entry_byname(tree, name) else { return nil }
            return TreeEntryID(id: ObjectID(git_tree_entry_id(found)), mode: git_tree_entry_filemode(found).rawValue)
        }
    }

    /// The entry at `components` below `root`; nil when the path does not exist.
    func entry(at components: [String], under root: TreeEntryID) throws(GitError) -> TreeEntryID? {
        var current: TreeEntryID? = root
        for name in components {
            current = try child(of: current, named: name)
            if current == nil { return nil }
        }
        return current
    }

    /// Whether `components` names the same thing (same object and mode, or absent in both) below two roots.
    ///
    /// Compares level by level and stops at the first equal folder, so an unchanged `migrations/`
    /// costs one entry lookup, whatever it holds.
    func sameEntry(at components: [String], _ left: TreeEntryID, _ right: TreeEntryID) throws(GitError) -> Bool {
        var left: TreeEntryID? = left
        var right: TreeEntryID? = right
        for name in components {
            if left == right { return true }
            if left == nil || right == nil { return false }
            left = try child(of: left, named: name)
            right = try child(of: right, named: name)
        }
        return left == right
    }

    /// The id of the tree at `directory` in commit `commit`; nil when there is no folder there.
    func treeID(of commit: ObjectID, directory: String) throws(GitError) -> ObjectID? {
        let root = try withCommit(commit) { commit in TreeEntryID(rootOf: commit) }
        guard let found = try entry(at: Self.components(of: directory), under: root), found.isTree else { return nil }
        return found.id
    }

    /// Runs `body`; in a shallow clone, turns a missing-object failure into `.shallowHistory`.
    func failingShallow<T>(_ purpose: String, _ body: () throws(GitError) -> T) throws(GitError) -> T {
        do throws(GitError) {
            return try body()
        } catch {
            if isShallow,
                error.code == .notFound || error.code == .shallowHistory
                    || error.libgitClass == LibGit2.objectDatabaseErrorClass
            {
                throw shallowHistory(purpose, libgitCode: error.libgitCode, libgitClass: error.libgitClass)
            }
            throw error
        }
    }

    /// The error for history a shallow clone does not have, with what to fetch.
    func shallowHistory(_ purpose: String, libgitCode: Int32 = 0, libgitClass: Int32? = nil) -> GitError {
        GitError(
            code: .shallowHistory,
            message: "the repository at \(location) is a shallow clone and lacks the history needed to \(purpose); "
                + "fetch the full history with `git fetch --unshallow` "
                + "(in GitHub Actions, set `fetch-depth: 0` on actions/checkout) and run again",
            libgitCode: libgitCode,
            libgitClass: libgitClass)
    }

    /// The error for an object that is not in the repository.
    func missingObject(_ what: String, _ error: GitError? = nil) -> GitError {
        let hint =
            isShallow
            ? "this is a shallow clone: fetch the full history with `git fetch --unshallow`"
            : "fetch it (`git fetch`) or check the id"
        return GitError(
            code: .notFound,
            message: "\(what) is not in the repository at \(location); \(hint)",
            libgitCode: error?.libgitCode ?? 0,
            libgitClass: error?.libgitClass)
    }
}
