import Migrations

/// The rules of `orchestrate check`, as a pure function of the files of HEAD, the base and their merge base.
///
/// 1. HEAD's files parse and form a valid graph (every parse error, every missing parent, a cycle). Several roots are
///    valid.
/// 2. The files the merge of HEAD and the base would hold form a graph with exactly one head; when not, the finding
///    names each head, the side it comes from, the commit that added it, and the command that fixes it. Evaluated
///    whatever rule 1 found: one rule never hides another.
/// 3. A file that exists at the merge base and is modified, renamed or deleted on HEAD's side is an error, unless
///    only its line endings or BOM changed (the checksums match).
/// 6. With ledgers (`--env`): an applied revision whose file at HEAD has another checksum, or is gone.
///
/// Checking takes two steps so that git is asked only about what is wrong: `init` finds the problems and lists the
/// `historyQueries` whose answers name the commits; `findings(history:)` then writes the findings with them.
public struct PullRequestCheck: Sendable {
    /// The number of revisions at HEAD (files that parsed).
    public let revisionCount: Int
    /// The heads of the merged result, when it could be built.
    public private(set) var mergedHeads: [String] = []
    /// The questions whose answers `findings(history:)` needs; ask git each once.
    public private(set) var historyQueries: [HistoryQuery] = []

    private let baseName: String
    private let mergeBaseCommit: String
    private let directoryPrefix: String
    private var issues: [Issue] = []

    /// A problem found, waiting for the commits that explain it.
    private enum Issue: Sendable {
        case ready(CheckFinding)
        case heads([CheckedRevision], queries: [HistoryQuery], fix: String)
        case release(MigrationChange.Kind, oldPath: String, newPath: String?, query: HistoryQuery)
        case applied(
            CheckFinding.Kind, environment: String, entry: LedgerEntry, path: String, renamedTo: String?,
            recorded: String, current: String?, query: HistoryQuery)
    }

    /// Finds the problems in `input`.
    public init(_ input: PullRequestCheckInput) {
        baseName = input.baseName
        mergeBaseCommit = input.mergeBaseCommit
        directoryPrefix = input.migrationsDirectory.isEmpty ? "" : input.migrationsDirectory + "/"
        let headCheck = Self.validate(input.head, prefix: directoryPrefix)
        revisionCount = headCheck.count
        issues = headCheck.findings.map(Issue.ready)
        issues += input.preflight.map { problem in
            .ready(
                CheckFinding(
                    kind: .refusedBeforeRunning, file: problem.path, line: problem.line,
                    revisions: [
                        CheckedRevision(
                            revision: problem.revision, file: problem.path, side: .head,
                            parents: [])
                    ],
                    message: problem.description + "; `upgrade` would refuse it before running anything",
                    fix: problem.fix))
        }
        // Evaluated even when HEAD has invalid files: a divergence must not hide behind an unrelated error.
        mergedHeads = checkMergedResult(input, headGraph: headCheck.findings.isEmpty ? headCheck.graph : nil)
        checkReleasedFiles(input)
        checkLedgers(input)
    }

    // MARK: - Rule 1: HEAD is valid

    /// Parse errors and graph errors of one side's files; the graph when there are none.
    private static func validate(
        _ files: [String: MigrationBlob], prefix: String
    )
        -> (findings: [CheckFinding], graph: RevisionGraph?, count: Int)
    {
        // The usual case, every file parses and the graph is valid, costs one graph build; only a failure pays
        // for finding every error.
        var nodes: [RevisionNode] = []
        nodes.reserveCapacity(files.count)
        for blob in files.values {
            guard let node = blob.node else { break }
            nodes.append(node)
        }
        if nodes.count == files.count, let graph = try? RevisionGraph(nodes) {
            return ([], graph, nodes.count)
        }
        return allErrors(files, prefix: prefix)
    }

