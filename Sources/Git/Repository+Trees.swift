internal import CLibGit2

// Trees and blobs: what a commit holds under a folder, file contents, and tree-to-tree diffs.
extension Repository {
    /// The files directly under `directory` (e.g. `migrations`) in a commit's tree, in git's name order.
    ///
    /// Only regular files and symbolic links are listed; sub-folders and submodules are not. Empty
    /// when the commit has no such folder. `directory` is repository-relative; "" means the root.
    public func files(in commit: ObjectID, directory: String) throws(GitError) -> [TreeEntryFile] {
        guard let treeID = try treeID(of: commit, directory: directory) else { return [] }
        let prefix = Self.components(of: directory).map { $0 + "/" }.joined()
        return try withTree(treeID) { tree in
            var files: [TreeEntryFile] = []
            let count = git_tree_entrycount(tree)
            files.reserveCapacity(count)
            for index in 0..<count {
                guard let entry = git_tree_entry_byindex(tree, index),
                    git_tree_entry_type(entry) == GIT_OBJECT_BLOB,
                    let name = LibGit2.string(git_tree_entry_name(entry))
                else { continue }
                files.append(
                    TreeEntryFile(
                        path: prefix + name, blob: ObjectID(git_tree_entry_id(entry)),
                        isSymbolicLink: git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK))
            }
            return files
        }
    }

    /// The raw bytes of a blob, exactly as committed: no line-ending or other filters applied.
    ///
    /// - Throws: `.notFound` when no blob has this id.
    public func blobContents(_ id: ObjectID) throws(GitError) -> [UInt8] {
        var oid = id.oid
        var blob: OpaquePointer?
        do throws(GitError) {
            try LibGit2.call("git_blob_lookup", "cannot read blob \(id.short) in the repository at \(location)") {
                git_blob_lookup(&blob, handle, &oid)
            }
        } catch  where error.code == .notFound {
            throw missingObject("blob \(id.hex)", error)
        }
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let bytes = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: size))
    }

    /// The file changes under `directory` between two commits' trees (`git diff --name-status A B -- dir`).
    ///
    /// `from` nil compares with an empty tree (every file added). The folders' tree ids are compared
    /// first: when `directory` did not change, nothing else is read. Sub-folders are included, with
    /// their paths. With `detectRenames`, a deleted and an added file at least 50% similar are reported
    /// as one `.renamed` change (git's default threshold); without it, as a deletion and an addition.
    /// A file that moved out of `directory` shows as deleted. Changes come in path order.
    public func diff(
        from: ObjectID?, to: ObjectID, directory: String, detectRenames: Bool
    ) throws(GitError) -> [FileChange] {
        let newTreeID = try treeID(of: to, directory: directory)
        let oldTreeID = try from.flatMap { commit throws(GitError) in try treeID(of: commit, directory: directory) }
        guard oldTreeID != newTreeID else { return [] }
        let prefix = Self.components(of: directory).map { $0 + "/" }.joined()
        return try withOptionalTree(oldTreeID) { oldTree throws(GitError) in
            try withOptionalTree(newTreeID) { newTree throws(GitError) in
                try diffTrees(oldTree, newTree, prefix: prefix, detectRenames: detectRenames)
            }
        }
    }

    private func diffTrees(
        _ oldTree: OpaquePointer?, _ newTree: OpaquePointer?, prefix: String, detectRenames: Bool
    ) throws(GitError) -> [FileChange] {
        var options = git_diff_options()
        try LibGit2.call("git_diff_options_init", "cannot prepare a diff") {
            git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        }
        options.flags = GIT_DIFF_INCLUDE_TYPECHANGE.rawValue | GIT_DIFF_SKIP_BINARY_CHECK.rawValue
        var diff: OpaquePointer?
        try LibGit2.call(
            "git_diff_tree_to_tree",
            "cannot diff trees under \(prefix.isEmpty ? "the root" : prefix) in the repository at \(location)"
        ) {
            git_diff_tree_to_tree(&diff, handle, oldTree, newTree, &options)
        }
        defer { git_diff_free(diff) }
        if detectRenames {
            var findOptions = git_diff_find_options()
            try LibGit2.call("git_diff_find_options_init", "cannot prepare rename detection") {
                git_diff_find_options_init(&findOptions, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION))
            }
            findOptions.flags = GIT_DIFF_FIND_RENAMES.rawValue
            try LibGit2.call(
                "git_diff_find_similar", "cannot detect renames under \(prefix) in the repository at \(location)"
            ) {
                git_diff_find_similar(diff, &findOptions)
            }
        }
        var changes: [FileChange] = []
        for index in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, index)?.pointee else { continue }
            let kind: ChangeKind
            switch delta.status {
            case GIT_DELTA_ADDED, GIT_DELTA_COPIED, GIT_DELTA_UNTRACKED: kind = .added
            case GIT_DELTA_DELETED: kind = .deleted
            case GIT_DELTA_MODIFIED: kind = .modified
            case GIT_DELTA_RENAMED: kind = .renamed
            case GIT_DELTA_TYPECHANGE: kind = .typeChanged
            default: continue
            }
            let hasOld = kind != .added
            let hasNew = kind != .deleted
            changes.append(
                FileChange(
                    kind: kind,
                    oldPath: hasOld ? LibGit2.string(delta.old_file.path).map { prefix + $0 } : nil,
                    newPath: hasNew ? LibGit2.string(delta.new_file.path).map { prefix + $0 } : nil,
                    oldBlob: hasOld ? ObjectID(delta.old_file.id) : nil,
                    newBlob: hasNew ? ObjectID(delta.new_file.id) : nil))
        }
        return changes
    }

    private func withOptionalTree<T>(
        _ id: ObjectID?, _ body: (OpaquePointer?) throws(GitError) -> T
    ) throws(GitError) -> T {
        guard let id else { return try body(nil) }
        return try withTree(id) { tree throws(GitError) in try body(tree) }
    }
}
