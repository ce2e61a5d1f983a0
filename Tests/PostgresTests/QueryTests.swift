import Postgres
import Testing

@Suite("Connection: statements, results and errors")
struct QueryTests {
    @Test("parameters carry NULL, Unicode and SQL-looking text verbatim")
    func parameters() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let injection = "'); DROP TABLE pg_class; --"
        let result = try connection.query(
            "SELECT $1::text AS a, $2::text AS b, $3::int + 1 AS c, $4::text AS d, length($1) AS n",
            ["héllo wörld 🐘", nil, "41", .text(injection)])
        #expect(result.columns == ["a", "b", "c", "d", "n"])
        #expect(result.count == 1)
        #expect(result[0, "a"] == "héllo wörld 🐘")
        #expect(result[0, "b"] == nil)
        #expect(result.rows[0][1] == nil)
        #expect(result[0, "c"] == "42")
        #expect(result[0, "d"] == injection)
        #expect(result[0, "n"] == "13")
        #expect(result[0, "missing"] == nil)
        #expect(result[5, "a"] == nil)
        #expect(result.affectedRows == 1)
        #expect(result.command == "SELECT 1")
    }

    @Test("thousands of rows keep every cell apart: NULL is not '', multi-byte values, empty results")
    func manyRows() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let result = try connection.query(
            """
            SELECT i, CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE repeat('é', i % 50) || '🐘' END AS v, NULL AS n
            FROM generate_series(1, 3000) AS i
            """)
        #expect(result.count == 3000)
        #expect(result.rows.allSatisfy { $0.count == 3 })
        for (index, row) in result.rows.enumerated() {
            let i = index + 1
            let expected: String? = i % 3 == 0 ? nil : i % 3 == 1 ? "" : String(repeating: "é", count: i % 50) + "🐘"
            guard row[0] == String(i), row[1] == expected, row[2] == nil else {
                Issue.record("row \(i): \(Array(row))")
                return
            }
        }
        #expect(Array(result.rows.last ?? result.rows[0]) == ["3000", nil, nil])
        let empty = try connection.query("SELECT 1 AS a WHERE false")
        #expect(empty.count == 0 && empty.rows.isEmpty && empty.columns == ["a"])
        let none = try connection.execute("SET application_name = 'x'")
        #expect(none.rows.isEmpty && none.columns.isEmpty)
        // Results built by hand (tests, callers) read the same way.
        let manual = QueryResult(columns: ["a", "b"], rows: [["1", nil], ["", "ü"]])
        #expect(manual.rows.map { Array($0) } == [["1", nil], ["", "ü"]])
        #expect(manual[1, "b"] == "ü")
    }

    @Test("a NUL character in a parameter is a usage error, and the connection stays usable")
    func nulParameter() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let error = try #require(throws: PostgresError.self) { try connection.query("SELECT $1::text", ["a\0b"]) }
        #expect(error.kind == .usage)
        #expect(error.message.contains("$1"))
        #expect(try connection.query("SELECT 1 AS one")[0, "one"] == "1")
    }

    @Test("query refuses several statements; execute runs them and returns the last result")
    func multiStatement() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let refused = try #require(throws: PostgresError.self) { try connection.query("SELECT 1; SELECT 2") }
        #expect(refused.kind == .query)
        let result = try connection.execute(
            """
            CREATE TEMP TABLE numbers (n int);
            INSERT INTO numbers VALUES (1), (2), (3);
            SELECT count(*) AS total, sum(n) AS sum FROM numbers;
            """)
        #expect(result[0, "total"] == "3")
        #expect(result[0, "sum"] == "6")
        let update = try connection.execute("UPDATE numbers SET n = n * 2 WHERE n > 1")
        #expect(update.affectedRows == 2)
        #expect(update.command == "UPDATE 2")
        let create = try connection.execute("CREATE TEMP TABLE empty_one ()")
        #expect(create.affectedRows == nil)
        #expect(create.columns.isEmpty)
        let empty = try connection.execute("  ")
        #expect(empty.count == 0)
        let duplicates = try connection.query("SELECT 1 AS a, 2 AS a")
        #expect(duplicates.columns == ["a", "a"])
        #expect(duplicates[0, "a"] == "1")
    }

    @Test("a multi-statement execute without BEGIN is all or nothing")
    func implicitTransaction() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        #expect(throws: PostgresError.self) {
            try connection.execute("CREATE TEMP TABLE never_created (a int); SELECT 1 / 0;")
        }
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELECT * FROM never_created") }
        #expect(error.sqlState == .undefinedTable)
        #expect(error.kind == .query)
    }

    @Test("a syntax error reports its position in characters, and the description omits the SQL")
    func syntaxErrorPosition() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let sql = "SELECT 'é' FROM WHERE"
        let error = try #require(throws: PostgresError.self) { try connection.execute(sql) }
        #expect(error.kind == .query)
        #expect(error.sqlState == .syntaxError)
        #expect(error.sqlState?.conditionName == "syntax_error")
        #expect(error.severity == "ERROR")
        #expect(error.position == 17)
        #expect(error.message.contains("syntax error"))
        #expect(error.description.contains("42601"))
        #expect(error.description.contains("at character 17"))
        #expect(!error.description.contains(sql))
    }

    @Test("a unique violation names the constraint, table, schema and the duplicate key")
    func uniqueViolation() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        try connection.execute("CREATE TEMP TABLE accounts (email text CONSTRAINT accounts_email_key UNIQUE)")
        try connection.query("INSERT INTO accounts VALUES ($1)", ["a@example.com"])
        let error = try #require(throws: PostgresError.self) {
            try connection.query("INSERT INTO accounts VALUES ($1)", ["a@example.com"])
        }
        #expect(error.sqlState == .uniqueViolation)
        #expect(error.sqlState?.sqlClass == "23")
        #expect(error.constraint == "accounts_email_key")
        #expect(error.table == "accounts")
        #expect(error.schema?.hasPrefix("pg_temp") == true)
        #expect(error.detail == "Key (email)=(a@example.com) already exists.")
        #expect(connection.transactionStatus == .idle)
    }

    @Test("RAISE carries SQLSTATE, detail, hint and context")
    func raise() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let error = try #require(throws: PostgresError.self) {
            try connection.execute(
                """
                DO $$ BEGIN
                  RAISE EXCEPTION 'revision % failed', 'abc123'
                    USING DETAIL = 'the table is locked', HINT = 'retry after the batch job', ERRCODE = '55P03';
                END $$
                """)
        }
        #expect(error.sqlState == .lockNotAvailable)
        #expect(error.message == "revision abc123 failed")
        #expect(error.detail == "the table is locked")
        #expect(error.hint == "retry after the batch job")
        #expect(error.context?.contains("PL/pgSQL") == true)
        #expect(error.description.contains("HINT: retry after the batch job"))
        #expect(error.internalQuery == nil)
    }

    @Test("an error inside a transaction leaves it in error until ROLLBACK")
    func errorInTransaction() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        try connection.execute("BEGIN")
        #expect(connection.transactionStatus == .inTransaction)
        #expect(throws: PostgresError.self) { try connection.execute("SELECT 1 / 0") }
        #expect(connection.transactionStatus == .inError)
        let refused = try #require(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        #expect(refused.sqlState == .inFailedSQLTransaction)
        try connection.execute("ROLLBACK")
        #expect(connection.transactionStatus == .idle)
        #expect(connection.isOpen)
    }

    @Test("COPY to or from the client is refused and the connection stays usable")
    func copyRefused() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        try connection.execute("CREATE TEMP TABLE copied (a int); INSERT INTO copied VALUES (1), (2)")
        let copyIn = try #require(throws: PostgresError.self) { try connection.execute("COPY copied FROM STDIN") }
        #expect(copyIn.kind == .usage)
        #expect(connection.transactionStatus == .idle)
        let copyOut = try #require(throws: PostgresError.self) { try connection.execute("COPY copied TO STDOUT") }
        #expect(copyOut.kind == .usage)
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.query("SELECT count(*) AS n FROM copied")[0, "n"] == "2")
    }

    @Test("values come back as UTF-8 text whatever the database encoding")
    func encoding() throws {
        try withScratchDatabase { conninfo in
            let connection = try Connection(conninfo: conninfo)
            try connection.execute("CREATE TABLE notes (body text)")
            try connection.query("INSERT INTO notes VALUES ($1)", ["naïve café – 日本語 🐘"])
            #expect(try connection.query("SELECT body FROM notes")[0, "body"] == "naïve café – 日本語 🐘")
            #expect(try connection.query("SELECT 'a''b' AS v")[0, "v"] == "a'b")
        }
    }
}