    /// Every parse and graph error of `files`.
    private static func allErrors(
        _ files: [String: MigrationBlob], prefix: String
    )
        -> (findings: [CheckFinding], graph: RevisionGraph?, count: Int)
    {
        var findings: [CheckFinding] = []
        var parsed: [(path: String, file: MigrationBlob)] = []
        var parsedIDs = Set<String>()
        var brokenIDs = Set<String>()
        parsed.reserveCapacity(files.count)
        parsedIDs.reserveCapacity(files.count)
        for (path, blob) in files {
            if let node = blob.node {
                parsed.append((path, blob))
                parsedIDs.insert(node.id)
            } else if let error = blob.error {
                brokenIDs.insert(revisionID(of: path))
                findings.append(
                    CheckFinding(
                        kind: .invalidFile, file: path, line: error.line, message: error.description,
                        fix: "correct \(path) as described, then commit it"))
            }
        }
        // Dictionary order varies from run to run: report in path order.
        findings.sort { ($0.file ?? "") < ($1.file ?? "") }
        var missingParents: [CheckFinding] = []
        var nodes: [RevisionNode] = []
        nodes.reserveCapacity(parsed.count)
        for (path, blob) in parsed {
            let node = blob.node!
            var parents: [String] = []
            for parent in node.parents {
                if parsedIDs.contains(parent) {
                    parents.append(parent)
                    continue
                }
                guard !brokenIDs.contains(parent) else { continue }  // its file failed to parse: already reported
                missingParents.append(
                    CheckFinding(
                        kind: .invalidGraph, file: path, line: blob.parentLine,
                        revisions: [CheckedRevision(revision: node.id, file: path, side: .head, parents: node.parents)],
                        message: "revision \(node.id) names parent \(parent), which does not exist at HEAD "
                            + "(there is no \(prefix)\(parent).sql)",
                        fix: "fix the `-- parent:` line of \(path), or restore \(prefix)\(parent).sql"))
            }
            nodes.append(RevisionNode(id: node.id, parents: parents))
        }
        findings += missingParents.sorted { ($0.file ?? "", $0.message) < ($1.file ?? "", $1.message) }
        let graph: RevisionGraph
        do {
            graph = try RevisionGraph(nodes)
        } catch {
            findings.append(graphFinding(error, files: files, prefix: prefix, kind: .invalidGraph, where: "at HEAD"))
            return (findings, nil, parsed.count)
        }
        return (findings, graph, parsed.count)
    }

    /// A graph error as a finding that names the file (and the `-- parent:` line) at fault, in the graph error's one
    /// wording (`GraphError.explanation`).
    private static func graphFinding(
        _ error: GraphError, files: [String: MigrationBlob], prefix: String,
        kind: CheckFinding.Kind, where place: String
    ) -> CheckFinding {
        let locate: GraphError.Locator = { id in (prefix + id + ".sql", files[prefix + id + ".sql"]?.parentLine) }
        let (message, fix) = error.explanation(locate: locate)
        var file: String?
        switch error {
        case .missingParent(let revision, _): file = prefix + revision + ".sql"
        case .cycle(let cycle): file = prefix + (cycle.first ?? "") + ".sql"
        default: file = nil
        }
        return CheckFinding(
            kind: kind, file: file, line: file.flatMap { files[$0]?.parentLine },
            message: message + " (\(place))", fix: fix)
    }

    /// The revision id of a migration path: its file name without `.sql`.
    static func revisionID(of path: String) -> String {
        let utf8 = path.utf8
        let start = utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? utf8.startIndex
        let end =
            utf8.count >= 4 && utf8.suffix(4).elementsEqual(".sql".utf8)
            ? utf8.index(utf8.endIndex, offsetBy: -4) : utf8.endIndex
        return start <= end ? String(path[start..<end]) : ""
    }

    // MARK: - Rule 2: one head after merging

