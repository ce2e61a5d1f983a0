import Foundation
import Migrations

/// One version of a migration file as git holds it: its blob id, its checksum, and what parsing it gave.
///
/// Made once per (path, blob id) by `read(path:blob:bytes:)`; every side that holds the same blob at the same path
/// shares it, so unchanged files are read and parsed once however many commits are compared. A class, so that the
/// maps of thousands of files share one instance per file instead of copying its strings.
public final class MigrationBlob: Sendable {
    /// The git blob id (40 hex digits), or any key that is equal exactly when the bytes are.
    public let blob: String
    /// The checksum of the normalised bytes (BOM dropped, CRLF read as LF), also when parsing failed; nil when it
    /// was not computed.
    ///
    /// A SHA-256 costs more than parsing the file, so `check` computes checksums only where a rule compares them (see
    /// `PullRequestCheckInput.head`).
    public let checksum: String?
    /// The 1-based line of the `-- parent:` header, when the file has one.
    public let parentLine: Int?
    /// The revision and its parents, when the file parsed; nil when it did not (see `error`).
    ///
    /// Only what the checks need is kept, not the SQL: thousands of files are held at once.
    public let node: RevisionNode?
    /// Why parsing failed; nil when it did not.
    public let error: MigrationError?
    /// The parents the file declares: those it parsed with, or, for a file that does not parse, those its
    /// `-- parent:` line names when that line is readable and is not what is wrong (no parent line and no line
    /// mentioning a parent in the header: a root). Nil when they cannot be known.
    ///
    /// This lets `check` tell whether merging leaves one head even when a file is broken: one rule never hides
    /// another.
    public let declaredParents: [String]?

    /// Makes a blob from its parts (tests use this; git-read files come from `read`).
    public init(
        blob: String, checksum: String?, parentLine: Int?, node: RevisionNode?, error: MigrationError?,
        declaredParents: [String]? = nil
    ) {
        self.blob = blob
        self.checksum = checksum
        self.parentLine = parentLine
        self.node = node
        self.error = error
        self.declaredParents = node?.parents ?? declaredParents
    }

    /// Parses `bytes`, the contents of `path` (repository-relative), whose git blob id is `blob`; computes the
    /// checksum unless `checksum` is false.
    public static func read(path: String, blob: String, bytes: [UInt8], checksum: Bool = true) -> MigrationBlob {
        let parentLine = headerLine(ofKey: "parent", in: bytes)
        let sum = checksum ? Checksum.sha256Hex(normalizing: bytes) : nil
        do {
            let node = try MigrationFile.parseNode(path: path, bytes: bytes)
            return MigrationBlob(blob: blob, checksum: sum, parentLine: parentLine, node: node, error: nil)
        } catch {
            return MigrationBlob(
                blob: blob, checksum: sum, parentLine: parentLine, node: nil, error: error,
                declaredParents: unparsedParents(bytes))
        }
    }

    /// The parents a file that does not parse declares, when they can be known for sure (see `declaredParents`).
    static func unparsedParents(_ bytes: [UInt8]) -> [String]? {
        guard let line = MigrationFile.headerLine(ofKey: "parent", in: bytes) else {
            // No `-- parent:` line. A root, unless the header mentions a parent some other way (`-- Parent: x`, a
            // near-miss key, which is itself the error): then the parents are unknown.
            let text = String(decoding: bytes, as: UTF8.self).lowercased()
            let end = text.range(of: "migrate:up")?.lowerBound ?? text.endIndex
            return text[..<end].contains("parent") ? nil : []
        }
        // A second parent line, or a value that is not a list of valid, distinct ids, leaves the parents unknown.
        guard MigrationFile.headerLine(ofKey: "parent", in: Array(bytes[line.value.upperBound...])) == nil else {
            return nil
        }
        let value = String(decoding: bytes[line.value], as: UTF8.self)
        let parents = value.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !parents.isEmpty, parents.allSatisfy(RevisionID.isValid), Set(parents).count == parents.count else {
            return nil
        }
        return parents
    }

    /// The 1-based line of the header line `-- KEY:` (before `-- migrate:up`), if any. Reads only the header.
    static func headerLine(ofKey key: String, in bytes: [UInt8]) -> Int? {
        MigrationFile.headerLine(ofKey: key, in: bytes)?.number
    }
}

