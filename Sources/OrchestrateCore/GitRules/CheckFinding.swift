/// One problem `orchestrate check` found: what, where (file, line), which revisions and commits, and the way out.
///
/// Paths are repository-relative (`migrations/x.sql`, or `db/migrations/x.sql` for a project in a sub-folder), as
/// GitHub annotations want them. `message` is complete on its own (it names the commits); `fix` is the command or
/// step that resolves it.
public struct CheckFinding: Sendable, Codable, Hashable {
    /// What kind of problem this is; the JSON value is the case name.
    public enum Kind: String, Sendable, Codable, Hashable {
        /// Rule 1: a migration file at HEAD does not parse.
        case invalidFile
        /// Rule 1: HEAD's revision graph is invalid (missing parent, cycle).
        case invalidGraph
        /// Rule 2: HEAD's and the base's migrations together have more than one head.
        case multipleHeads
        /// Rule 2: HEAD's and the base's migrations together do not form a valid graph, or cannot be read well enough to
        /// count their heads.
        case invalidMergedGraph
        /// Rule 3: a file that exists at the merge base was edited on HEAD's side.
        case editedRelease
        /// Rule 3: a file that exists at the merge base was renamed on HEAD's side.
        case renamedRelease
        /// Rule 3: a file that exists at the merge base was deleted on HEAD's side.
        case deletedRelease
        /// `--env`: an applied revision's file at HEAD differs from the checksum the environment recorded.
        case editedAfterApply
        /// `--env`: an applied revision's file was renamed (its contents live on under another name).
        case renamedAfterApply
        /// `--env`: an applied revision has no file at HEAD.
        case deletedAfterApply
        /// A file this branch adds or changes would be refused before anything runs (an empty up section, a
        /// statement that cannot run in a transaction): the same pre-flight as `upgrade`.
        case refusedBeforeRunning

        /// Whether the problem is a bad migration file at HEAD (exit 2) rather than a broken rule (exit 1).
        public var isInvalidFile: Bool {
            self == .invalidFile || self == .invalidGraph || self == .refusedBeforeRunning
        }
    }

    /// What kind of problem this is.
    public var kind: Kind
    /// The file to point at, repository-relative; nil when no single file is at fault.
    public var file: String?
    /// The 1-based line in `file`, when known.
    public var line: Int?
    /// The environment, for `--env` findings.
    public var environment: String?
    /// The revisions involved, with where each comes from.
    public var revisions: [CheckedRevision]
    /// The commits that made the change, newest first (rule 3 and `--env`).
    public var commits: [CommitSummary]
    /// What is wrong, naming files, revisions and commits; one paragraph.
    public var message: String
    /// The way out: a command or a step.
    public var fix: String

    /// Makes a finding.
    public init(
        kind: Kind, file: String?, line: Int?, environment: String? = nil, revisions: [CheckedRevision] = [],
        commits: [CommitSummary] = [], message: String, fix: String
    ) {
        self.kind = kind
        self.file = file
        self.line = line
        self.environment = environment
        self.revisions = revisions
        self.commits = commits
        self.message = message
        self.fix = fix
    }
}

/// A revision named by a finding: its id, its file, the side it comes from and the commit that added it.
public struct CheckedRevision: Sendable, Codable, Hashable {
    /// The revision id.
    public var revision: String
    /// Its file, repository-relative.
    public var file: String
    /// Which side of the comparison it comes from.
    public var side: CheckSide
    /// Its parents.
    public var parents: [String]
    /// The commit that added its file on that side, when git could tell.
    public var addedBy: CommitSummary?

    /// Makes a revision reference.
    public init(revision: String, file: String, side: CheckSide, parents: [String], addedBy: CommitSummary? = nil) {
        self.revision = revision
        self.file = file
        self.side = side
        self.parents = parents
        self.addedBy = addedBy
    }
}

/// Where a revision's file comes from, relative to `merge-base(HEAD, base)`.
public enum CheckSide: String, Sendable, Codable, Hashable {
    /// Added on HEAD's side since the merge base: the pull request's own.
    case head
    /// Added on the base's side since the merge base (for example, another pull request merged meanwhile).
    case base
    /// Added on both sides since the merge base (the same path on each).
    case both
    /// Already there at the merge base.
    case mergeBase
}