    /// Checks the files the merge would hold; returns the merged heads.
    ///
    /// Heads are read from the parents each file declares, so they are known even when a file does not parse or a
    /// parent is missing; only a file whose parents cannot be read at all leaves the rule unevaluated, and then the
    /// finding says so instead of guessing.
    private mutating func checkMergedResult(_ input: PullRequestCheckInput, headGraph: RevisionGraph?) -> [String] {
        // Each path as git's merge resolves it: a side's change wins over the unchanged side; when both sides
        // changed it (a conflict git will report), HEAD's version stands. Only paths the base changed can differ
        // from HEAD's files.
        var overrides: [String: MigrationBlob?] = [:]
        var addedOnBase = Set<String>()
        for change in input.baseChanges {
            for path in Set([change.oldPath, change.newPath].compactMap { $0 }) {
                let theirs = input.base[path]
                let original = input.mergeBase[path]
                guard theirs?.blob != original?.blob, input.head[path]?.blob == original?.blob else { continue }
                overrides[path] = .some(theirs)
            }
            if change.kind == .added || change.kind == .renamed, let path = change.newPath { addedOnBase.insert(path) }
        }
        let addedOnHead = Set(
            input.headChanges.filter { $0.kind == .added || $0.kind == .renamed }.compactMap(\.newPath))

        if let headGraph, overrides.isEmpty {
            // The usual case: the merge holds HEAD's files, whose graph is built and valid.
            return reportHeads(
                headGraph.heads, parents: headGraph.parents(of:), addedOnHead: addedOnHead,
                addedOnBase: addedOnBase)
        }
        var files = input.head
        for (path, blob) in overrides {
            if let blob {
                if blob.node == nil {
                    issues.append(
                        .ready(
                            CheckFinding(
                                kind: .invalidMergedGraph, file: path, line: blob.error?.line,
                                message: "\(path) on \(baseName) does not parse: "
                                    + (blob.error?.message ?? "unknown error"),
                                fix: "fix \(path) on \(baseName)")))
                }
                files[path] = blob
            } else {
                files[path] = nil
            }
        }
        var parentsByID: [String: [String]] = [:]
        var unreadable: [String] = []
        for (path, blob) in files {
            if let parents = blob.declaredParents {
                parentsByID[Self.revisionID(of: path)] = parents
            } else {
                unreadable.append(path)
            }
        }
        guard unreadable.isEmpty else {
            unreadable.sort()
            issues.append(
                .ready(
                    CheckFinding(
                        kind: .invalidMergedGraph, file: unreadable[0], line: nil,
                        message: "whether merging \(baseName) leaves one head is unknown: the parents of "
                            + Listing.phrase(unreadable) + " cannot be read",
                        fix: "fix the `-- parent:` line of " + Listing.phrase(unreadable)
                            + ", then run `orchestrate check` again")))
            return []
        }
        // A graph error of the merged result is worth its own finding only when HEAD alone is valid: otherwise
        // rule 1 has named it already.
        if headGraph != nil {
            do {
                _ = try RevisionGraph(files.values.compactMap(\.node))
            } catch {
                issues.append(
                    .ready(
                        Self.graphFinding(
                            error, files: files, prefix: directoryPrefix, kind: .invalidMergedGraph,
                            where: "after merging \(baseName)")))
            }
        }
        var named = Set<String>()
        for parents in parentsByID.values { named.formUnion(parents) }
        let heads = parentsByID.keys.filter { !named.contains($0) }.sorted()
        return reportHeads(
            heads, parents: { parentsByID[$0] ?? [] }, addedOnHead: addedOnHead, addedOnBase: addedOnBase)
    }

    /// Records the finding for several `heads` of the merged result; returns `heads`.
    private mutating func reportHeads(
        _ heads: [String], parents: (String) -> [String], addedOnHead: Set<String>,
        addedOnBase: Set<String>
    ) -> [String] {
        guard heads.count > 1 else { return heads }

        func side(_ revision: String) -> CheckSide {
            let path = directoryPrefix + revision + ".sql"
            switch (addedOnHead.contains(path), addedOnBase.contains(path)) {
            case (true, true): return .both
            case (true, false): return .head
            case (false, true): return .base
            case (false, false): return .mergeBase
            }
        }
        var revisions: [CheckedRevision] = []
        var queries: [HistoryQuery] = []
        for head in heads {
            let path = directoryPrefix + head + ".sql"
            let headSide = side(head)
            revisions.append(CheckedRevision(revision: head, file: path, side: headSide, parents: parents(head)))
            queries.append(.adding(path: path, side: headSide))
        }
        historyQueries.append(contentsOf: queries)
        let fix = Self.fixForHeads(revisions, parents: parents, side: side, baseName: baseName)
        issues.append(.heads(revisions, queries: queries, fix: fix))
        return heads
    }

