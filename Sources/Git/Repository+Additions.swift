internal import CLibGit2
import Foundation

// Who added each file of a folder, in one walk: for `orchestrate history`.
extension Repository {
    /// For each file directly under `directory` at `tip`, the commit that added it: the latest commit reachable from
    /// `tip` that has the file (same name) while none of its parents do. A merge that brings the file from one of its
    /// parents is not an adder; a file deleted and added again is found at its latest addition.
    ///
    /// One walk over the history (`commits(from:hiding:)`), oldest first; a commit whose folder entry equals its first
    /// parent's costs one entry lookup, so only the commits that changed the folder have it listed. In a shallow clone
    /// the walk stops at the boundary, and files added before it are absent from the result (callers say "unknown").
    public func commitsAddingFiles(in directory: String, from tip: ObjectID) throws(GitError) -> [String: CommitInfo] {
        let components = Self.components(of: directory)
        let prefix = components.map { $0 + "/" }.joined()
        var names: [ObjectID: Set<String>] = [:]  // folder tree id -> file names, read once per distinct folder
        func files(of entry: TreeEntryID?) throws(GitError) -> Set<String> {
            guard let entry, entry.isTree else { return [] }
            if let known = names[entry.id] { return known }
            let listed = try withTree(entry.id) { tree in
                var result = Set<String>()
                for index in 0..<git_tree_entrycount(tree) {
                    guard let item = git_tree_entry_byindex(tree, index), git_tree_entry_type(item) == GIT_OBJECT_BLOB,
                        let name = LibGit2.string(git_tree_entry_name(item))
                    else { continue }
                    result.insert(name)
                }
                return result
            }
            names[entry.id] = listed
            return listed
        }
        var folderOf: [ObjectID: TreeEntryID?] = [:]
        func folder(_ commit: ObjectID) throws(GitError) -> TreeEntryID?? {
            if let known = folderOf[commit] { return .some(known) }
            do throws(GitError) {
                let root = try withCommit(commit) { TreeEntryID(rootOf: $0) }
                let found = try entry(at: components, under: root)
                folderOf[commit] = found
                return .some(found)
            } catch  where error.code == .notFound {
                return nil  // beyond a shallow clone's boundary
            }
        }

        var added: [String: CommitInfo] = [:]
        let walk: [ObjectID]
        do throws(GitError) {
            walk = try commits(from: tip, hiding: nil)
        } catch  where error.code == .notFound {
            walk = []
        }
        for id in walk.reversed() {
            guard let current = try folder(id) else { continue }
            let parents = try withCommit(id) { parentIDs($0) }
            var parentFolders: [TreeEntryID?] = []
            var beyondBoundary = false
            for parent in parents {
                guard let parentFolder = try folder(parent) else { beyondBoundary = true; break }
                parentFolders.append(parentFolder)
            }
            if beyondBoundary { continue }
            if let first = parentFolders.first, first == current { continue }
            let here = try files(of: current)
            var before = Set<String>()
            for parentFolder in parentFolders { before.formUnion(try files(of: parentFolder)) }
            let new = here.subtracting(before)
            guard !new.isEmpty else { continue }
            let info = try withCommit(id) { commitInfo($0) }
            for name in new { added[prefix + name] = info }
        }
        let atTip = try files(of: try folder(tip) ?? nil)
        return added.filter { atTip.contains(String($0.key.dropFirst(prefix.count))) }
    }
}
