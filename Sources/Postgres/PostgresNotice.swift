internal import CLibPQ

/// A notice or warning the server sent (RAISE NOTICE, `NOTICE: table "x" does not exist, skipping`, ...), or
/// one libpq generated itself.
public struct PostgresNotice: Sendable {
    /// The non-localized severity: `WARNING`, `NOTICE`, `INFO`, `DEBUG` or `LOG`.
    public var severity: String
    /// The primary message.
    public var message: String
    /// The SQLSTATE, e.g. `01000` for a warning; nil for notices libpq generates.
    public var sqlState: String?
    /// The server's DETAIL.
    public var detail: String?
    /// The server's HINT.
    public var hint: String?

    /// Makes a notice; the library builds them from libpq, callers mostly need this in tests.
    public init(severity: String, message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil)
    {
        self.severity = severity
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
    }

    /// Reads a notice's fields from the PGresult libpq hands to the notice receiver.
    init(result: OpaquePointer) {
        func field(_ code: Int32) -> String? {
            LibPQ.string(PQresultErrorField(result, code))
        }
        self.init(
            severity: field(CLibPQ_DIAG_SEVERITY_NONLOCALIZED) ?? field(CLibPQ_DIAG_SEVERITY) ?? "NOTICE",
            message: field(CLibPQ_DIAG_MESSAGE_PRIMARY) ?? LibPQ.string(PQresultErrorMessage(result))?.trimmed ?? "",
            sqlState: field(CLibPQ_DIAG_SQLSTATE),
            detail: field(CLibPQ_DIAG_MESSAGE_DETAIL),
            hint: field(CLibPQ_DIAG_MESSAGE_HINT))
    }
}

/// Owns the notice handler of one connection and is libpq's notice receiver for it, so that libpq never prints
/// notices to stderr. The connection keeps it alive for as long as the PGconn exists.
final class NoticeReceiver {
    /// Called on the connection's thread, synchronously, for every notice; nil discards them.
    var handler: (@Sendable (PostgresNotice) -> Void)?

    init(handler: (@Sendable (PostgresNotice) -> Void)?) {
        self.handler = handler
    }

    /// Installs this receiver on `handle` (PQsetNoticeReceiver). `self` must outlive the PGconn.
    func install(on handle: OpaquePointer) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = PQsetNoticeReceiver(
            handle,
            { context, result in
                guard let context, let result else { return }
                let receiver = Unmanaged<NoticeReceiver>.fromOpaque(context).takeUnretainedValue()
                receiver.handler?(PostgresNotice(result: result))
            }, context)
    }
}

@available(*, unavailable)
extension NoticeReceiver: Sendable {}