    /// The command that leaves one head: rebase the pull request's own revision onto the other head when that is
    /// a single move, else a merge revision.
    private static func fixForHeads(
        _ heads: [CheckedRevision], parents parentsOf: (String) -> [String], side: (String) -> CheckSide,
        baseName: String
    ) -> String {
        let ours = heads.filter { $0.side == .head }
        let others = heads.filter { $0.side != .head }
        let needsBase = heads.contains { $0.side == .base }
        let bringBase =
            "bring \(baseName) into this branch (`git merge \(baseName)` or `git rebase \(baseName)`), then "
        if ours.isEmpty {
            return "the heads do not come from this branch: \(baseName) itself has several; run `orchestrate merge` "
                + "there (or here, after `git merge \(baseName)`) to join them with a merge revision"
        }
        if ours.count == 1, others.count == 1 {
            // The first revision of this branch on the way to its head: the one whose parents are not this branch's.
            var entries: [String] = []
            var stack = [ours[0].revision]
            var seen = Set<String>()
            while let revision = stack.popLast() {
                guard seen.insert(revision).inserted else { continue }
                let parents = parentsOf(revision)
                let ownParents = parents.filter { side($0) == .head }
                if ownParents.count < parents.count || parents.isEmpty { entries.append(revision) }
                stack.append(contentsOf: ownParents)
            }
            if entries.count == 1, parentsOf(entries[0]).count == 1 {
                let command = "orchestrate rebase \(entries[0]) --onto \(others[0].revision)"
                return (needsBase ? bringBase + "run `\(command)`" : "run `\(command)`")
                    + " and commit the result; or run `orchestrate merge` to join the heads with a merge revision"
            }
        }
        return (needsBase ? bringBase : "")
            + "run `orchestrate merge` to join the heads with a merge revision, and commit it"
    }

    // MARK: - Rule 3: released files are immutable

    private mutating func checkReleasedFiles(_ input: PullRequestCheckInput) {
        for change in input.headChanges {
            guard let oldPath = change.oldPath, let original = input.mergeBase[oldPath] else { continue }
            switch change.kind {
            case .added:
                continue
            case .modified:
                // Line endings or a BOM only: the checksum says it is the same file.
                if let newPath = change.newPath, let current = input.head[newPath]?.checksum,
                    current == original.checksum
                {
                    continue
                }
            case .renamed, .deleted:
                break
            }
            let query = HistoryQuery.touching(path: oldPath, since: mergeBaseCommit)
            historyQueries.append(query)
            issues.append(.release(change.kind, oldPath: oldPath, newPath: change.newPath, query: query))
        }
    }

    // MARK: - Rule 6: applied revisions are immutable

    private mutating func checkLedgers(_ input: PullRequestCheckInput) {
        guard !input.ledgers.isEmpty else { return }
        var pathByChecksum: [String: String] = [:]
        for (path, blob) in input.head {
            if let checksum = blob.checksum, pathByChecksum[checksum].map({ path < $0 }) ?? true {
                pathByChecksum[checksum] = path
            }
        }
        for (environment, entries) in input.ledgers {
            for entry in entries {
                let path = directoryPrefix + entry.revision + ".sql"
                let query = HistoryQuery.touching(path: path, since: entry.gitCommit)
                if let current = input.head[path] {
                    guard current.checksum != entry.checksum else { continue }
                    historyQueries.append(query)
                    issues.append(
                        .applied(
                            .editedAfterApply, environment: environment, entry: entry, path: path,
                            renamedTo: nil, recorded: entry.checksum, current: current.checksum, query: query))
                } else {
                    let renamedTo = pathByChecksum[entry.checksum]
                    historyQueries.append(query)
                    issues.append(
                        .applied(
                            renamedTo == nil ? .deletedAfterApply : .renamedAfterApply, environment: environment,
                            entry: entry, path: path, renamedTo: renamedTo, recorded: entry.checksum,
                            current: nil, query: query))
                }
            }
        }
    }

    // MARK: - Findings

