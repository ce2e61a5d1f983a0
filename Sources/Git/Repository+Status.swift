internal import CLibGit2
import Foundation

// The work tree's uncommitted changes.
extension Repository {
    /// Uncommitted changes under the given folders: staged, unstaged and untracked files, like
    /// `git status --untracked-files=all -- DIR...`. Ignored files and submodules are left out.
    ///
    /// `directories` are repository-relative (`migrations`, `db/environments`); a folder matches
    /// the files below it, not other names that merely start with it. "" means the whole work tree;
    /// an empty list gives an empty result. Entries come in path order. An unresolved conflict counts
    /// as `staged` and `unstaged`.
    /// - Throws: when the repository is bare (it has no work tree).
    public func status(under directories: [String]) throws(GitError) -> [StatusEntry] {
        let folders = directories.map { Self.components(of: $0).joined(separator: "/") }
        guard !folders.isEmpty else { return [] }
        guard workdir != nil else {
            throw GitError(
                code: .other,
                message: "the repository at \(location) is bare: it has no work tree to check for uncommitted changes")
        }
        var options = git_status_options()
        try LibGit2.call("git_status_options_init", "cannot prepare a status query") {
            git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        }
        options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        options.flags =
            GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue
            | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
            | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
            | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue
            | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY.rawValue
        let wholeTree = folders.contains("")
        var pathspec = wholeTree ? [] : folders.map { strdup($0) }
        defer { pathspec.forEach { free($0) } }
        var list: OpaquePointer?
        let described = wholeTree ? "the work tree" : folders.joined(separator: ", ")
        try pathspec.withUnsafeMutableBufferPointer { buffer throws(GitError) in
            options.pathspec = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            try LibGit2.call(
                "git_status_list_new", "cannot read the status of \(described) in the repository at \(location)"
            ) {
                git_status_list_new(&list, handle, &options)
            }
        }
        defer { git_status_list_free(list) }
        let stagedFlags =
            GIT_STATUS_INDEX_NEW.rawValue | GIT_STATUS_INDEX_MODIFIED.rawValue
            | GIT_STATUS_INDEX_DELETED.rawValue | GIT_STATUS_INDEX_RENAMED.rawValue
            | GIT_STATUS_INDEX_TYPECHANGE.rawValue
        let unstagedFlags =
            GIT_STATUS_WT_MODIFIED.rawValue | GIT_STATUS_WT_DELETED.rawValue
            | GIT_STATUS_WT_RENAMED.rawValue | GIT_STATUS_WT_TYPECHANGE.rawValue | GIT_STATUS_WT_UNREADABLE.rawValue
        var entries: [StatusEntry] = []
        for index in 0..<git_status_list_entrycount(list) {
            guard let entry = git_status_byindex(list, index)?.pointee else { continue }
            let flags = entry.status.rawValue
            let conflicted = flags & GIT_STATUS_CONFLICTED.rawValue != 0
            let delta = (entry.index_to_workdir ?? entry.head_to_index)?.pointee
            guard let delta, let path = LibGit2.string(delta.new_file.path) ?? LibGit2.string(delta.old_file.path)
            else { continue }
            let status = StatusEntry(
                path: path,
                staged: flags & stagedFlags != 0 || conflicted,
                unstaged: flags & unstagedFlags != 0 || conflicted,
                untracked: flags & GIT_STATUS_WT_NEW.rawValue != 0)
            if status.staged || status.unstaged || status.untracked { entries.append(status) }
        }
        return entries
    }
}
