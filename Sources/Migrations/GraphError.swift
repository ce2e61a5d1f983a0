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

    /// What is wrong and what to do next, in one line.
    public var description: String {
        switch self {
        case .duplicateRevision(let id):
            return "revision '\(id)' is defined twice: every revision needs its own id; rename one of the files "
                + "and update the '-- parent:' lines that name it"
        case .missingParent(let revision, let parent):
            return "revision '\(revision)' names parent '\(parent)', which does not exist: fix the '-- parent:' "
                + "line of '\(revision)' or restore migrations/\(parent).sql"
        case .cycle(let path):
            return "the revision graph has a cycle: \(path.joined(separator: " -> ")) (each is a parent of the "
                + "next); fix the '-- parent:' lines so that every revision builds on older ones"
        case .unknownRevision(let spec):
            return "unknown revision '\(spec)': no revision has this id or starts with it; "
                + "`orchestrate heads` and `orchestrate graph` list the revisions"
        case .ambiguousPrefix(let prefix, let candidates):
            return "'\(prefix)' is ambiguous: it starts \(candidates.count) revisions (\(Self.list(candidates))); "
                + "type more of the id"
        case .multipleHeads(let heads):
            return "the revision graph has \(heads.count) heads (\(Self.list(heads))): run `orchestrate merge` "
                + "to join them, or `orchestrate rebase REV --onto OTHER` for a revision no environment has applied"
        }
    }

    /// `a, b, c`, cut after ten ids.
    static func list(_ ids: [String]) -> String {
        let shown = ids.prefix(10).joined(separator: ", ")
        return ids.count > 10 ? "\(shown), and \(ids.count - 10) more" : shown
    }
}
