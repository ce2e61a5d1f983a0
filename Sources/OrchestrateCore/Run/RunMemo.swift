import Synchronization

/// What one command reads once, however many targets of a fleet use it: the provenance its runs record (the first
/// target to need it reads it, the others wait for it; a refusal is remembered as well), and the ledger rows of each
/// digest (targets whose ledgers record the same revisions are planned from one read of them).
final class RunMemo: Sendable {
    private let provenances = Mutex<[Bool: Result<Provenance?, OrchestrateError>]>([:])
    private let rowsByDigest = Mutex<(rows: [String: [AppliedRevision]], order: [String])>(([:], []))
    /// How many distinct ledgers' rows are kept: a fleet in the middle of a rollout has a few; a fleet whose every
    /// target differs must not hold every target's rows (the oldest are let go).
    static let keptLedgers = 8

    /// The rows of a ledger whose digest is `digest`, when a target of this run read them.
    func rows(digest: String) -> [AppliedRevision]? {
        rowsByDigest.withLock { $0.rows[digest] }
    }

    /// Keeps the rows read from a ledger whose digest is `digest` (rows a damaged ledger holds are never kept).
    func keep(_ rows: [AppliedRevision], digest: String) {
        rowsByDigest.withLock { memo in
            guard memo.rows.updateValue(rows, forKey: digest) == nil else { return }
            memo.order.append(digest)
            if memo.order.count > Self.keptLedgers { memo.rows[memo.order.removeFirst()] = nil }
        }
    }

    /// The provenance of a run on a first stage (`isFirstStage`) or a later one, read by `read` the first time.
    func provenance(
        isFirstStage: Bool, _ read: () throws(OrchestrateError) -> Provenance?
    ) throws(OrchestrateError) -> Provenance? {
        try provenances.withLock { cache throws(OrchestrateError) -> Provenance? in
            if let known = cache[isFirstStage] { return try known.get() }
            let result: Result<Provenance?, OrchestrateError>
            do throws(OrchestrateError) { result = .success(try read()) } catch { result = .failure(error) }
            cache[isFirstStage] = result
            return try result.get()
        }
    }
}
