import Foundation
import Git
import Migrations

/// `orchestrate check`: reads what `PullRequestCheck` needs from git and returns its report.
///
/// Reads only what lies between the merge base and the two tips: HEAD's `migrations/` (rule 1 parses every file),
/// the diffs from the merge base to each tip and the blobs they name (each blob once), and, for findings only, the
/// commits that explain them. No `git` process runs.
public enum PullRequestChecker {
    /// Checks HEAD of the repository holding `projectRoot` against `base` (nil: the default base, see `chooseBase`).
    ///
    /// `ledgers` are the `--env` environments' applied revisions (empty without `--env`). Notices (which base was
    /// used) go to `progress`.
    /// - Throws: `.operation` when git fails (not a repository, another user's repository, a shallow clone without
    ///   the merge base, an unknown base); `.usage` when no base was given and none of the defaults exists.
    public static func run(
        projectRoot: String, base requestedBase: String?,
        ledgers: [(environment: String, entries: [LedgerEntry])] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: ProgressHandler
    ) throws(OrchestrateError) -> CheckReport {
        do {
            return try check(
                projectRoot: projectRoot, requestedBase: requestedBase, ledgers: ledgers,
                environment: environment, progress: progress)
        } catch let error as OrchestrateError {
            throw error
        } catch let error as GitError {
            throw failure(error, projectRoot: projectRoot)
        } catch {
            throw .operation("git: \(error)")
        }
    }

    private static func check(
        projectRoot: String, requestedBase: String?,
        ledgers: [(environment: String, entries: [LedgerEntry])],
        environment: [String: String], progress: ProgressHandler
    ) throws -> CheckReport {
        let repository = try Repository.discover(from: projectRoot)
        let (headCommit, branch) = try repository.head()
        guard let headCommit else {
            throw OrchestrateError.operation(
                "the repository at \(repository.workdir ?? projectRoot) has no commit yet: there is nothing to check",
                hint: "commit migrations/ first")
        }
        let base = try chooseBase(repository, requested: requestedBase, branch: branch, environment: environment)
        if base.choice != .option {
            progress(
                .notice(
                    "comparing HEAD with \(base.name) (\(base.choice.explanation(branch: branch))); pass --base REF to choose another"
                ))
        }
        let baseCommit: ObjectID
        do throws(GitError) {
            baseCommit = try repository.resolve(base.name)
        } catch {
            guard error.code == .notFound, base.choice == .main else { throw error }
            throw OrchestrateError.usage(
                "no base to compare with: there is no GITHUB_BASE_REF, no origin/HEAD, and no branch main or master",
                hint: "pass --base REF, e.g. --base origin/main (in CI, fetch it first: `git fetch origin main`)")
        }
        guard let mergeBase = try repository.mergeBase(headCommit, baseCommit) else {
            throw OrchestrateError.operation(
                "HEAD (\(headCommit.short)) and \(base.name) (\(baseCommit.short)) have no common history, so there is no merge base to compare with",
                hint: "pass the branch this one was made from: --base REF")
        }

        let directory =
            GitProvenance.relativePrefix(projectRoot: projectRoot, workdir: repository.workdir) + "migrations"
        // Of the merge base and the base, only what changed since the merge base: two tree diffs and their blobs.
        func isMigration(_ path: String?) -> Bool {
            guard let path, path.hasSuffix(".sql"), path.hasPrefix(directory + "/") else { return false }
            return !path.utf8.dropFirst(directory.utf8.count + 1).contains(UInt8(ascii: "/"))
        }
        let headChanges = try repository.diff(
            from: mergeBase, to: headCommit, directory: directory, detectRenames: true
        )
        .filter { isMigration($0.oldPath) || isMigration($0.newPath) }
        let baseChanges = try repository.diff(
            from: mergeBase, to: baseCommit, directory: directory, detectRenames: false
        )
        .filter { isMigration($0.oldPath) || isMigration($0.newPath) }
        let headMigrationChanges = headChanges.map(MigrationChange.init)
        // HEAD's checksums are compared by rule 3, for the files modified since the merge base, and by rule 6 (`--env`),
        // for all of them: a SHA-256 costs more than parsing the file, so the others get none.
        let checksums: ChecksumSelection =
            ledgers.isEmpty
            ? .paths(Set(headMigrationChanges.filter { $0.kind == .modified }.compactMap(\.newPath))) : .all
        var reader = BlobReader(repository: repository)
        let headFiles = try reader.files(of: headCommit, directory: directory, checksums: checksums)
        var mergeBaseFiles: [String: MigrationBlob] = [:]
        var baseFiles: [String: MigrationBlob] = [:]
        for change in headChanges + baseChanges {
            if let path = change.oldPath, let blob = change.oldBlob, isMigration(path) {
                mergeBaseFiles[path] = try reader.file(path, blob: blob)
            }
        }
        for change in baseChanges {
            if let path = change.newPath, let blob = change.newBlob, isMigration(path) {
                baseFiles[path] = try reader.file(path, blob: blob)
            }
        }

        var input = PullRequestCheckInput(
            migrationsDirectory: directory, baseName: base.name, mergeBaseCommit: mergeBase.hex, head: headFiles,
            headChanges: headMigrationChanges, baseChanges: baseChanges.map(MigrationChange.init),
            mergeBase: mergeBaseFiles, base: baseFiles, ledgers: ledgers)
        // The pre-flight of `upgrade`, on the files this branch adds or changes (parsed in full: they are few).
        for change in headChanges where change.newBlob != nil {
            guard let path = change.newPath, let blob = change.newBlob, isMigration(path), headFiles[path]?.node != nil,
                let file = try? MigrationFile.parse(path: path, bytes: try repository.blobContents(blob))
            else { continue }
            input.preflight += Preflight.problems(applying: [file])
            if let down = file.down {
                input.preflight += Preflight.problems(
                    reverting: file.revision, down: down, transactional: file.transactional,
                    path: path, firstLine: file.downStartLine ?? 1)
            }
        }
        let check = PullRequestCheck(input)
        let tips: [CheckSide: ObjectID] = [
            .head: headCommit, .both: headCommit, .base: baseCommit, .mergeBase: mergeBase,
        ]
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
        /// `GITHUB_BASE_REF`: the branch a GitHub pull request targets.
        case pullRequest = "GITHUB_BASE_REF"
        /// The branch `origin/HEAD` points to: the repository's default branch.
        case originHead = "origin/HEAD"
        /// `origin/main`, `main`, `origin/master` or `master`, the first that exists.
        case main

        func explanation(branch: String?) -> String {
            switch self {
            case .option: "given with --base"
            case .pullRequest: "the pull request's base branch, from GITHUB_BASE_REF"
            case .originHead: "the repository's default branch, where origin/HEAD points"
            case .main: "the repository's default branch: there is no GITHUB_BASE_REF and no origin/HEAD"
            }
        }
    }

