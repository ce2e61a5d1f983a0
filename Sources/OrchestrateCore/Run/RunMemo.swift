import Synchronization

/// What one command reads from git once, however many targets of a fleet use it: the provenance its runs record.
/// The first target to need it reads it (the others wait for it); a refusal is remembered as well.
final class RunMemo: Sendable {
    private let provenances = Mutex<[Bool: Result<Provenance?, OrchestrateError>]>([:])

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
