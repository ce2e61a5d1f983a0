import Postgres
import Testing

@Suite("ConnInfo: parsing, redacting and formatting through libpq")
struct ConnInfoTests {
    func dictionary(_ pairs: [(keyword: String, value: String)]) -> [String: String] {
        Dictionary(pairs.map { ($0.keyword, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    @Test("parses key=value with quotes and escapes")
    func keyValue() throws {
        let pairs = try ConnInfo.parse(
            #"host=db.example port = 5433 dbname='my db' password='it\'s \\ s3cret' user=deploy"#)
        #expect(
            dictionary(pairs) == [
                "host": "db.example", "port": "5433", "dbname": "my db", "password": #"it's \ s3cret"#,
                "user": "deploy",
            ])
    }

    @Test("parses a URI, decoding percent-encoding and query parameters")
    func uri() throws {
        let pairs = try ConnInfo.parse(
            "postgresql://deploy:p%40ss%2Fw0rd@db.example:5433/my%20db?sslmode=require&channel_binding=require&application_name=orch"
        )
        #expect(
            dictionary(pairs) == [
                "user": "deploy", "password": "p@ss/w0rd", "host": "db.example", "port": "5433", "dbname": "my db",
                "sslmode": "require", "channel_binding": "require", "application_name": "orch",
            ])
        let multiHost = dictionary(try ConnInfo.parse("postgres://h1:5432,h2:5433/app?target_session_attrs=read-write"))
        #expect(multiHost["host"] == "h1,h2")
        #expect(multiHost["port"] == "5432,5433")
        let socket = dictionary(try ConnInfo.parse("postgresql:///app?host=%2Fvar%2Frun%2Fpostgresql"))
        #expect(socket["host"] == "/var/run/postgresql")
    }

    @Test("a string that is not a connection string is a database name, as in PQconnectdbParams")
    func plainDatabaseName() throws {
        #expect(dictionary(try ConnInfo.parse("inventory")) == ["dbname": "inventory"])
        #expect(try ConnInfo.parse("").isEmpty)
        #expect(ConnInfo.redacted("inventory") == "dbname=inventory")
    }

    @Test(
        "parse errors are .invalidConnectionString and never quote a password",
        arguments: [
            ("host=/tmp password=Hunter2Secret bogus", "Hunter2Secret"),
            ("host=/tmp password=Hunter2 Secret", "Secret"),
            ("host=/tmp password='Hunter2Secret", "Hunter2Secret"),
            ("postgresql://u:Hunter%zzSecret@/db", "Hunter%zzSecret"),
            ("postgresql://u:Hunter2Secret@[::1/db", "Hunter2Secret"),
            ("postgresql://u:Hunter2Secret@host/db?sslmode", "Hunter2Secret"),
            ("postgresql://u:Hunter2Secret@host/db?a==b", "Hunter2Secret"),
            ("postgresql://u:Hunter2Secret@[::1]x/db", "Hunter2Secret"),
            (#"host=x password=Hun"ter "2Sec"ret"#, "2Sec"),
        ])
    func parseErrorsHideSecrets(conninfo: String, secret: String) throws {
        let error = try #require(throws: PostgresError.self) { try ConnInfo.parse(conninfo) }
        #expect(error.kind == .invalidConnectionString)
        expectNoSecret(secret, in: error)
        #expect(!error.description.contains(conninfo))
        #expect(ConnInfo.redacted(conninfo) == "<invalid connection string>")
    }

    @Test("parse errors keep what helps: an unknown option's name")
    func parseErrorsStayUseful() throws {
        let uriError = try #require(throws: PostgresError.self) {
            try ConnInfo.parse("postgresql://u:pw@host/db?sslmod=require")
        }
        #expect(
            uriError.message == #"invalid URI query parameter: "sslmod""# || uriError.message.contains(#""sslmod""#))
        let keyValueError = try #require(throws: PostgresError.self) { try ConnInfo.parse("hots=db password=pw") }
        #expect(keyValueError.message.contains(#""hots""#))
        #expect(keyValueError.description.hasPrefix("invalid PostgreSQL connection string: "))
    }

    @Test("redacted drops secrets and leads with host, port, dbname, user")
    func redacted() {
        #expect(
            ConnInfo.redacted(
                "postgresql://deploy:p%40ss@db.example:5433/app?sslmode=require&sslpassword=keypass&application_name=orch"
            )
                == "host=db.example port=5433 dbname=app user=deploy sslmode=require application_name=orch")
        #expect(
            ConnInfo.redacted("password='a b' user=me host=/tmp/sock dbname='my db'")
                == "host=/tmp/sock dbname='my db' user=me")
        #expect(ConnInfo.redacted("host=x password=") == "host=x")
        #expect(ConnInfo.redacted("nonsense=1") == "<invalid connection string>")
    }

    @Test(
        "a string libpq would take for a database name but that looks like a URL is refused, never shown",
        arguments: [
            "postgresql+psycopg2//deploy:Hunter2Secret@db.example/app",
            "postgresq://deploy:Hunter2Secret@db.example/app",
            "mysql://deploy:Hunter2Secret@db.example/app",
            "deploy:Hunter2Secret@db.example/app",
            "Hunter2Secret@db.example",
            // Parsed by libpq, but the password would land in another field (found by the fuzz suite).
            "postgresql://postgresql://deploy:Hunter2Secret@db.example/app",
            "postgresql://deploy:Hunter2Secret",
            "postgresql://db.example:5432/app?sslmode=disable\npostgresql://deploy:Hunter2Secret@db.example/app",
            "postgresql://db.example/deploy:Hunter2Secret@db.example/app",
        ])
    func mistakenURLs(conninfo: String) throws {
        let error = try #require(throws: PostgresError.self) { try ConnInfo.parse(conninfo) }
        #expect(error.kind == .invalidConnectionString)
        expectNoSecret("Hunter2Secret", in: error)
        #expect(ConnInfo.redacted(conninfo) == "<invalid connection string>")
        // Nothing is sent to a server: the connection fails before any socket is opened.
        let connectError = try #require(throws: PostgresError.self) {
            try Connection(conninfo: conninfo, applicationName: "orchestrate tests")
        }
        #expect(connectError.kind == .invalidConnectionString)
        expectNoSecret("Hunter2Secret", in: connectError)
        // A plain database name is still one.
        #expect(dictionary(try ConnInfo.parse("app_db")) == ["dbname": "app_db"])
    }