@Suite("transactions and typed parameters", .serialized)
struct TransactionTests {
    @Test("withTransaction commits the body, rolls back a failing one, and tells BEGIN, body and COMMIT failures apart")
    func withTransaction() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        defer { connection.close() }
        try connection.execute("CREATE TEMP TABLE t (id int PRIMARY KEY, note text, flag boolean, tags text[])")
        try connection.withTransaction { () throws(PostgresError) in
            try connection.query(
                "INSERT INTO t VALUES ($1::integer, $2, $3::boolean, $4::text[])",
                [1, "it's", true, .textArray(["a", "b\"c"])])
        }
        let row = try #require(try connection.query("SELECT id, note, flag, tags FROM t").records.first)
        #expect(row.integer("id") == 1 && row["note"] == "it's" && row.boolean("flag") == true)
        #expect(row["tags"] == #"{a,"b\"c"}"#)

        do {
            try connection.withTransaction { () throws(PostgresError) in
                try connection.query("INSERT INTO t (id) VALUES (2)")
                try connection.query("INSERT INTO t (id) VALUES ($1::integer)", [.integer(1)])
            }
            Issue.record("the duplicate key succeeded")
        } catch {
            guard case .body(let failure) = error else { Issue.record("\(error)"); return }
            #expect(failure.sqlState == .uniqueViolation)
        }
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.query("SELECT count(*) AS n FROM t")[0, "n"] == "1")
    }

    @Test("a deferred constraint fails at COMMIT, reported as a commit failure with nothing committed")
    func commitFailure() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        defer { connection.close() }
        try connection.execute(
            """
            CREATE TEMP TABLE d (id int PRIMARY KEY, parent int REFERENCES d (id) DEFERRABLE INITIALLY DEFERRED)
            """)
        do {
            try connection.withTransaction { () throws(PostgresError) in
                try connection.query("INSERT INTO d VALUES (1, 42)")
            }
            Issue.record("the dangling reference committed")
        } catch {
            guard case .commit(let failure) = error else { Issue.record("\(error)"); return }
            #expect(failure.sqlState == .foreignKeyViolation)
        }
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.query("SELECT count(*) AS n FROM d")[0, "n"] == "0")
    }
}
