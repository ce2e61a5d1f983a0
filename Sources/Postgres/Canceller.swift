internal import CLibPQ

/// Cancels the statement running on one connection, from any thread (PQgetCancel / PQcancel).
///
/// Get it from `Connection.makeCanceller()` before starting the long statement, then call `cancel()` from
/// another thread, a task, or a signal source (e.g. a `DispatchSourceSignal` handler for SIGINT; do not call it
/// from inside a raw C signal handler, since Swift code there is not async-signal-safe). The statement then
/// fails with SQLSTATE 57014 query_canceled. If nothing is running, the request does nothing. Meant to be used
/// while its connection is open; afterwards it only sends a harmless request.
public final class Canceller: Sendable {
    private nonisolated(unsafe) let handle: OpaquePointer

    /// Takes ownership of a PGcancel.
    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfreeCancel(handle)
    }

    /// Asks the server to cancel; returns false when the request could not be sent (see
    /// `requestCancellation()` for libpq's message).
    @discardableResult
    public func cancel() -> Bool {
        (try? requestCancellation()) != nil
    }

    /// Asks the server to cancel the running statement; throws `.connection` with libpq's message when the
    /// request could not be delivered. Success means the request was sent, not that a statement was stopped.
    public func requestCancellation() throws(PostgresError) {
        let failure: String? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            buffer.initialize(repeating: 0)
            guard let base = buffer.baseAddress else { return "no buffer for libpq's message" }
            if PQcancel(handle, base, Int32(buffer.count)) != 0 {
                return nil
            }
            return String(cString: base).trimmed
        }
        if let failure {
            throw PostgresError(
                kind: .connection,
                message: "could not send the cancel request: \(failure.isEmpty ? "libpq gave no reason" : failure)")
        }
    }
}
