/// A PostgreSQL SQLSTATE code, such as `23505` (unique_violation).
///
/// Any five-character code the server sends is representable; the named constants cover the codes orchestrate
/// reacts to. Compare with `==` (`error.sqlState == .uniqueViolation`) or by class (`sqlClass == "08"`).
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The five-character code exactly as the server sent it, e.g. `"57014"`.
    public var rawValue: String

    /// Wraps a code as the server spells it.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Wraps a code as the server spells it, e.g. `SQLState("23505")`.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// The class: the first two characters, e.g. `"08"` connection exception, `"23"` integrity violation.
    public var sqlClass: String {
        String(rawValue.prefix(2))
    }

    /// PostgreSQL's condition name for the named codes (`"unique_violation"`), nil for the others.
    public var conditionName: String? {
        Self.conditionNames[rawValue]
    }

    /// The code itself, e.g. `57014`.
    public var description: String {
        rawValue
    }

    /// 0A000 feature_not_supported.
    public static let featureNotSupported = SQLState("0A000")
    /// 08000 connection_exception.
    public static let connectionException = SQLState("08000")
    /// 08006 connection_failure.
    public static let connectionFailure = SQLState("08006")
    /// 22023 invalid_parameter_value.
    public static let invalidParameterValue = SQLState("22023")
    /// 23502 not_null_violation.
    public static let notNullViolation = SQLState("23502")
    /// 23503 foreign_key_violation.
    public static let foreignKeyViolation = SQLState("23503")
    /// 23505 unique_violation.
    public static let uniqueViolation = SQLState("23505")
    /// 23514 check_violation.
    public static let checkViolation = SQLState("23514")
    /// 25001 active_sql_transaction: the statement cannot run inside a transaction block.
    public static let activeSQLTransaction = SQLState("25001")
    /// 25006 read_only_sql_transaction.
    public static let readOnlySQLTransaction = SQLState("25006")
    /// 25P02 in_failed_sql_transaction: commands are ignored until the end of the transaction block.
    public static let inFailedSQLTransaction = SQLState("25P02")
    /// 28000 invalid_authorization_specification (no pg_hba.conf entry, unknown role, ...).
    public static let invalidAuthorizationSpecification = SQLState("28000")
    /// 28P01 invalid_password.
    public static let invalidPassword = SQLState("28P01")
    /// 2BP01 dependent_objects_still_exist.
    public static let dependentObjectsStillExist = SQLState("2BP01")
    /// 3D000 invalid_catalog_name: the database does not exist.
    public static let invalidCatalogName = SQLState("3D000")
    /// 3F000 invalid_schema_name.
    public static let invalidSchemaName = SQLState("3F000")
    /// 40001 serialization_failure.
    public static let serializationFailure = SQLState("40001")
    /// 40P01 deadlock_detected.
    public static let deadlockDetected = SQLState("40P01")
    /// 42501 insufficient_privilege.
    public static let insufficientPrivilege = SQLState("42501")
    /// 42601 syntax_error.
    public static let syntaxError = SQLState("42601")
    /// 42703 undefined_column.
    public static let undefinedColumn = SQLState("42703")
    /// 42704 undefined_object.
    public static let undefinedObject = SQLState("42704")
    /// 42710 duplicate_object.
    public static let duplicateObject = SQLState("42710")
    /// 42883 undefined_function.
    public static let undefinedFunction = SQLState("42883")
    /// 42P01 undefined_table.
    public static let undefinedTable = SQLState("42P01")
    /// 42P04 duplicate_database.
    public static let duplicateDatabase = SQLState("42P04")
    /// 42P06 duplicate_schema.
    public static let duplicateSchema = SQLState("42P06")
    /// 42P07 duplicate_table.
    public static let duplicateTable = SQLState("42P07")
    /// 53300 too_many_connections.
    public static let tooManyConnections = SQLState("53300")
    /// 55006 object_in_use (e.g. dropping a database others are connected to).
    public static let objectInUse = SQLState("55006")
    /// 55P03 lock_not_available (NOWAIT, or lock_timeout expired).
    public static let lockNotAvailable = SQLState("55P03")
    /// 57014 query_canceled (a cancel request or statement_timeout).
    public static let queryCanceled = SQLState("57014")
    /// 57P01 admin_shutdown (pg_terminate_backend, or a server shutting down).
    public static let adminShutdown = SQLState("57P01")
    /// 57P02 crash_shutdown.
    public static let crashShutdown = SQLState("57P02")
    /// 57P03 cannot_connect_now (the server is starting up, shutting down or in recovery).
    public static let cannotConnectNow = SQLState("57P03")
    /// P0001 raise_exception (PL/pgSQL RAISE EXCEPTION without an ERRCODE).
    public static let raiseException = SQLState("P0001")

    private static let conditionNames: [String: String] = [
        "0A000": "feature_not_supported", "08000": "connection_exception", "08006": "connection_failure",
        "22023": "invalid_parameter_value", "23502": "not_null_violation", "23503": "foreign_key_violation",
        "23505": "unique_violation", "23514": "check_violation", "25001": "active_sql_transaction",
        "25006": "read_only_sql_transaction", "25P02": "in_failed_sql_transaction",
        "28000": "invalid_authorization_specification", "28P01": "invalid_password",
        "2BP01": "dependent_objects_still_exist", "3D000": "invalid_catalog_name", "3F000": "invalid_schema_name",
        "40001": "serialization_failure", "40P01": "deadlock_detected", "42501": "insufficient_privilege",
        "42601": "syntax_error", "42703": "undefined_column", "42704": "undefined_object",
        "42710": "duplicate_object", "42883": "undefined_function", "42P01": "undefined_table",
        "42P04": "duplicate_database", "42P06": "duplicate_schema", "42P07": "duplicate_table",
        "53300": "too_many_connections", "55006": "object_in_use", "55P03": "lock_not_available",
        "57014": "query_canceled", "57P01": "admin_shutdown", "57P02": "crash_shutdown",
        "57P03": "cannot_connect_now", "P0001": "raise_exception",
    ]
}
