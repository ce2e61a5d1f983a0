import Foundation
import Git
import Migrations

/// `orchestrate check`: reads what `PullRequestCheck` needs from git and returns its report.
///
/// Reads only what lies between the merge base and the two tips: the three commits' `migrations/` trees (a tree
/// listing each), the blobs of HEAD's files plus those that differ on the other sides (each blob once, by id), the
/// diff from the merge base to HEAD, and, for findings only, the commits that explain them. No `git` process runs.
public enum PullRequestChecker {
    /// Checks HEAD of the repository holding `projectRoot` against `base` (nil: the default base, see `chooseBase`).
    ///
    /// `ledgers` are the `--env` environments' applied revisions (empty without `--env`). Notices (which base was
    /// used) go to `progress`.
    /// - Throws: `.operation` when git fails (not a repository, another user's repository, a shallow clone without
    ///   the merge base, an unknown base); `.usage` when no base was given and none of the defaults exists.
    public static func run(projectRoot: String, base requestedBase: String?,
                           ledgers: [(environment: String, entries: [LedgerEntry])] = [],
                           progress: ProgressHandler) throws(OrchestrateError) -> CheckReport {
        do {
            return try check(projectRoot: projectRoot, requestedBase: requestedBase, ledgers: ledgers, progress: progress)
        } catch let error as OrchestrateError {
            throw error
        } catch let error as GitError {
            throw failure(error, projectRoot: projectRoot)
        } catch {
            throw .operation("git: \(error)")
        }
    }

    private static func check(projectRoot: String, requestedBase: String?,
                              ledgers: [(environment: String, entries: [LedgerEntry])],
                              progress: ProgressHandler) throws -> CheckReport {
        let repository = try Repository.discover(from: projectRoot)
        let (headCommit, branch) = try repository.head()
        guard let headCommit else {
            throw OrchestrateError.operation("the repository at \(repository.workdir ?? projectRoot) has no commit yet: there is nothing to check",
                                             hint: "commit migrations/ first")
        }
        let base = try chooseBase(repository, requested: requestedBase, branch: branch)
        if base.choice != .option {
            progress(.notice("comparing HEAD with \(base.name) (\(base.choice.explanation(branch: branch))); pass --base REF to choose another"))
        }
        let baseCommit: ObjectID
        do throws(GitError) {
            baseCommit = try repository.resolve(base.name)
        } catch {
            guard error.code == .notFound, base.choice == .main else { throw error }
            throw OrchestrateError.usage(
                "no base to compare with: \(branch.map { "branch \($0)" } ?? "HEAD") has no upstream, there is no origin/HEAD, and no branch main",
                hint: "pass --base REF, e.g. --base origin/main")
        }
        guard let mergeBase = try repository.mergeBase(headCommit, baseCommit) else {
            throw OrchestrateError.operation(
                "HEAD (\(headCommit.short)) and \(base.name) (\(baseCommit.short)) have no common history, so there is no merge base to compare with",
                hint: "pass the branch this one was made from: --base REF")
        }

        let directory = GitProvenance.relativePrefix(projectRoot: projectRoot, workdir: repository.workdir) + "migrations"
        var reader = BlobReader(repository: repository)
        let headFiles = try reader.files(of: headCommit, directory: directory)
        let baseFiles = baseCommit == headCommit ? headFiles : try reader.files(of: baseCommit, directory: directory)
        let mergeBaseFiles = mergeBase == headCommit ? headFiles
            : mergeBase == baseCommit ? baseFiles : try reader.files(of: mergeBase, directory: directory)
        let changes = try repository.diff(from: mergeBase, to: headCommit, directory: directory, detectRenames: true)
            .map(MigrationChange.init)

        let input = PullRequestCheckInput(
            migrationsDirectory: directory, baseName: base.name, mergeBaseCommit: mergeBase.hex, head: headFiles,
            base: baseFiles, mergeBase: mergeBaseFiles, headChanges: changes, ledgers: ledgers)
        let check = PullRequestCheck(input)
        let tips: [CheckSide: ObjectID] = [.head: headCommit, .both: headCommit, .base: baseCommit, .mergeBase: mergeBase]
        var history: [HistoryQuery: [CommitSummary]] = [:]
        for query in check.historyQueries where history[query] == nil {
            history[query] = answer(query, repository: repository, head: headCommit, tips: tips)
        }
        return CheckReport(
            head: .init(commit: headCommit.hex, branch: branch),
            base: .init(ref: base.name, commit: baseCommit.hex, chosenBy: base.choice),
            mergeBase: mergeBase.hex, migrationsDirectory: directory, revisions: check.revisionCount,
            heads: check.mergedHeads, environments: ledgers.map(\.environment),
            findings: check.findings(history: history))
    }