    /// `--base` when given; else the repository's default branch, which is what a pull request is compared with:
    /// `GITHUB_BASE_REF` in a GitHub pull-request workflow (as `origin/REF` when fetched), else the branch
    /// origin/HEAD points to, else the first of `origin/main`, `main`, `origin/master`, `master` that exists.
    ///
    /// The branch's own upstream is not a default: on a feature branch it is the feature branch itself, and the
    /// check would pass without comparing anything.
    static func chooseBase(
        _ repository: Repository, requested: String?, branch: String?,
        environment: [String: String]
    ) throws(GitError) -> (name: String, choice: BaseChoice) {
        if let requested { return (requested, .option) }
        if let target = environment["GITHUB_BASE_REF"], !target.isEmpty {
            return (repository.referenceExists("origin/" + target) ? "origin/" + target : target, .pullRequest)
        }
        if repository.referenceExists("origin/HEAD") {
            let name = try repository.defaultBranchOfOrigin()
            return (name, .originHead)
        }
        for name in ["origin/main", "main", "origin/master", "master"] where repository.referenceExists(name) {
            return (name, .main)
        }
        return ("main", .main)
    }

    // MARK: - History for findings

    /// The commits that answer `query`; empty when git cannot tell (the finding then names no commit).
    private static func answer(
        _ query: HistoryQuery, repository: Repository, head: ObjectID,
        tips: [CheckSide: ObjectID]
    ) -> [CommitSummary] {
        switch query {
        case .touching(let path, let since):
            let hiding = since.flatMap { ObjectID(hex: $0) }.flatMap { repository.contains($0) ? $0 : nil }
            let limit = hiding == nil ? 10 : 50
            let commits = (try? repository.commitsTouching(path: path, from: head, hiding: hiding, limit: limit)) ?? []
            return commits.map(CommitSummary.init)
        case .adding(let path, let side):
            guard let tip = tips[side], let commit = try? repository.commitAdding(path: path, from: tip) else {
                return []
            }
            return [CommitSummary(commit)]
        }
    }

    /// A git failure as the error the command reports (exit 3); the git module's messages already name the fix.
    private static func failure(_ error: GitError, projectRoot: String) -> OrchestrateError {
        switch error.code {
        case .notARepository:
            return .operation(
                "git: \(error.message)",
                hint: "check compares git commits: run it in a clone of the project's repository")
        case .shallowHistory:
            return .operation(
                "git: \(error.message)",
                hint: "to keep the clone small instead, deepen it until it holds the merge base: "
                    + "`git fetch --deepen=200` (repeat if needed)")
        default:
            return .operation("git: \(error.message)")
        }
    }
}

/// Which of a commit's files `BlobReader.files(of:directory:checksums:)` computes a checksum for.
enum ChecksumSelection: Sendable {
    /// Every file.
    case all
    /// The files at these repository-relative paths.
    case paths(Set<String>)

