import Foundation
import Postgres
import Testing

/// Collects notices across the @Sendable handler boundary.
final class NoticeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [PostgresNotice] = []

    func append(_ notice: PostgresNotice) {
        lock.withLock { collected.append(notice) }
    }

    var notices: [PostgresNotice] {
        lock.withLock { collected }
    }
}

@Suite("Connection: notices")
struct NoticeTests {
    @Test("notices and warnings reach the handler with their fields")
    func handlerReceivesNotices() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let log = NoticeLog()
        connection.noticeHandler = { log.append($0) }
        try connection.execute(
            """
            DO $$ BEGIN
              RAISE NOTICE 'step % done', 1 USING HINT = 'nothing to do';
              RAISE WARNING 'careful' USING DETAIL = 'a detail';
            END $$
            """)
        try connection.execute("DROP TABLE IF EXISTS orch_surely_missing_table")
        let notices = log.notices
        try #require(notices.count == 3)
        #expect(notices[0].severity == "NOTICE")
        #expect(notices[0].message == "step 1 done")
        #expect(notices[0].hint == "nothing to do")
        #expect(notices[0].sqlState == "00000")
        #expect(notices[1].severity == "WARNING")
        #expect(notices[1].message == "careful")
        #expect(notices[1].detail == "a detail")
        #expect(notices[1].sqlState == "01000")
        #expect(notices[2].message.contains("does not exist, skipping"))

        connection.noticeHandler = nil
        try connection.execute("DO $$ BEGIN RAISE NOTICE 'dropped'; END $$")
        #expect(log.notices.count == 3)
    }

    @Test("a handler given to init receives notices")
    func handlerFromInit() throws {
        let log = NoticeLog()
        let connection = try Connection(conninfo: try testServerConninfo(), noticeHandler: { log.append($0) })
        try connection.execute("DO $$ BEGIN RAISE INFO 'hello'; END $$")
        #expect(log.notices.map(\.message) == ["hello"])
        #expect(log.notices.first?.severity == "INFO")
    }

    @Test("a warning sent while the session starts reaches the handler given to init")
    func startupWarning() throws {
        try withScratchDatabase { conninfo in
            try recordBogusCollationVersion(for: conninfo)
            let log = NoticeLog()
            _ = try Connection(conninfo: conninfo, noticeHandler: { log.append($0) })
            let warning = try #require(log.notices.first)
            #expect(warning.severity == "WARNING")
            #expect(warning.message.contains("collation version"))
        }
    }

    @Test("without a handler, libpq writes nothing to stderr, not even while the session starts")
    func nothingOnStandardError() async throws {
        let result = try await #require(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try withScratchDatabase { conninfo in
                try recordBogusCollationVersion(for: conninfo)
                _ = try Connection(conninfo: conninfo)
            }
            let connection = try Connection(conninfo: try testServerConninfo())
            try connection.execute("DO $$ BEGIN RAISE NOTICE 'notice-marker'; RAISE WARNING 'warning-marker'; END $$")
            try connection.advisoryUnlock(987_654_321)  // not held: the server sends a WARNING
            connection.noticeHandler = { _ in }
            connection.noticeHandler = nil
            try connection.execute("DO $$ BEGIN RAISE NOTICE 'after-reset-marker'; END $$")
        }
        let standardError = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(!standardError.contains("marker"))
        #expect(!standardError.contains("collation"))
        #expect(!standardError.contains("WARNING"))
        #expect(!standardError.contains("NOTICE"))
    }
}

/// Makes the server warn at every connection to the database of `conninfo` (a recorded collation version that
/// does not match the actual one), so that a notice arrives while the session starts.
func recordBogusCollationVersion(for conninfo: String) throws {
    let database = try #require(ConnInfo.parse(conninfo).first { $0.keyword == "dbname" }?.value)
    let admin = try Connection(conninfo: try testServerConninfo())
    try admin.query("UPDATE pg_database SET datcollversion = 'bogus' WHERE datname = $1", [.text(database)])
}