    // MARK: - The base

    /// How the base was chosen; the JSON value is the raw value.
    public enum BaseChoice: String, Sendable, Codable {
        /// `--base REF`.
        case option
        /// The current branch's upstream.
        case upstream
        /// The branch `origin/HEAD` points to.
        case originHead = "origin/HEAD"
        /// `main`, the last resort.
        case main

        func explanation(branch: String?) -> String {
            switch self {
            case .option: "given with --base"
            case .upstream: "the upstream of \(branch ?? "the current branch")"
            case .originHead: "where origin/HEAD points"
            case .main: "the default: \(branch.map { "\($0) has" } ?? "a detached HEAD has") no upstream and there is no origin/HEAD"
            }
        }
    }

    /// `--base` when given; else the current branch's upstream, else origin/HEAD's branch, else `main`.
    static func chooseBase(_ repository: Repository, requested: String?, branch: String?) throws(GitError) -> (name: String, choice: BaseChoice) {
        if let requested { return (requested, .option) }
        if let upstream = try repository.upstreamOfCurrentBranch() { return (upstream, .upstream) }
        let name = try repository.defaultBase()
        if name == "main", !repository.referenceExists("origin/HEAD") { return (name, .main) }
        return (name, .originHead)
    }

    // MARK: - History for findings

    /// The commits that answer `query`; empty when git cannot tell (the finding then names no commit).
    private static func answer(_ query: HistoryQuery, repository: Repository, head: ObjectID,
                               tips: [CheckSide: ObjectID]) -> [CommitSummary] {
        switch query {
        case .touching(let path, let since):
            let hiding = since.flatMap { ObjectID(hex: $0) }.flatMap { repository.contains($0) ? $0 : nil }
            let limit = hiding == nil ? 10 : 50
            let commits = (try? repository.commitsTouching(path: path, from: head, hiding: hiding, limit: limit)) ?? []
            return commits.map(CommitSummary.init)
        case .adding(let path, let side):
            guard let tip = tips[side], let commit = try? repository.commitAdding(path: path, from: tip) else { return [] }
            return [CommitSummary(commit)]
        }
    }

    /// A git failure as the error the command reports (exit 3); the git module's messages already name the fix.
    private static func failure(_ error: GitError, projectRoot: String) -> OrchestrateError {
        switch error.code {
        case .notARepository:
            return .operation("git: \(error.message)", hint: "check compares git commits: run it in a clone of the project's repository")
        default:
            return .operation("git: \(error.message)")
        }
    }
}

/// Reads migration files out of commits, each blob once: the three sides of a check share most of their files.
///
/// Blobs are read one after the other (a repository is used from one thread), then parsed on every core.
struct BlobReader {
    private struct Key: Hashable {
        var blob: ObjectID
        var path: String
    }

    let repository: Repository
    private var cache: [Key: MigrationBlob] = [:]

    init(repository: Repository) {
        self.repository = repository
    }

    /// The `.sql` files directly in `directory` of `commit`, by repository-relative path.
    mutating func files(of commit: ObjectID, directory: String) throws(GitError) -> [String: MigrationBlob] {
        let entries = try repository.files(in: commit, directory: directory).filter { $0.path.hasSuffix(".sql") }
        var unread: [(key: Key, bytes: [UInt8])] = []
        for entry in entries {
            let key = Key(blob: entry.blob, path: entry.path)
            if cache[key] == nil { unread.append((key, try repository.blobContents(entry.blob))) }
        }
        let parsed = Self.parse(unread.map { ($0.key.path, $0.key.blob.hex, $0.bytes) })
        for (item, blob) in zip(unread, parsed) { cache[item.key] = blob }
        var files: [String: MigrationBlob] = [:]
        files.reserveCapacity(entries.count)
        for entry in entries { files[entry.path] = cache[Key(blob: entry.blob, path: entry.path)] }
        return files
    }