    /// Whether the file at `path` gets a checksum.
    func includes(_ path: String) -> Bool {
        switch self {
        case .all: true
        case .paths(let paths): paths.contains(path)
        }
    }
}

/// Reads migration files out of commits, each blob once: the three sides of a check share most of their files.
///
/// Many files (HEAD's whole `migrations/`) are read and parsed on every core, each thread with its own repository
/// handle (libgit2 handles are not shared between threads); a few are read on the caller's handle.
struct BlobReader {
    private struct Key: Hashable {
        var blob: ObjectID
        var path: String
    }

    let repository: Repository
    /// Files read one by one (the merge base's and the base's changed files, with checksums), by blob and path.
    private var cache: [Key: MigrationBlob] = [:]
    /// The files of the last `files(of:directory:)`, which `file(_:blob:)` also draws on.
    private var listed: [String: MigrationBlob] = [:]

    init(repository: Repository) {
        self.repository = repository
    }

    /// The `.sql` files directly in `directory` of `commit`, by repository-relative path; those `checksums` selects
    /// get a checksum.
    mutating func files(
        of commit: ObjectID, directory: String, checksums: ChecksumSelection
    ) throws(GitError)
        -> [String: MigrationBlob]
    {
        let entries = try repository.files(in: commit, directory: directory).filter { $0.path.hasSuffix(".sql") }
        var files: [String: MigrationBlob] = [:]
        files.reserveCapacity(entries.count)
        for (entry, file) in zip(entries, try read(entries, checksums: checksums)) { files[entry.path] = file }
        listed = files
        return files
    }

    /// One file: `path` holding `blob`, with its checksum; read at most once.
    mutating func file(_ path: String, blob: ObjectID) throws(GitError) -> MigrationBlob {
        let key = Key(blob: blob, path: path)
        if let cached = cache[key] { return cached }
        if let known = listed[path], known.blob == blob.hex, known.checksum != nil { return known }
        let file = MigrationBlob.read(path: path, blob: blob.hex, bytes: try repository.blobContents(blob))
        cache[key] = file
        return file
    }

    /// Reads and parses `entries`, in their order; on all cores when there are many.
    private func read(_ entries: [TreeEntryFile], checksums: ChecksumSelection) throws(GitError) -> [MigrationBlob] {
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, 8)
        guard entries.count >= 256, workers > 1 else {
            var files: [MigrationBlob] = []
            files.reserveCapacity(entries.count)
            for entry in entries {
                files.append(
                    MigrationBlob.read(
                        path: entry.path, blob: entry.blob.hex, bytes: try repository.blobContents(entry.blob),
                        checksum: checksums.includes(entry.path)))
            }
            return files
        }
        // Small chunks handed out in turn, so that a thread slowed down by other work does not hold up the rest.
        let chunkSize = 128
        let chunkCount = (entries.count + chunkSize - 1) / chunkSize
        let location = repository.workdir ?? repository.gitDirectory
        let next = ChunkCounter()
        let results = ResultBox<Result<[MigrationBlob], GitError>>(count: chunkCount)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            // A thread that cannot open its own handle leaves its chunks to the others and to the caller.
            guard let own = try? Repository.discover(from: location) else { return }
            while let chunk = next.take(below: chunkCount) {
                let range = chunk * chunkSize..<min((chunk + 1) * chunkSize, entries.count)
                results.set(
                    chunk,
                    Result { () throws(GitError) in
                        var files: [MigrationBlob] = []
                        files.reserveCapacity(range.count)
                        for entry in entries[range] {
                            files.append(
                                MigrationBlob.read(
                                    path: entry.path, blob: entry.blob.hex, bytes: try own.blobContents(entry.blob),
                                    checksum: checksums.includes(entry.path)))
                        }
                        return files
                    })
            }
        }
        var files: [MigrationBlob] = []
        files.reserveCapacity(entries.count)
        for chunk in 0..<chunkCount {
            switch results.get(chunk) {
            case .success(let part): files += part
            case .failure(let error): throw error
            case nil:
                // No thread could take this chunk (none could open the repository): read it here.
                let range = chunk * chunkSize..<min((chunk + 1) * chunkSize, entries.count)
                for entry in entries[range] {
                    files.append(
                        MigrationBlob.read(
                            path: entry.path, blob: entry.blob.hex, bytes: try repository.blobContents(entry.blob),
                            checksum: checksums.includes(entry.path)))
                }
            }
        }
        return files
    }
}

/// Hands out chunk numbers 0, 1, 2… to threads, each once.
private final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}

extension MigrationChange {
    init(_ change: FileChange) {
        let kind: Kind =
            switch change.kind {
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
///             "chosenBy": "option" | "GITHUB_BASE_REF" | "origin/HEAD" | "main" },
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

    init(
        head: Head, base: Base, mergeBase: String, migrationsDirectory: String, revisions: Int, heads: [String],
        environments: [String], findings: [CheckFinding]
    ) {
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
