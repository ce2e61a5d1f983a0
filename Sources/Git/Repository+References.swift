internal import CLibGit2

// Revisions and references: names to commits, branches and their upstreams.
extension Repository {
    /// The commit a revision names, as `git rev-parse REV^{commit}` would find it.
    ///
    /// Accepts branches (`main`), remote-tracking branches (`origin/main`), tags (annotated tags are
    /// peeled), full and unique short commit ids, and expressions such as `HEAD~2` or `main^2`.
    ///
    /// - Throws: `.notFound` naming the revision when nothing matches; `.ambiguous` for a short id or
    ///   name that matches several objects; `.invalidSpec` for a malformed expression or one that names
    ///   a tree or blob; `.unbornBranch` for `HEAD` before the first commit.
    public func resolve(_ revision: String) throws(GitError) -> ObjectID {
        guard !revision.isEmpty else {
            throw GitError(
                code: .invalidSpec, message: "an empty revision names no commit; give a branch, tag or commit id")
        }
        var object: OpaquePointer?
        do throws(GitError) {
            try LibGit2.call(
                "git_revparse_single", "cannot resolve revision '\(revision)' in the repository at \(location)"
            ) {
                git_revparse_single(&object, handle, revision)
            }
        } catch {
            throw resolveError(revision, error)
        }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try LibGit2.call(
            "git_object_peel", "revision '\(revision)' does not name a commit in the repository at \(location)"
        ) {
            git_object_peel(&commit, object, GIT_OBJECT_COMMIT)
        }
        defer { git_object_free(commit) }
        return ObjectID(git_object_id(commit))
    }

    /// True when the object database holds a commit with this id (for example a commit recorded in a
    /// ledger, which may come from a clone or a branch this repository never fetched).
    public func contains(_ commit: ObjectID) -> Bool {
        var oid = commit.oid
        var object: OpaquePointer?
        git_error_clear()
        guard git_object_lookup(&object, handle, &oid, GIT_OBJECT_COMMIT) == 0 else { return false }
        git_object_free(object)
        return true
    }

    /// The facts of one commit: summary, author, date, parents.
    ///
    /// - Throws: `.notFound` when the commit is not in the repository.
    public func commit(_ id: ObjectID) throws(GitError) -> CommitInfo {
        try withCommit(id) { commit in commitInfo(commit) }
    }

    /// True when `name` names a reference, as git would expand it: `main`, `origin/main`, `origin/HEAD`,
    /// `v1.0`, or a full name such as `refs/heads/main`. Never throws: any failure reads as false.
    public func referenceExists(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        var reference: OpaquePointer?
        git_error_clear()
        guard git_reference_dwim(&reference, handle, name) == 0 else { return false }
        git_reference_free(reference)
        return true
    }

    /// The branch `origin/HEAD` points to, as a short name (`origin/main`); `origin/HEAD` itself when it is not a
    /// symbolic reference.
    public func defaultBranchOfOrigin() throws(GitError) -> String {
        var reference: OpaquePointer?
        git_error_clear()
        guard git_reference_lookup(&reference, handle, Self.remoteBranchPrefix + "origin/HEAD") == 0 else {
            return "origin/HEAD"
        }
        defer { git_reference_free(reference) }
        if git_reference_type(reference) == GIT_REFERENCE_SYMBOLIC,
            let target = LibGit2.string(git_reference_symbolic_target(reference))
        {
            return Self.shortReferenceName(target)
        }
        return "origin/HEAD"
    }

    /// `refs/heads/x` as `x`, `refs/remotes/origin/x` as `origin/x`, `refs/tags/v1` as `v1`; others unchanged.
    static func shortReferenceName(_ name: String) -> String {
        for prefix in [branchPrefix, remoteBranchPrefix, "refs/tags/"] where name.hasPrefix(prefix) {
            return String(name.dropFirst(prefix.count))
        }
        return name
    }

    /// A resolve failure explained for the user.
    private func resolveError(_ revision: String, _ error: GitError) -> GitError {
        var explained = error
        switch error.code {
        case .notFound:
            // `git fetch origin main` fetches origin/main; `git fetch origin origin/main` fetches nothing.
            let remoteName = revision.hasPrefix("origin/") ? String(revision.dropFirst("origin/".count)) : revision
            let hint =
                isShallow
                ? "this is a shallow clone: fetch it (`git fetch origin \(remoteName)`) or the full history (`git fetch --unshallow`; in GitHub Actions, `fetch-depth: 0`)"
                : revision.hasPrefix("origin/")
                    ? "fetch it (`git fetch origin \(remoteName)`), or check the name"
                    : "check the name, or fetch it (`git fetch origin`)"
            explained.message = "revision '\(revision)' not found in the repository at \(location); \(hint)"
        case .ambiguous:
            explained.message =
                "revision '\(revision)' is ambiguous in the repository at \(location): "
                + "it matches several objects; give more digits of the commit id or a full name such as refs/heads/\(revision)"
        case .unbornBranch:
            explained.message =
                "revision '\(revision)' names a branch with no commits yet in the repository at \(location); commit first"
        case .invalidSpec:
            explained.message = "revision '\(revision)' is not a valid revision expression (repository at \(location))"
        default:
            break
        }
        return explained
    }
}