/// How a migration file changed between the merge base and HEAD (with rename detection).
public struct MigrationChange: Sendable, Hashable {
    /// How the file changed.
    public enum Kind: String, Sendable, Hashable {
        /// The file is new.
        case added
        /// The contents (or the file type) changed.
        case modified
        /// The file moved to `newPath`, possibly with edits.
        case renamed
        /// The file is gone.
        case deleted
    }

    /// How the file changed.
    public var kind: Kind
    /// The path at the merge base (nil when added), repository-relative.
    public var oldPath: String?
    /// The path at HEAD (nil when deleted), repository-relative.
    public var newPath: String?

    /// Makes a change.
    public init(kind: Kind, oldPath: String?, newPath: String?) {
        self.kind = kind
        self.oldPath = oldPath
        self.newPath = newPath
    }
}

/// What one environment's ledger says it applied: for `check --env`.
public struct LedgerEntry: Sendable, Hashable {
    /// The revision id.
    public var revision: String
    /// The checksum recorded when it was applied.
    public var checksum: String
    /// The commit it was applied from (40 hex digits), when the ledger recorded one.
    public var gitCommit: String?

    /// Makes an entry.
    public init(revision: String, checksum: String, gitCommit: String?) {
        self.revision = revision
        self.checksum = checksum
        self.gitCommit = gitCommit
    }
}

/// Everything `PullRequestCheck` looks at, as plain values: HEAD's migration files, and what changed since the
/// merge base on each side.
///
/// Paths are repository-relative and name `.sql` files directly in `migrationsDirectory`. Only HEAD's files are
/// given in full (rule 1 reads them all); of the merge base and the base, only the versions of changed paths are
/// given, so a check reads no more than what lies between the merge base and the two tips.
public struct PullRequestCheckInput: Sendable {
    /// The folder holding the migrations, repository-relative, without a trailing slash (`migrations`).
    public var migrationsDirectory: String
    /// How the base was named (`origin/main`), for messages.
    public var baseName: String
    /// The merge base's commit id (40 hex digits).
    public var mergeBaseCommit: String
    /// Every migration file at HEAD, by path.
    ///
    /// Rule 3 compares the checksums of the files `headChanges` marks modified, and rule 6 those of every file when
    /// `ledgers` is not empty: those need a checksum, the others may have none. A file without one is never taken for
    /// unchanged.
    public var head: [String: MigrationBlob]
    /// The changes from the merge base to HEAD, renames detected.
    public var headChanges: [MigrationChange]
    /// The changes from the merge base to the base (renames need not be detected).
    public var baseChanges: [MigrationChange]
    /// The merge base's version of each path named by `headChanges` or `baseChanges` that it holds (with checksums).
    public var mergeBase: [String: MigrationBlob]
    /// The base's version of each path named by `baseChanges` that it holds.
    public var base: [String: MigrationBlob]
    /// The ledgers read for `--env`, by environment name, in the order asked.
    public var ledgers: [(environment: String, entries: [LedgerEntry])]
    /// What `upgrade` would refuse before running in the files HEAD's side adds or changes (see `Preflight`).
    public var preflight: [Preflight.Problem] = []

    /// Makes an input.
    public init(
        migrationsDirectory: String, baseName: String, mergeBaseCommit: String, head: [String: MigrationBlob],
        headChanges: [MigrationChange], baseChanges: [MigrationChange], mergeBase: [String: MigrationBlob],
        base: [String: MigrationBlob], ledgers: [(environment: String, entries: [LedgerEntry])] = []
    ) {
        self.migrationsDirectory = migrationsDirectory
        self.baseName = baseName
        self.mergeBaseCommit = mergeBaseCommit
        self.head = head
        self.headChanges = headChanges
        self.baseChanges = baseChanges
        self.mergeBase = mergeBase
        self.base = base
        self.ledgers = ledgers
    }
}

/// A question about git history whose answer names the commits in a finding.
public enum HistoryQuery: Sendable, Hashable {
    /// The commits reachable from HEAD and not from `since` (a commit id; nil for "recent history") that changed
    /// `path`, newest first.
    case touching(path: String, since: String?)
    /// The commit that added `path`, as seen from the tip of `side` (`.both` means HEAD).
    case adding(path: String, side: CheckSide)
}
