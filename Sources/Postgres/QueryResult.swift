internal import CLibPQ

/// The rows and status of one statement, copied out of libpq's PGresult (which is freed right away).
///
/// Values are in PostgreSQL's text format (`t`/`f` for booleans, `2024-05-01 12:00:00+00` for timestamptz, ...);
/// nil is SQL NULL. The cells are kept as one block of UTF-8 bytes and become Strings only when read, so a result of
/// thousands of rows costs two allocations instead of one per row and per long value.
public struct QueryResult: Sendable {
    /// The column names, in order (duplicates possible, e.g. `SELECT 1 AS a, 2 AS a`).
    public var columns: [String]
    /// The rows; each has one value per column, nil for SQL NULL.
    public var rows: Rows
    /// The rows affected or returned, as the command tag reports it (PQcmdTuples); nil for commands that report
    /// none, such as `CREATE TABLE`.
    public var affectedRows: Int?
    /// The command tag (PQcmdStatus), e.g. `INSERT 0 1`, `CREATE TABLE`; empty for an empty query.
    public var command: String

    /// Makes a result; the library builds them from libpq, callers mostly need this in tests.
    public init(columns: [String] = [], rows: [[String?]] = [], affectedRows: Int? = nil, command: String = "") {
        self.columns = columns
        self.rows = Rows(rows, columnCount: rows.first?.count ?? columns.count)
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
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        columns = (0..<Int32(columnCount)).map { LibPQ.string(PQfname(result, $0)) ?? "" }
        rows = Rows(result: result, rowCount: rowCount, columnCount: columnCount)
        affectedRows = LibPQ.string(PQcmdTuples(result)).flatMap { Int($0) }
        command = LibPQ.string(PQcmdStatus(result)) ?? ""
    }

    /// The rows of a result: a random-access collection of `Row`.
    public struct Rows: RandomAccessCollection, Sendable {
        /// Every cell's bytes, row after row.
        fileprivate let bytes: [UInt8]
        /// Where each cell starts in `bytes`; one more entry than there are cells, the last is `bytes.count`.
        fileprivate let starts: [Int]
        /// Whether each cell is SQL NULL.
        fileprivate let nulls: [Bool]
        fileprivate let columnCount: Int
        public let count: Int

        public var startIndex: Int { 0 }
        public var endIndex: Int { count }

        public subscript(position: Int) -> Row {
            precondition(position >= 0 && position < count, "row \(position) out of range 0..<\(count)")
            return Row(rows: self, first: position * columnCount)
        }

        init(_ values: [[String?]], columnCount: Int) {
            var bytes: [UInt8] = []
            var starts: [Int] = [0]
            var nulls: [Bool] = []
            for row in values {
                precondition(row.count == columnCount, "every row needs \(columnCount) values")
                for value in row {
                    bytes += value?.utf8 ?? "".utf8
                    starts.append(bytes.count)
                    nulls.append(value == nil)
                }
            }
            self.bytes = bytes
            self.starts = starts
            self.nulls = nulls
            self.columnCount = columnCount
            self.count = values.count
        }

        init(result: OpaquePointer, rowCount: Int, columnCount: Int) {
            let cellCount = rowCount * columnCount
            var total = 0
            for row in 0..<Int32(rowCount) {
                for column in 0..<Int32(columnCount) { total += Int(PQgetlength(result, row, column)) }
            }
            var starts: [Int] = []
            starts.reserveCapacity(cellCount + 1)
            starts.append(0)
            var nulls: [Bool] = []
            nulls.reserveCapacity(cellCount)
            let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
                var offset = 0
                for row in 0..<Int32(rowCount) {
                    for column in 0..<Int32(columnCount) {
                        let isNull = PQgetisnull(result, row, column) != 0
                        let length = isNull ? 0 : Int(PQgetlength(result, row, column))
                        if length > 0, let value = PQgetvalue(result, row, column), let base = buffer.baseAddress {
                            UnsafeMutableRawPointer(base + offset).copyMemory(from: value, byteCount: length)
                        }
                        offset += length
                        starts.append(offset)
                        nulls.append(isNull)
                    }
                }
                initialized = offset
            }
            self.bytes = bytes
            self.starts = starts
            self.nulls = nulls
            self.columnCount = columnCount
            self.count = rowCount
        }

        fileprivate func value(_ cell: Int) -> String? {
            if nulls[cell] { return nil }
            let range = starts[cell]..<starts[cell + 1]
            return bytes.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self)
            }
        }
    }

    /// One row: a random-access collection of its values, nil for SQL NULL.
    public struct Row: RandomAccessCollection, Sendable {
        fileprivate let rows: Rows
        /// The index of the row's first cell.
        fileprivate let first: Int

        public var startIndex: Int { 0 }
        public var endIndex: Int { rows.columnCount }

        public subscript(position: Int) -> String? {
            precondition(
                position >= 0 && position < rows.columnCount, "column \(position) out of range 0..<\(rows.columnCount)")
            return rows.value(first + position)
        }
    }
}

extension QueryResult {
    /// The rows, each read by column name (`record["applied_at"]`).
    public var records: [Record] {
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        return rows.map { Record(row: $0, columnIndex: index) }
    }

    /// One row read by column name: the SQL that produced it names its columns once, and the reader uses the
    /// same names, so adding or reordering a column cannot shift the others.
    public struct Record: Sendable {
        /// The row, by position.
        public let row: Row
        let columnIndex: [String: Int]

        /// The value of the first column named `column`, nil for SQL NULL. The column must be in the result: a name
        /// that is not is a programming error, not a NULL.
        public subscript(column: String) -> String? {
            guard let position = columnIndex[column] else {
                preconditionFailure(
                    "no column `\(column)` in the result (\(columnIndex.keys.sorted().joined(separator: ", ")))")
            }
            return row[position]
        }

        /// The column as an integer, nil for NULL (or text that is not one).
        public func integer(_ column: String) -> Int? {
            self[column].flatMap { Int($0) }
        }

        /// The column as a boolean (`t`/`f`), nil for NULL.
        public func boolean(_ column: String) -> Bool? {
            self[column].map { $0 == "t" }
        }
    }
}
