internal import CLibPQ

/// Where the session stands with respect to transactions (PQtransactionStatus).
public enum TransactionStatus: Sendable {
    /// Idle, outside a transaction block.
    case idle
    /// A statement is running.
    case active
    /// Idle inside a transaction block (after `BEGIN`).
    case inTransaction
    /// Inside a failed transaction block: everything is refused until `ROLLBACK`.
    case inError
    /// The connection is closed or broken.
    case unknown

    /// Maps libpq's value.
    init(_ status: PGTransactionStatusType) {
        switch status {
        case PQTRANS_IDLE: self = .idle
        case PQTRANS_ACTIVE: self = .active
        case PQTRANS_INTRANS: self = .inTransaction
        case PQTRANS_INERROR: self = .inError
        default: self = .unknown
        }
    }
}