    /// Parses `items` (path, blob id, bytes), on all cores when there are many; results in input order.
    static func parse(_ items: [(path: String, blob: String, bytes: [UInt8])]) -> [MigrationBlob] {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard items.count >= 512, cores > 1 else {
            return items.map { MigrationBlob.read(path: $0.path, blob: $0.blob, bytes: $0.bytes) }
        }
        let chunks = cores * 4
        let size = (items.count + chunks - 1) / chunks
        let results = ResultBox<[MigrationBlob]>(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = min(chunk * size, items.count)..<min((chunk + 1) * size, items.count)
            results.set(chunk, items[range].map { MigrationBlob.read(path: $0.path, blob: $0.blob, bytes: $0.bytes) })
        }
        return (0..<chunks).flatMap { results.get($0) ?? [] }
    }
}

extension MigrationChange {
    init(_ change: FileChange) {
        let kind: Kind = switch change.kind {
        case .added: .added
        case .modified, .typeChanged: .modified
        case .renamed: .renamed
        case .deleted: .deleted
        }
        self.init(kind: kind, oldPath: change.oldPath, newPath: change.newPath)
    }
}

/// What `orchestrate check` found; `--format json` prints it.
///
/// ```json
/// {
///   "ok": false,                                   // true when there is no finding
///   "head": { "commit": "<40 hex>", "branch": "feature" },      // branch absent when HEAD is detached
///   "base": { "ref": "origin/main", "commit": "<40 hex>",
///             "chosenBy": "option" | "upstream" | "origin/HEAD" | "main" },
///   "mergeBase": "<40 hex>",
///   "migrationsDirectory": "migrations",           // repository-relative
///   "revisions": 42,                               // revisions at HEAD
///   "heads": ["20260102_b", "20260102_c"],         // heads after merging the base (empty when not computed)
///   "environments": ["production"],                // --env
///   "findings": [{
///     "kind": "invalidFile" | "invalidGraph" | "multipleHeads" | "invalidMergedGraph" | "editedRelease"
///           | "renamedRelease" | "deletedRelease" | "editedAfterApply" | "renamedAfterApply" | "deletedAfterApply",
///     "file": "migrations/x.sql", "line": 3,       // repository-relative; each absent when unknown
///     "environment": "production",                 // --env findings only
///     "revisions": [{ "revision": "x", "file": "migrations/x.sql", "parents": ["w"],
///                     "side": "head" | "base" | "both" | "mergeBase",
///                     "addedBy": { "sha", "shortSHA", "summary", "author", "time" } }],   // addedBy when known
///     "commits": [{ "sha", "shortSHA", "summary", "author", "time" }],                   // newest first
///     "message": "…", "fix": "…"
///   }]
/// }
/// ```
public struct CheckReport: Sendable, Codable {
    /// HEAD: its commit and branch (nil when detached).
    public struct Head: Sendable, Codable {
        public var commit: String
        public var branch: String?
    }
    /// The base: how it was named, its commit, and how it was chosen.
    public struct Base: Sendable, Codable {
        public var ref: String
        public var commit: String
        public var chosenBy: PullRequestChecker.BaseChoice
    }

    /// True when there is no finding.
    public var ok: Bool
    public var head: Head
    public var base: Base
    /// `merge-base(HEAD, base)`.
    public var mergeBase: String
    /// The migrations folder, repository-relative.
    public var migrationsDirectory: String
    /// The number of revisions at HEAD.
    public var revisions: Int
    /// The heads after merging the base (empty when HEAD's graph is invalid).
    public var heads: [String]
    /// The environments whose ledgers were read (`--env`).
    public var environments: [String]
    /// What is wrong, in rule order.
    public var findings: [CheckFinding]

    init(head: Head, base: Base, mergeBase: String, migrationsDirectory: String, revisions: Int, heads: [String],
         environments: [String], findings: [CheckFinding]) {
        self.ok = findings.isEmpty
        self.head = head
        self.base = base
        self.mergeBase = mergeBase
        self.migrationsDirectory = migrationsDirectory
        self.revisions = revisions
        self.heads = heads
        self.environments = environments
        self.findings = findings
    }
}
