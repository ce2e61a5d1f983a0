internal import CLibGit2

// History: merge bases, reachability, and the commits that touched or added a path.
extension Repository {
    /// The best common ancestor of two commits (`git merge-base a b`), or nil when they share no history.
    ///
    /// - Throws: `.shallowHistory` in a shallow clone whose history stops before the common ancestor
    ///   (libgit2 1.5.1 cannot walk past a shallow boundary); the message says what to fetch.
    ///   `.notFound` when either commit is not in the repository.
    public func mergeBase(_ a: ObjectID, _ b: ObjectID) throws(GitError) -> ObjectID? {
        for id in [a, b] where !contains(id) {
            throw missingObject("commit \(id.hex)")
        }
        var left = a.oid
        var right = b.oid
        var base = git_oid()
        return try failingShallow("find the merge base of \(a.short) and \(b.short)") {
            () throws(GitError) -> ObjectID? in
            do throws(GitError) {
                try LibGit2.call(
                    "git_merge_base",
                    "cannot find the merge base of \(a.short) and \(b.short) in the repository at \(location)"
                ) {
                    git_merge_base(&base, handle, &left, &right)
                }
            } catch  where error.code == .notFound && error.libgitClass == LibGit2.mergeErrorClass {
                // "No merge base": unrelated histories, or, in a shallow clone, history cut too short.
                if isShallow { throw shallowHistory("find the merge base of \(a.short) and \(b.short)") }
                return nil
            }
            return ObjectID(base)
        }
    }

    /// True when `commit` is `tip` or one of its ancestors.
    ///
    /// False when `commit` is not in the repository at all (see `contains(_:)` to tell the two apart).
    /// Cost: a merge-base walk from `tip` back to `commit` (about 0.1 s for 20,000 commits).
    /// - Throws: `.shallowHistory` when a shallow clone's history is too short to decide.
    public func isReachable(_ commit: ObjectID, from tip: ObjectID) throws(GitError) -> Bool {
        if commit == tip { return true }
        guard contains(commit) else { return false }
        var descendant = tip.oid
        var ancestor = commit.oid
        return try failingShallow("tell whether \(commit.short) is an ancestor of \(tip.short)") {
            () throws(GitError) -> Bool in
            let result = try LibGit2.call(
                "git_graph_descendant_of",
                "cannot tell whether \(commit.short) is an ancestor of \(tip.short) in the repository at \(location)"
            ) {
                git_graph_descendant_of(handle, &descendant, &ancestor)
            }
            return result == 1
        }
    }

    /// The local branches (`main`) and remote-tracking branches (`origin/main`) whose tip is `commit`
    /// or a descendant of it: local branches first, each group sorted by name.
    ///
    /// Symbolic references such as `origin/HEAD` are left out. Empty when `commit` is not in the repository.
    /// Cost: one `isReachable(_:from:)` per branch.
    public func branchesContaining(_ commit: ObjectID) throws(GitError) -> [String] {
        guard contains(commit) else { return [] }
        var iterator: OpaquePointer?
        try LibGit2.call("git_branch_iterator_new", "cannot list the branches of the repository at \(location)") {
            git_branch_iterator_new(&iterator, handle, GIT_BRANCH_ALL)
        }
        defer { git_branch_iterator_free(iterator) }
        var tips: [(name: String, isLocal: Bool, tip: ObjectID)] = []
        while true {
            var reference: OpaquePointer?
            var type = GIT_BRANCH_LOCAL
            let result = try LibGit2.call(
                "git_branch_next", "cannot list the branches of the repository at \(location)"
            ) {
                let result = git_branch_next(&reference, &type, iterator)
                return result == GIT_ITEROVER.rawValue ? 1 : result
            }
            if result == 1 { break }
            defer { git_reference_free(reference) }
            guard git_reference_type(reference) == GIT_REFERENCE_DIRECT,
                let target = git_reference_target(reference),
                let name = LibGit2.string(git_reference_name(reference))
            else { continue }
            tips.append((Self.shortReferenceName(name), type == GIT_BRANCH_LOCAL, ObjectID(target)))
        }
        var names: [(name: String, isLocal: Bool)] = []
        for branch in tips {
            if try isReachable(commit, from: branch.tip) { names.append((branch.name, branch.isLocal)) }
        }
        return names.sorted { ($0.isLocal ? 0 : 1, $0.name) < ($1.isLocal ? 0 : 1, $1.name) }.map(\.name)
    }

