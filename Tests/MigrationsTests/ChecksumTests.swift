import Testing

@testable import Migrations

@Suite("Checksum")
struct ChecksumTests {
    let lf = "-- migrate:up\nSELECT 1;\n"

    @Test("SHA-256 test vectors")
    func vectors() {
        #expect(
            Checksum.sha256Hex(normalizing: Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Checksum.sha256Hex(normalizing: [])
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // `printf -- '-- migrate:up\nSELECT 1;\n' | sha256sum`
        #expect(
            Checksum.sha256Hex(normalizing: Array(lf.utf8))
                == "2be38f331755cac1a312dea121c3da64832ace82d37707cfd1a81ccd39dffbdf")
    }

    @Test("a parsed file's checksum is the SHA-256 of its normalised bytes")
    func parsedChecksum() throws {
        let file = try MigrationFile.parse(path: "a.sql", bytes: Array(lf.utf8))
        #expect(file.checksum == "2be38f331755cac1a312dea121c3da64832ace82d37707cfd1a81ccd39dffbdf")
    }

    @Test("BOM and CRLF give the same checksum as LF")
    func bomAndCRLF() throws {
        let crlf: [UInt8] = Array("-- migrate:up\r\nSELECT 1;\r\n".utf8)
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(lf.utf8)
        let both: [UInt8] = [0xEF, 0xBB, 0xBF] + crlf
        let expected = Checksum.sha256Hex(normalizing: Array(lf.utf8))
        #expect(Checksum.sha256Hex(normalizing: crlf) == expected)
        #expect(Checksum.sha256Hex(normalizing: bom) == expected)
        #expect(Checksum.sha256Hex(normalizing: both) == expected)
        #expect(try MigrationFile.parse(path: "a.sql", bytes: both).checksum == expected)
    }

    @Test("a one-byte change, trailing whitespace or a missing final newline changes the checksum")
    func everythingElseCounts() {
        let base = Checksum.sha256Hex(normalizing: Array(lf.utf8))
        #expect(Checksum.sha256Hex(normalizing: Array("-- migrate:up\nSELECT 2;\n".utf8)) != base)
        #expect(Checksum.sha256Hex(normalizing: Array("-- migrate:up\nSELECT 1; \n".utf8)) != base)
        #expect(Checksum.sha256Hex(normalizing: Array("-- migrate:up\nSELECT 1;".utf8)) != base)
        #expect(Checksum.sha256Hex(normalizing: Array("-- migrate:up\nSELECT 1;\n\n".utf8)) != base)
    }

    @Test("normalize strips only a leading BOM and only CR before LF")
    func normalize() {
        #expect(Checksum.normalize([0xEF, 0xBB, 0xBF, 0x61]) == [0x61])
        #expect(Checksum.normalize([0x61, 0xEF, 0xBB, 0xBF]) == [0x61, 0xEF, 0xBB, 0xBF])
        #expect(Checksum.normalize([0xEF, 0xBB]) == [0xEF, 0xBB])
        #expect(Checksum.normalize(Array("a\r\nb\rc\r\r\n\r".utf8)) == Array("a\nb\rc\r\n\r".utf8))
        #expect(Checksum.normalize([]) == [])
    }
}
