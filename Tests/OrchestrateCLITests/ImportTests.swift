import Foundation
import OrchestrateCore
import TestSupport
import Testing

/// The Python environment with the real Alembic and SQLAlchemy from PyPI, made once and kept across runs
/// (`ORCHESTRATE_ALEMBIC_VENV`, default /tmp/orchestrate-alembic-venv; `.ci/run` makes it before the tests).
enum AlembicVenv {
    static let directory =
        ProcessInfo.processInfo.environment["ORCHESTRATE_ALEMBIC_VENV"] ?? "/tmp/orchestrate-alembic-venv"
    static let requirements = ["alembic==1.20.1", "SQLAlchemy==2.1.9", "psycopg==3.3.9"]

    /// The `alembic` command, after installing it when missing; nil (with why in `problem`) when it cannot be.
    static let alembic: String? = {
        let environment = ProcessInfo.processInfo.environment
        let python = directory + "/bin/python"
        if (try? ChildProcess.run(python, ["-c", "import alembic, sqlalchemy, psycopg"], environment: environment)
            .status) == 0
        {
            return directory + "/bin/alembic"
        }
        guard
            (try? ChildProcess.run("python3", ["-m", "venv", "--clear", directory], environment: environment).status)
                == 0,
            (try? ChildProcess.run(
                directory + "/bin/pip", ["install", "-q", "--disable-pip-version-check"] + requirements,
                environment: environment
            ).status) == 0
        else { return nil }
        return directory + "/bin/alembic"
    }()
}

/// `orchestrate import`: another tool's project in, `migrations/` out, then applied for real.
@Suite("import", .serialized)
struct ImportTests {
    static let envPy = """
        from alembic import context
        from sqlalchemy import engine_from_config, pool

        config = context.config

        def run_migrations_offline():
            context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                              dialect_opts={"paramstyle": "named"})
            with context.begin_transaction():
                context.run_migrations()

        def run_migrations_online():
            engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.",
                                        poolclass=pool.NullPool)
            with engine.connect() as connection:
                context.configure(connection=connection)
                with context.begin_transaction():
                    context.run_migrations()

        if context.is_offline_mode():
            run_migrations_offline()
        else:
            run_migrations_online()

        """

    static func revision(
        _ id: String, down: String, message: String, upgrade: String, downgrade: String,
        extra: String = ""
    ) -> String {
        """
        \"\"\"\(message)

        Revision ID: \(id)
        \"\"\"
        from alembic import op
        import sqlalchemy as sa

        revision = "\(id)"
        down_revision = \(down)
        \(extra)

        def upgrade():
        \(upgrade)

        def downgrade():
        \(downgrade)

        """
    }

    /// An Alembic project: two bases (one with a branch label), a `depends_on` across them, a merge, and an
    /// `autocommit_block()` at the head.
    static func writeAlembicProject(_ project: TestProject) throws {
        try project.write(
            "alembic.ini",
            "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = postgresql+psycopg://localhost/unused\n")
        try project.write("alembic/env.py", envPy)
        try project.write(
            "alembic/versions/1a2b3c4d5e6f_users.py",
            revision(
                "1a2b3c4d5e6f", down: "None", message: "create users",
                upgrade:
                    "    op.create_table(\"users\", sa.Column(\"id\", sa.Integer, primary_key=True), sa.Column(\"email\", sa.Text))",
                downgrade: "    op.drop_table(\"users\")"))
        try project.write(
            "alembic/versions/b0b0b0b0b0b0_invoices.py",
            revision(
                "b0b0b0b0b0b0", down: "None", message: "create invoices",
                upgrade: "    op.execute(\"CREATE TABLE invoices (id int PRIMARY KEY)\")",
                downgrade: "    op.execute(\"DROP TABLE invoices\")", extra: "branch_labels = (\"billing\",)"))
        try project.write(
            "alembic/versions/c0ffee000001_link.py",
            revision(
                "c0ffee000001", down: "\"1a2b3c4d5e6f\"", message: "link users to invoices",
                upgrade:
                    "    op.add_column(\"users\", sa.Column(\"invoice_id\", sa.Integer))\n    op.create_foreign_key(\"users_invoice_fk\", \"users\", \"invoices\", [\"invoice_id\"], [\"id\"])",
                downgrade:
                    "    op.drop_constraint(\"users_invoice_fk\", \"users\")\n    op.drop_column(\"users\", \"invoice_id\")",
                extra: "depends_on = \"b0b0b0b0b0b0\""))
        try project.write(
            "alembic/versions/d00d00000002_merge.py",
            revision(
                "d00d00000002", down: "(\"c0ffee000001\", \"b0b0b0b0b0b0\")", message: "merge: users and billing",
                upgrade: "    pass", downgrade: "    pass"))
        try project.write(
            "alembic/versions/e1e1e1e1e1e1_index.py",
            revision(
                "e1e1e1e1e1e1", down: "\"d00d00000002\"", message: "index emails",
                upgrade:
                    "    with op.get_context().autocommit_block():\n        op.create_index(\"users_email\", \"users\", [\"email\"], postgresql_concurrently=True)",
                downgrade:
                    "    with op.get_context().autocommit_block():\n        op.drop_index(\"users_email\", table_name=\"users\", postgresql_concurrently=True)"
            ))
    }

