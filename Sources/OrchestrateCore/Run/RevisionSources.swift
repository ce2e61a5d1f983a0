import Foundation
import Migrations
import Postgres

// Where a revision's SQL comes from, and how far a non-transactional one got: the values `RevisionExecutor`
// reports failures with.

/// Where a non-transactional revision is: the statement running (or last run), of how many, and how many of them
/// are committed (each commits on its own).
struct StatementProgress {
    var index: Int
    var total: Int
    var committed: Int
}

/// The statement of a section that failed: its number among the section's statements and its line in the file.
struct FailedStatement {
    /// 1-based.
    var index: Int
    var total: Int
    var line: Int

    /// The statement of `sql` (whose first line is `startLine` in the file) that failed: the one holding the server's
    /// `position` (characters from 1, counted in `sql`) when it gave one, else the one after the `completed`
    /// statements that returned a result before the error. nil when neither is known or the count does not fit.
    ///
    /// The server drops empty statements (`;;`, a chunk of comments) as `SQLSplitter` does, so its k-th result is the
    /// splitter's k-th statement. Only called on failure: splitting costs nothing on the happy path.
    static func locate(in sql: String, startLine: Int, position: Int?, completed: Int?) -> FailedStatement? {
        let statements = SQLSplitter.split(sql)
        let index: Int
        if let position {
            let offset = position - 1
            index = (statements.lastIndex { $0.offset <= offset } ?? statements.startIndex) + 1
        } else if let completed {
            index = completed + 1
        } else {
            return nil
        }
        guard index >= 1, index <= statements.count else { return nil }
        return FailedStatement(
            index: index, total: statements.count,
            line: startLine + statements[index - 1].codeLine - 1)
    }
}

/// The revision a step belongs to, as errors name it: a migration file, or the ledger's copy of its down SQL.
struct SQLSource {
    var revision: String
    var path: String
}

func elapsed(since start: DispatchTime) -> Int {
    Int((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000)
}
