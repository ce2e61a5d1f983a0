import Postgres
import Testing

@Suite("PostgresError and SQLState: values without a server")
struct PostgresErrorTests {
    @Test("isTransientConnectFailure: refused, missing socket, 57P03, 53300 yes; auth and others no")
    func transient() {
        func connection(_ message: String, _ state: SQLState? = nil) -> PostgresError {
            PostgresError(kind: .connection, message: message, sqlState: state)
        }
        #expect(
            connection(#"connection to server at "db" (10.0.0.1), port 5432 failed: Connection refused"#)
                .isTransientConnectFailure)
        #expect(
            connection(#"connection to server on socket "/tmp/.s.PGSQL.5432" failed: No such file or directory"#)
                .isTransientConnectFailure)
        #expect(connection("FATAL:  the database system is starting up", .cannotConnectNow).isTransientConnectFailure)
        #expect(connection("FATAL:  sorry, too many clients already", .tooManyConnections).isTransientConnectFailure)
        #expect(
            !connection("FATAL:  password authentication failed for user \"x\"", .invalidPassword)
                .isTransientConnectFailure)
        #expect(
            !connection("FATAL:  no pg_hba.conf entry for host", .invalidAuthorizationSpecification)
                .isTransientConnectFailure)
        #expect(!connection(#"FATAL:  database "x" does not exist"#, .invalidCatalogName).isTransientConnectFailure)
        #expect(!connection(#"could not translate host name "nowhere" to address"#).isTransientConnectFailure)
        #expect(!PostgresError(kind: .query, message: "Connection refused").isTransientConnectFailure)
        #expect(
            !PostgresError(kind: .connectionLost, message: "x", sqlState: .cannotConnectNow).isTransientConnectFailure)
    }

    @Test("description shows message, SQLSTATE, position, detail and hint, but no SQL context")
    func description() {
        let error = PostgresError(
            kind: .query, message: #"relation "t" does not exist"#, sqlState: .undefinedTable, severity: "ERROR",
            detail: "some detail", hint: "some hint", position: 15, internalQuery: "SELECT secret FROM t",
            context: "SQL statement \"SELECT secret FROM t\"")
        #expect(
            error.description == """
                ERROR: relation "t" does not exist (SQLSTATE 42P01, at character 15)
                DETAIL: some detail
                HINT: some hint
                """)
        #expect(!error.description.contains("secret"))
        #expect(
            PostgresError(kind: .usage, message: "the connection is closed").description == "the connection is closed")
    }

    @Test("SQLState: class, names, equality with raw codes")
    func sqlState() {
        #expect(SQLState.uniqueViolation.rawValue == "23505")
        #expect(SQLState("23505") == .uniqueViolation)
        #expect(SQLState(rawValue: "08006").sqlClass == "08")
        #expect(SQLState.cannotConnectNow.description == "57P03")
        #expect(SQLState.queryCanceled.conditionName == "query_canceled")
        #expect(SQLState("XX999").conditionName == nil)
        let all: [SQLState] = [
            .uniqueViolation, .lockNotAvailable, .queryCanceled, .adminShutdown, .crashShutdown, .cannotConnectNow,
            .duplicateDatabase, .duplicateSchema, .duplicateObject, .undefinedTable, .undefinedObject,
            .invalidCatalogName, .invalidPassword, .invalidAuthorizationSpecification, .insufficientPrivilege,
            .syntaxError, .deadlockDetected, .serializationFailure, .activeSQLTransaction, .objectInUse,
            .tooManyConnections, .featureNotSupported, .readOnlySQLTransaction,
        ]
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { $0.rawValue.count == 5 && $0.conditionName != nil })
    }
}
