import Foundation
import Postgres
import Testing

@Suite("Connection: session advisory locks")
struct AdvisoryLockTests {
    @Test("a second session cannot take a held lock until it is unlocked")
    func exclusiveUntilUnlock() throws {
        let server = try testServerConninfo()
        let key = Int64.random(in: Int64.min...Int64.max)
        let first = try Connection(conninfo: server)
        let second = try Connection(conninfo: server)
        #expect(try first.tryAdvisoryLock(key))
        #expect(try !second.tryAdvisoryLock(key))
        #expect(try first.advisoryUnlock(key))
        #expect(try second.tryAdvisoryLock(key))
        #expect(try !first.tryAdvisoryLock(key))
        #expect(try second.advisoryUnlock(key))
        #expect(try !second.advisoryUnlock(key))
    }

    @Test("a lock is released when its session closes")
    func releasedOnClose() throws {
        let server = try testServerConninfo()
        let key = Int64.random(in: Int64.min...Int64.max)
        let first = try Connection(conninfo: server)
        let second = try Connection(conninfo: server)
        #expect(try first.tryAdvisoryLock(key))
        #expect(try !second.tryAdvisoryLock(key))
        first.close()
        // The server releases the lock when the backend exits, a moment after the client hangs up.
        var taken = false
        for _ in 0..<50 where !taken {
            taken = try second.tryAdvisoryLock(key)
            if !taken {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        #expect(taken)
    }

    @Test("the same key in two databases is two different locks")
    func perDatabase() throws {
        let key = Int64.random(in: Int64.min...Int64.max)
        let onPostgres = try Connection(conninfo: try testServerConninfo())
        #expect(try onPostgres.tryAdvisoryLock(key))
        try withScratchDatabase { conninfo in
            let onScratch = try Connection(conninfo: conninfo)
            #expect(try onScratch.tryAdvisoryLock(key))
        }
    }
}