    /// The findings, with the commits `history` gives for `historyQueries` (a missing answer means "unknown").
    ///
    /// Order: rule 1, rule 2, rule 3, then the environments, each in a stable order.
    public func findings(history: [HistoryQuery: [CommitSummary]]) -> [CheckFinding] {
        let base = String(mergeBaseCommit.prefix(7))
        return issues.map { issue in
            switch issue {
            case .ready(let finding):
                return finding
            case .heads(let heads, let queries, let fix):
                var revisions = heads
                for index in revisions.indices { revisions[index].addedBy = history[queries[index]]?.first }
                let described = revisions.map { revision in
                    var text =
                        "\(revision.revision) ("
                        + (revision.parents.isEmpty ? "a root" : "parent " + revision.parents.joined(separator: ", "))
                    switch revision.side {
                    case .head: text += "; added on this branch"
                    case .base: text += "; added on \(baseName)"
                    case .both: text += "; added on both sides"
                    case .mergeBase: text += "; already at the merge base \(base)"
                    }
                    if let commit = revision.addedBy { text += " in " + commit.line }
                    return text + ")"
                }
                let file = revisions.first(where: { $0.side == .head }) ?? revisions[0]
                return CheckFinding(
                    kind: .multipleHeads, file: file.file, line: nil, revisions: revisions,
                    message: "merging \(baseName) would leave \(revisions.count) heads: " + Listing.phrase(described)
                        + "; upgrade and promote need exactly one",
                    fix: fix)
            case .release(let kind, let oldPath, let newPath, let query):
                let commits = history[query] ?? []
                let changedBy = commits.isEmpty ? "" : ", in " + Listing.phrase(commits.map(\.line))
                let released =
                    "\(oldPath) exists at the merge base with \(baseName) (\(base)), so it may already run somewhere"
                let revision = Self.revisionID(of: oldPath)
                switch kind {
                case .renamed:
                    let target = newPath ?? "?"
                    return CheckFinding(
                        kind: .renamedRelease, file: newPath ?? oldPath, line: nil,
                        revisions: [CheckedRevision(revision: revision, file: oldPath, side: .mergeBase, parents: [])],
                        commits: commits,
                        message: "\(released); this branch renames it to \(target) (revision \(revision) becomes "
                            + "\(Self.revisionID(of: target)))\(changedBy)",
                        fix: "restore it: `git rm -q \(target) && git checkout \(base) -- \(oldPath)`; "
                            + "put any change in a new revision (`orchestrate new MESSAGE`)")
                case .deleted:
                    return CheckFinding(
                        kind: .deletedRelease, file: oldPath, line: nil,
                        revisions: [CheckedRevision(revision: revision, file: oldPath, side: .mergeBase, parents: [])],
                        commits: commits,
                        message: "\(released); this branch deletes it\(changedBy)",
                        fix: "restore it: `git checkout \(base) -- \(oldPath)`; to undo what it does, write a new "
                            + "revision (`orchestrate new MESSAGE`)")
                case .added, .modified:
                    return CheckFinding(
                        kind: .editedRelease, file: newPath ?? oldPath, line: nil,
                        revisions: [CheckedRevision(revision: revision, file: oldPath, side: .mergeBase, parents: [])],
                        commits: commits,
                        message: "\(released); this branch edits it\(changedBy)",
                        fix: "restore it: `git checkout \(base) -- \(oldPath)`, and put the change in a new revision "
                            + "(`orchestrate new MESSAGE`)")
                }
            case .applied(
                let kind, let environment, let entry, let path, let renamedTo, let recorded, let current, let query):
                let commits = history[query] ?? []
                let changedBy = commits.isEmpty ? "" : "; changed by " + Listing.phrase(commits.map(\.line))
                let from = entry.gitCommit.map { " from commit \($0.prefix(7))" } ?? ""
                let restore =
                    entry.gitCommit.map { "`git checkout \($0.prefix(7)) -- \(path)`" } ?? "the version it applied"
                let revisions = [CheckedRevision(revision: entry.revision, file: path, side: .head, parents: [])]
                switch kind {
                case .renamedAfterApply:
                    let target = renamedTo ?? "?"
                    return CheckFinding(
                        kind: kind, file: target, line: nil, environment: environment, revisions: revisions,
                        commits: commits,
                        message:
                            "`\(environment)` applied revision \(entry.revision)\(from), and its file is now \(target) "
                            + "(same contents, revision id \(Self.revisionID(of: target)))\(changedBy)",
                        fix: "rename it back: `git mv \(target) \(path)`")
                case .deletedAfterApply:
                    return CheckFinding(
                        kind: kind, file: path, line: nil, environment: environment, revisions: revisions,
                        commits: commits,
                        message:
                            "`\(environment)` applied revision \(entry.revision)\(from), and HEAD has no \(path)\(changedBy)",
                        fix:
                            "restore it (\(restore)); to undo what it did, write a new revision (`orchestrate new MESSAGE`), "
                            + "or revert it in `\(environment)` with `orchestrate downgrade`")
                default:
                    return CheckFinding(
                        kind: kind, file: path, line: nil, environment: environment, revisions: revisions,
                        commits: commits,
                        message:
                            "`\(environment)` applied revision \(entry.revision)\(from) with checksum \(recorded.prefix(12)), "
                            + "and \(path) at HEAD has checksum \((current ?? "").prefix(12))\(changedBy)",
                        fix: "restore it (\(restore)) and put the change in a new revision; if the edit is harmless, "
                            + "`orchestrate repair \(environment) \(entry.revision) --reason TEXT` accepts it")
                }
            }
        }
    }
}
