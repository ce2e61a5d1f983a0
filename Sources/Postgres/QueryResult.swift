internal import CLibPQ

/// The rows and status of one statement, copied out of libpq's PGresult (which is freed right away).
///
/// Values are in PostgreSQL's text format (`t`/`f` for booleans, `2024-05-01 12:00:00+00` for timestamptz, ...);
/// nil is SQL NULL.
public struct QueryResult: Sendable {
    /// The column names, in order (duplicates possible, e.g. `SELECT 1 AS a, 2 AS a`).
    public var columns: [String]
    /// The rows; each has one value per column, nil for SQL NULL.
    public var rows: [[String?]]
    /// The rows affected or returned, as the command tag reports it (PQcmdTuples); nil for commands that report
    /// none, such as `CREATE TABLE`.
    public var affectedRows: Int?
    /// The command tag (PQcmdStatus), e.g. `INSERT 0 1`, `CREATE TABLE`; empty for an empty query.
    public var command: String

    /// Makes a result; the library builds them from libpq, callers mostly need this in tests.
    public init(columns: [String] = [], rows: [[String?]] = [], affectedRows: Int? = nil, command: String = "") {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.command = command
    }

    /// The number of rows.
    public var count: Int {
        rows.count
    }

    /// The value in `row` (0-based) of the first column named `column`; nil for SQL NULL, an unknown column or a
    /// row out of range.
    public subscript(row: Int, column: String) -> String? {
        guard rows.indices.contains(row), let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }

    /// Copies a successful PGresult (PGRES_TUPLES_OK, PGRES_COMMAND_OK or PGRES_EMPTY_QUERY).
    init(result: OpaquePointer) {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        columns = (0..<columnCount).map { LibPQ.string(PQfname(result, $0)) ?? "" }
        rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column -> String? in
                if PQgetisnull(result, row, column) != 0 {
                    return nil
                }
                guard let value = PQgetvalue(result, row, column) else { return nil }
                let length = Int(PQgetlength(result, row, column))
                return value.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                }
            }
        }
        affectedRows = LibPQ.string(PQcmdTuples(result)).flatMap { Int($0) }
        command = LibPQ.string(PQcmdStatus(result)) ?? ""
    }
}