    /// The commits reachable from `tip` but not from `hiding` that changed `path`, newest first.
    ///
    /// `path` is a file (`migrations/x.sql`) or a folder (`migrations`), repository-relative. The commits
    /// are those of `git rev-list --topo-order --date-order hiding..tip` (children before parents, then
    /// newest first; all of `tip`'s history when `hiding` is nil); at most `limit` are returned. Which
    /// commits count ("changed" means the object id or mode of the path's entry differs, including
    /// appearing or disappearing):
    /// - a root commit, when the path exists in it;
    /// - an ordinary commit, when the path differs from its parent;
    /// - a merge, only when the path differs from every parent, i.e. the merge made a change of its own
    ///   (a conflict resolution). A merge that just brings in a side branch's change to a file is not
    ///   listed; the side branch's commits are. For a folder changed on both sides, the merge's folder
    ///   differs from each parent, so the merge is listed too.
    ///
    /// All parents of merges are followed, like `git log --full-history`: a side branch's change that a
    /// merge later discarded is still listed, whereas plain `git log -- path` would hide it.
    ///
    /// Cost: one commit and root-tree read per commit in the range (plus a few just beyond `hiding`);
    /// folders whose tree id did not change are never opened. With `hiding` nil the whole history is
    /// walked before the first match. Works in a shallow clone as long as the range lies within the
    /// fetched history (libgit2's own revwalk does not).
    /// - Throws: `.shallowHistory` when the range runs past a shallow clone's boundary; `.notFound`
    ///   when `tip` or `hiding` is not in the repository.
    public func commitsTouching(
        path: String, from tip: ObjectID, hiding: ObjectID?, limit: Int? = nil
    ) throws(GitError) -> [CommitInfo] {
        let components = Self.components(of: path)
        if let limit, limit <= 0 { return [] }
        return try failingShallow("list the commits that changed \(path)") { () throws(GitError) -> [CommitInfo] in
            var found: [CommitInfo] = []
            for id in try commits(from: tip, hiding: hiding) {
                if let limit, found.count >= limit { break }
                try withCommit(id) { commit throws(GitError) in
                    if try changes(commit, components) { found.append(commitInfo(commit)) }
                }
            }
            return found
        }
    }

    /// The commit that added `path`: the start of the file's current line of history as seen from `tip`.
    ///
    /// Starting at `tip`, follows every parent that still has `path` and collects the commits that
    /// have it while none of their parents do (for an ordinary commit, its first-parent diff adds the
    /// file; a merge that brings the file from its second parent is not an adder, the side branch's
    /// commit is). Of those, returns the oldest by committer date. A file deleted and added again is
    /// found at its latest addition. When `path` is absent at `tip`, the search starts from the newest
    /// commit (in date order) that has it. Nil when no commit reachable from `tip` has `path`.
    ///
    /// Cost: proportional to the commits that have the file, not to all history: instant for a file
    /// added recently, about 3 s for one as old as a 20,000-commit history whose `migrations/` holds
    /// 5,000 files (every version of that folder is read once).
    /// - Throws: `.shallowHistory` when the addition lies beyond a shallow clone's boundary.
    public func commitAdding(path: String, from tip: ObjectID) throws(GitError) -> CommitInfo? {
        let components = Self.components(of: path)
        guard !components.isEmpty else { return nil }
        return try failingShallow("find the commit that added \(path)") { () throws(GitError) -> CommitInfo? in
            guard let start = try newestCommit(having: components, from: tip) else { return nil }
            var pending = [start]
            var seen: Set<ObjectID> = [start]
            var oldest: (info: CommitInfo, time: Int64)?
            while let id = pending.popLast() {
                try withCommit(id) { commit throws(GitError) in
                    let root = TreeEntryID(rootOf: commit)
                    var parentsHavingPath: [ObjectID] = []
                    for parent in parentIDs(commit) {
                        let parentRoot = try withCommit(parent) { TreeEntryID(rootOf: $0) }
                        if try sameEntry(at: components, root, parentRoot) {
                            parentsHavingPath.append(parent)
                        } else if try entry(at: components, under: parentRoot) != nil {
                            parentsHavingPath.append(parent)
                        }
                    }
                    if parentsHavingPath.isEmpty {
                        let time = git_commit_time(commit)
                        if oldest == nil || time < oldest!.time {
                            oldest = (commitInfo(commit), time)
                        }
                    }
                    for parent in parentsHavingPath where seen.insert(parent).inserted {
                        pending.append(parent)
                    }
                }
            }
            return oldest?.info
        }
    }

    /// Whether `commit` changed the entry at `components`, by the rules of `commitsTouching`.
    private func changes(_ commit: OpaquePointer, _ components: [String]) throws(GitError) -> Bool {
        let root = TreeEntryID(rootOf: commit)
        let parents = parentIDs(commit)
        if parents.isEmpty {
            return try entry(at: components, under: root) != nil
        }
        for parent in parents {
            let parentRoot = try withCommit(parent) { TreeEntryID(rootOf: $0) }
            if try sameEntry(at: components, root, parentRoot) { return false }
        }
        return true
    }

    /// `tip` when it has `components`; else the first commit in date order from `tip` that has it.
    private func newestCommit(having components: [String], from tip: ObjectID) throws(GitError) -> ObjectID? {
        let tipRoot = try withCommit(tip) { TreeEntryID(rootOf: $0) }
        if try entry(at: components, under: tipRoot) != nil { return tip }
        for id in try commits(from: tip, hiding: nil) {
            let root = try withCommit(id) { TreeEntryID(rootOf: $0) }
            if try entry(at: components, under: root) != nil { return id }
        }
        return nil
    }
}