    @Test(
        "alembic: a merge, depends_on and an autocommit block, imported with the real Alembic, then upgraded and verified",
        .enabled(
            if: AlembicVenv.alembic != nil,
            "Alembic could not be installed into \(AlembicVenv.directory) (python3 -m venv, pip install \(AlembicVenv.requirements.joined(separator: " ")))"
        ))
    func alembic() throws {
        let alembic = try #require(AlembicVenv.alembic)
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try Self.writeAlembicProject(project)

        let imported = try project.run(["import", "alembic", "--alembic", alembic])
        #expect(imported.exitCode == 0, "\(imported.output)")
        let head = try project.read("migrations/e1e1e1e1e1e1.sql")
        #expect(head.hasPrefix("-- index emails\n-- parent: d00d00000002\n-- transaction: false\n-- migrate:up\n"))
        #expect(head.contains("CREATE INDEX CONCURRENTLY users_email ON users (email);"))
        #expect(head.contains("DROP INDEX CONCURRENTLY users_email;"))
        #expect(!head.contains("alembic_version") && !head.contains("COMMIT") && !head.contains("BEGIN"))
        #expect(try project.read("migrations/d00d00000002.sql").contains("-- parent: c0ffee000001, b0b0b0b0b0b0\n"))
        let link = try project.read("migrations/c0ffee000001.sql")
        #expect(link.contains("-- parent: 1a2b3c4d5e6f, b0b0b0b0b0b0\n"))
        #expect(try project.read("migrations/b0b0b0b0b0b0.sql").contains("-- Alembic branch labels: billing\n"))
        #expect(imported.stdout.contains("autocommit_block"))
        #expect(imported.stdout.contains("heads: e1e1e1e1e1e1"))

        // Never overwrites: a second import refuses up front, naming the files, writing nothing.
        let again = try project.run(["import", "alembic", "--alembic", alembic])
        #expect(again.exitCode == 2)
        #expect(again.stderr.contains("migrations/1a2b3c4d5e6f.sql"))

        try project.gitInitAndCommit()
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        let scratch = try TestPostgres.createDatabase(prefix: "t_import")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let verify = try project.run(["verify", "--url", scratch.conninfo])
        #expect(verify.exitCode == 0, "\(verify.output)")
    }

    @Test("flyway: a folder imported, reported in JSON, applied; a file in the way refuses the whole import")
    func flyway() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.write("sql/V1__users.sql", "CREATE TABLE users (id int PRIMARY KEY, email text);\n")
        try project.write("sql/V1.1__index.sql", "CREATE INDEX CONCURRENTLY users_email ON users (email);\n")
        try project.write("sql/R__view.sql", "CREATE OR REPLACE VIEW emails AS SELECT email FROM users;\n")
        try project.write("migrations/V1.1__index.sql", "-- migrate:up\nSELECT 1;\n")
        let refused = try project.run(["import", "flyway"])
        #expect(refused.exitCode == 2)
        #expect(refused.stderr.contains("migrations/V1.1__index.sql"))
        #expect(!FileManager.default.fileExists(atPath: project.root + "/migrations/V1__users.sql"))
        try project.remove("migrations/V1.1__index.sql")

        let imported = try project.run(["import", "flyway", "sql", "--json"])
        #expect(imported.exitCode == 0, "\(imported.output)")
        let report = try JSONDecoder().decode(ImportReport.self, from: Data(imported.stdout.utf8))
        #expect(report.imported.map(\.revision) == ["V1__users", "V1.1__index"])
        #expect(report.imported.map(\.transactional) == [true, false])
        #expect(report.notImported.map(\.source) == ["R__view.sql"])
        try project.gitInitAndCommit()
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
    }

    @Test("goose files kept in migrations/ itself are refused: import would write next to them")
    func sourceIsTheOutput() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.write("environments/dev.toml", "database_url = \"sandbox:dev\"\n")
        try project.write("migrations/00001_users.sql", "-- +goose Up\nCREATE TABLE users (id int);\n")
        let refused = try project.run(["import", "goose", "migrations"])
        #expect(refused.exitCode == 2)
        #expect(refused.stderr.contains("the folder import writes to"))
        #expect(try project.read("migrations/00001_users.sql").hasPrefix("-- +goose Up"))
    }
}
