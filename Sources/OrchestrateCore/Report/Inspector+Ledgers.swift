/// What `check --env` reads: each environment's applied revisions, as recorded in its ledger.
extension Inspector {
    /// The ledger entries of `names`, in that order; an environment without a ledger has none.
    ///
    /// - Throws: `.usage` for an unknown or broken environment; `.operation` when a database cannot be read.
    public func ledgerEntries(
        _ names: [String]
    ) throws(OrchestrateError) -> [(environment: String, entries: [LedgerEntry])] {
        for name in names { _ = try project.environment(name) }
        let snapshots = readSnapshots(names)
        var result: [(environment: String, entries: [LedgerEntry])] = []
        for name in names {
            switch snapshots[name] {
            case .success(let snapshot):
                result.append(
                    (
                        name,
                        snapshot.applied.map {
                            LedgerEntry(revision: $0.revision, checksum: $0.checksum, gitCommit: $0.gitCommit)
                        }
                    ))
            case .failure(let error):
                throw error
            case nil:
                throw .operation("environment `\(name)`: its ledger was not read")
            }
        }
        return result
    }
}