    @Test("SQLAlchemy's postgresql+DRIVER:// loses +DRIVER; other strings are untouched")
    func sqlAlchemyScheme() throws {
        #expect(
            ConnInfo.normalized("postgresql+psycopg2://u:pw@h:5433/db?sslmode=require")
                == "postgresql://u:pw@h:5433/db?sslmode=require")
        #expect(ConnInfo.normalized("postgresql+asyncpg://h/db") == "postgresql://h/db")
        #expect(ConnInfo.normalized("postgres+pg8000://h/db") == "postgres://h/db")
        for unchanged in [
            "postgresql://h/db", "postgres://h/db", "host=h", "postgresql+://h/db", "postgresql+a b://h/db",
            "postgresql+psycopg2:/h/db", "app",
        ] {
            #expect(ConnInfo.normalized(unchanged) == unchanged)
        }
        #expect(
            dictionary(try ConnInfo.parse("postgresql+psycopg2://deploy:pw@db.example:5433/app"))
                == ["user": "deploy", "password": "pw", "host": "db.example", "port": "5433", "dbname": "app"])
        #expect(
            ConnInfo.redacted("postgresql+asyncpg://deploy:Hunter2Secret@db.example/app?sslmode=require")
                == "host=db.example dbname=app user=deploy sslmode=require")
    }

    @Test("format quotes only what needs it, and parse(format(x)) == x")
    func format() throws {
        #expect(ConnInfo.format([("host", "/tmp/sock"), ("port", "5432")]) == "host=/tmp/sock port=5432")
        #expect(
            ConnInfo.format([("dbname", "my db"), ("password", "it's"), ("options", #"a\b"#), ("user", "")])
                == #"dbname='my db' password='it\'s' options='a\\b' user=''"#)
        let pairs: [(keyword: String, value: String)] = [
            ("host", "db.example"), ("dbname", " spaced \t name "), ("password", #"q'uo\te"d"#),
            ("application_name", "naïve 🐘"), ("options", "-c search_path=a,b"),
        ]
        let parsed = try ConnInfo.parse(ConnInfo.format(pairs))
        #expect(dictionary(parsed) == dictionary(pairs))
    }
}
