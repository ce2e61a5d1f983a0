/// Why a revision graph is invalid, or why a revision argument does not name one revision.
public enum GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two nodes have this id.
    case duplicateRevision(String)
    /// `revision` names `parent`, which is not in the graph.
    case missingParent(revision: String, parent: String)
    /// A cycle, written parent first and closed: `["a", "b", "a"]` means `a` is a parent of `b` and `b` of `a`.
    ///
    /// It starts at the smallest id on the cycle, so the same graph always gives the same path.
    case cycle([String])
    /// No revision has this id, or starts with it.
    case unknownRevision(String)
    /// The prefix matches several revisions (sorted).
    case ambiguousPrefix(String, candidates: [String])
    /// `head` was asked for, but the graph has several heads (sorted).
    case multipleHeads([String])

    /// Where a revision's file and its `-- parent:` line are, for messages that point at them.
    public typealias Locator = (String) -> (path: String, line: Int?)

    /// The one wording of every graph error: what is wrong (naming files and `file:line` where `locate` knows them)
    /// and what to do. `description`, the commands' errors and `check`'s findings all use it.
    public func explanation(
        locate: Locator = { (path: "migrations/\($0).sql", line: nil) }
    ) -> (message: String, fix: String) {
        func place(_ id: String) -> String {
            let found = locate(id)
            return found.path + (found.line.map { ":\($0)" } ?? "")
        }
        switch self {
        case .duplicateRevision(let id):
            return (
                "revision '\(id)' is defined twice",
                "every revision needs its own id: rename one of the files and update the `-- parent:` lines that name it"
            )
        case .missingParent(let revision, let parent):
            return (
                "\(place(revision)): parent `\(parent)` does not exist",
                "fix the `-- parent:` line of \(locate(revision).path), or restore migrations/\(parent).sql"
            )
        case .cycle(let path):
            return (
                "\(place(path.first ?? "")): the revision graph has a cycle: \(path.joined(separator: " -> ")) (each is the parent of the next)",
                "fix the `-- parent:` lines of \(Listing.items(path.dropLast().map(place))) so that every revision builds on older ones"
            )
        case .unknownRevision(let spec):
            return (
                "unknown revision '\(spec)': no revision has this id or starts with it",
                "`orchestrate heads` and `orchestrate history` list the revisions"
            )
        case .ambiguousPrefix(let prefix, let candidates):
            return (
                "'\(prefix)' is ambiguous: it starts \(candidates.count) revisions (\(Listing.items(candidates)))",
                "type more of the id"
            )
        case .multipleHeads(let heads):
            return (
                "the revision graph has \(heads.count) heads (\(Listing.items(heads)))",
                "`orchestrate merge` joins them with a merge revision (always possible); `orchestrate rebase REV --onto OTHER` moves one that no environment has applied instead"
            )
        }
    }

    /// What is wrong and what to do next, in one line.
    public var description: String {
        let (message, fix) = explanation()
        return message + ": " + fix
    }
}
