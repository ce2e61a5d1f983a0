"""The fleet scenario (issue 15): one environment of 1,000 targets, as databases and as schemas, on the benchmark's
cluster. Called from bench.py (`--fleet`, the full run, and a tiny form in `--smoke`) with bench.py's own module as
`api`, so that it uses the same server, timing and report code.

What it measures, with GNU time around each process and medians over repetitions:
- `status` and a no-op `upgrade` over 1,000 database targets and over 1,000 schema targets (goal: under 3 s); next to
  the database targets, three hand-written loops over the same databases: one Python process with 8 threads
  (psycopg2, the benchmark's venv) that only connects and closes (the server's floor for a fleet of databases), the
  same with `SELECT count(*) FROM orchestrate.revisions` per target (the floor of a script that reads one ledger
  table: the group's reference), and a shell loop that runs psql once per target (`xargs -P 8`);
- the same over 1,000 schema targets whose ledgers record 10 and 200 revisions (the cost must not grow with the
  history);
- one new revision applied to 200 targets and to 10 targets with `parallel = 8` (goal: at most 3x), as databases and
  as tenant schemas, with the CPU bound of the 200-target run ((server CPU + own CPU) / cores);
- peak memory (GNU time's max RSS) at 1,000 targets (goal: under 64 MiB);
- the most `orchestrate` connections open at once, sampled from pg_stat_activity every few milliseconds during one
  extra run of each command (goal: at most parallel + 1).

Set-up: the database targets are copies (`CREATE DATABASE … TEMPLATE`, file copy) of one database that a real
`orchestrate upgrade` brought to 200 revisions, so every target has the tables and a real ledger. The schema targets
get their ledger from a real fleet `upgrade --to` the first revision (orchestrate creates each tenant's ledger
schema), then the rows of the other revisions are copied from a seed ledger by SQL: `status` and a no-op `upgrade`
read only the ledger, and applying 199 revisions to 1,000 schemas would take the set-up most of an hour.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

PARALLEL = 8
GOAL_SECONDS = 3.0
GOAL_RSS_MIB = 64
GOAL_APPLY_RATIO = 3.0


def write_project(api, directory: Path, revisions, environments: dict[str, str], extra_revision=None) -> None:
    """An orchestrate project with `environments` (name -> TOML text) and the revisions (plus `extra_revision`)."""
    if directory.exists():
        api.shutil.rmtree(directory)
    (directory / "environments").mkdir(parents=True)
    (directory / "migrations").mkdir()
    for name, text in environments.items():
        (directory / "environments" / f"{name}.toml").write_text(text)
    for revision in revisions + ([extra_revision] if extra_revision else []):
        (directory / "migrations" / f"{revision.id}.sql").write_text(api.migration_text(revision))
    api.git_commit_all(directory, f"{len(revisions)} revisions")


def database_fleet(server, names: list[str]) -> str:
    lines = [f'parallel = {PARALLEL}', 'connect_retries = 0', 'targets = [']
    lines += [f'  {{ name = "{name}", url = "{server.conninfo(name)}" }},' for name in names]
    return "\n".join(lines + [']']) + "\n"


def schema_fleet(server, database: str, count: int, first: int = 1) -> str:
    """`count` schema targets of `database`: tenant_NNNN for NNNN from `first` on (ledgers orchestrate_tenant_NNNN)."""
    lines = [f'database_url = "{server.conninfo(database)}"', f'parallel = {PARALLEL}', 'connect_retries = 0',
             'targets = [']
    lines += [f'  {{ name = "s{i:04d}", schema = "tenant_{i:04d}" }},' for i in range(first, first + count)]
    return "\n".join(lines + [']']) + "\n"


# A hand-written fleet script at its leanest: one process, PARALLEL threads taking the next target from a shared
# list, one psycopg2 connection per target (autocommit: no BEGIN), closed at once. `connect` only connects; `query`
# also reads one ledger table and checks the count. Any failure exits 1, naming the target, so that a fast wrong
# loop cannot count.
LOOP_SCRIPT = '''\
import sys
import threading

import psycopg2

mode, parallel, targets_file, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
targets = [line.strip() for line in open(targets_file) if line.strip()]
lock = threading.Lock()
queue = iter(targets)
done, errors = [], []


def worker():
    while True:
        with lock:
            target = next(queue, None)
        if target is None:
            return
        try:
            connection = psycopg2.connect(target)
            try:
                if mode == "query":
                    connection.autocommit = True
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM orchestrate.revisions")
                        count = cursor.fetchone()[0]
                    if count != expected:
                        raise RuntimeError(f"orchestrate.revisions has {count} rows, expected {expected}")
            finally:
                connection.close()
            done.append(target)
        except Exception as error:
            errors.append(f"{target}: {error}".strip())


threads = [threading.Thread(target=worker) for _ in range(parallel)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if errors or len(done) != len(targets):
    print(f"{len(errors)} of {len(targets)} targets failed; first: {errors[:1]}", file=sys.stderr)
    sys.exit(1)
print(f"{len(done)} targets ({mode})")
'''


def loop_tool(api, bench, root: Path, mode: str, databases: list[str], expected: int, reps: int):
    """The hand-written loop (LOOP_SCRIPT) over `databases` as an `api.Tool`, run by the benchmark venv's Python."""
    python = api.VENV / "bin" / "python"
    if not python.exists():
        raise api.BenchError(f"{python} is missing: the fleet's reference loops need psycopg2 from the benchmark venv "
                             "(`bash Benchmarks/run.sh --fleet` creates it from Benchmarks/requirements.txt)")
    script = root / "fleet_loop.py"
    script.write_text(LOOP_SCRIPT)
    targets = root / "fleet_loop_targets.txt"
    targets.write_text("".join(f"{bench.server.conninfo(name)}\n" for name in databases))
    env = bench.server.environment()
    name = ("connect only" if mode == "connect" else "one query per target") + f" (one process, {PARALLEL} threads)"
    command = [str(python), str(script), mode, str(PARALLEL), str(targets), str(expected)]
    return api.Tool(name, command, root, lambda: (env, None), None, reps)


def new_revision(api, head: str):
    return api.Revision("zz_fleet_new", [head], ["CREATE TABLE fleet_new (id bigint PRIMARY KEY, note text)"],
                        ["DROP TABLE fleet_new"], "SELECT id FROM fleet_new WHERE false")


def orchestrate(api, bench, cwd: Path, *args: str) -> str:
    return api.run([str(api.BINARY), *args], cwd=cwd, env=bench.server.environment())


def make_database_targets(api, bench, revisions, count: int, label: str) -> list[str]:
    """`count` databases, copies of one that a real upgrade brought to every revision."""
    server = bench.server
    template = server.create(f"fleet_{label}_template")
    seed = api.WORK / "fleet" / f"seed_{label}"
    write_project(api, seed, revisions, {"seed": f'database_url = "{server.conninfo(template)}"\n'})
    orchestrate(api, bench, seed, "upgrade", "seed")
    names = [f"fleet_{label}_{i:04d}" for i in range(1, count + 1)]
    started = time.perf_counter()
    script = "".join(f'DROP DATABASE IF EXISTS "{n}"; CREATE DATABASE "{n}" TEMPLATE "{template}" STRATEGY FILE_COPY;\n'
                     for n in names)
    server.psql(script)
    api.log(f"fleet: {count} databases copied from {template} in {time.perf_counter() - started:.1f} s")
    return names


def make_schema_targets(api, bench, revisions, count: int, label: str) -> str:
    """A database with `count` tenant schemas whose ledgers (orchestrate_tenant_NNNN) record every revision: a real
    fleet upgrade to the first revision creates them, the other rows are copied from a seed ledger."""
    server = bench.server
    database = server.create(f"fleet_{label}")
    server.psql("".join(f"CREATE SCHEMA tenant_{i:04d};\n" for i in range(1, count + 1)), database)
    seed = api.WORK / "fleet" / f"seed_{label}"
    write_project(api, seed, revisions, {
        "seed": f'database_url = "{server.conninfo(database)}"\nledger_schema = "orchestrate_seed"\n',
        "tenants": schema_fleet(server, database, count),
    })
    started = time.perf_counter()
    orchestrate(api, bench, seed, "upgrade", "tenants", "--to", revisions[0].id)
    # The seed's revisions run in `public`; only its ledger rows are used.
    orchestrate(api, bench, seed, "upgrade", "seed")
    server.psql(f"""
DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..{count} LOOP
    EXECUTE format('INSERT INTO %I.revisions SELECT * FROM orchestrate_seed.revisions s
                    WHERE NOT EXISTS (SELECT FROM %I.revisions r WHERE r.revision = s.revision)',
                   'orchestrate_tenant_' || lpad(i::text, 4, '0'), 'orchestrate_tenant_' || lpad(i::text, 4, '0'));
  END LOOP;
END $$;
""", database)
    api.log(f"fleet: {count} schema targets with {len(revisions)} revisions in {time.perf_counter() - started:.1f} s")
    return database


class ConnectionSampler:
    """The number of `orchestrate` sessions in pg_stat_activity, sampled by one psql session every 5 ms."""

    def __init__(self, server) -> None:
        self.values: list[int] = []
        sql = ("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'orchestrate%' "
               "AND backend_type = 'client backend' \\watch 0.005\n")
        self.process = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", "postgres"], env=server.environment(),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        self.process.stdin.write(sql)
        self.process.stdin.flush()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self) -> None:
        for line in self.process.stdout:
            if line.strip().isdigit():
                self.values.append(int(line.strip()))

    def stop(self) -> tuple[int, int]:
        self.process.kill()
        self.process.wait()
        self.thread.join(timeout=5)
        return (max(self.values) if self.values else -1), len(self.values)


def sampled(api, bench, command: list[str], cwd: Path) -> tuple[int, int, float]:
    """Runs `command` once with the sampler going: (most orchestrate sessions at once, samples, seconds)."""
    sampler = ConnectionSampler(bench.server)
    time.sleep(0.3)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=bench.server.environment(), capture_output=True, timeout=600)
    seconds = time.perf_counter() - started
    time.sleep(0.1)
    most, samples = sampler.stop()
    return most, samples, seconds


def run(bench, api, quick: bool = False) -> None:
    """The fleet scenario; its results go to `bench.fleet_results` and its verdicts to `bench.fleet_verdicts`."""
    server = bench.server
    size = 60 if quick else 1000
    history = 20 if quick else 200
    short = 10
    apply_big, apply_small = (20, 5) if quick else (200, 10)
    reps, apply_reps = (1, 1) if quick else (5, 3)
    results, verdicts = bench.fleet_results, bench.fleet_verdicts
    root = api.WORK / "fleet"
    root.mkdir(parents=True, exist_ok=True)
    long_revisions, _ = api.generate(history)
    short_revisions, _ = api.generate(short)
    extra = new_revision(api, long_revisions[-1].id)

    databases = make_database_targets(api, bench, long_revisions, size, f"db{history}")
    schemas_long = make_schema_targets(api, bench, long_revisions, size, f"schemas{history}")
    schemas_short = make_schema_targets(api, bench, short_revisions, size, f"schemas{short}")
    apply_targets = databases[:apply_big]
    small_targets = databases[apply_big:apply_big + apply_small]
    environments = {
        "databases": database_fleet(server, databases),
        "schemas": schema_fleet(server, schemas_long, size),
        "apply_big": database_fleet(server, apply_targets),
        "apply_small": database_fleet(server, small_targets),
        # distinct tenants of the long-history schema fleet: 1..apply_big and the next apply_small
        "apply_big_schemas": schema_fleet(server, schemas_long, apply_big),
        "apply_small_schemas": schema_fleet(server, schemas_long, apply_small, first=apply_big + 1),
    }
    project = root / f"p{history}"
    write_project(api, project, long_revisions, environments)
    project_new = root / f"p{history}_new"
    write_project(api, project_new, long_revisions, environments, extra_revision=extra)
    project_short = root / f"p{short}"
    write_project(api, project_short, short_revisions, {"schemas": schema_fleet(server, schemas_short, size)})
    env = server.environment()
    binary = str(api.BINARY)

    def tool(name: str, args: list[str], cwd: Path, count: int = reps):
        return api.Tool(name, [binary, *args], cwd, lambda: (env, None), None, count)

    # status and no-op upgrade over 1,000 databases, next to three hand-written loops over the same databases ------
    group = f"fleet: {size:,} database targets, {history} revisions applied (parallel = {PARALLEL})"
    loop = api.Tool(f"psql once per target (xargs -P {PARALLEL})",
                    ["sh", "-c", f"printf '%s\\n' {' '.join(databases)} | xargs -P {PARALLEL} -n 1 "
                                 "psql -X -q -At -c 'SELECT count(*) FROM orchestrate.revisions' -d > /dev/null"],
                    project, lambda: (env, None), None, reps)
    # Every target is a copy of one database: each must answer what the first does.
    ledger_rows = int(server.psql("SELECT count(*) FROM orchestrate.revisions;", databases[0]).strip())
    one_query = loop_tool(api, bench, root, "query", databases, ledger_rows, reps)
    connect_only = loop_tool(api, bench, root, "connect", databases, ledger_rows, reps)
    results += api.measure(group, [tool("orchestrate status", ["status", "databases"], project),
                                   tool("orchestrate upgrade (no-op)", ["upgrade", "databases"], project),
                                   one_query, connect_only, loop],
                           server, reference=one_query.name, warmup=True)

    # the same over 1,000 schemas, with 200 and with 10 revisions in each ledger ----------------------------------
    group_long = f"fleet: {size:,} schema targets, {history} revisions applied (parallel = {PARALLEL})"
    results += api.measure(group_long, [tool("orchestrate status", ["status", "schemas"], project),
                                        tool("orchestrate upgrade (no-op)", ["upgrade", "schemas"], project)],
                           server, reference="orchestrate status", warmup=True)
    group_short = f"fleet: {size:,} schema targets, {short} revisions applied (parallel = {PARALLEL})"
    results += api.measure(group_short, [tool("orchestrate status", ["status", "schemas"], project_short),
                                         tool("orchestrate upgrade (no-op)", ["upgrade", "schemas"], project_short)],
                           server, reference="orchestrate status", warmup=True)

    # one new revision on 200 targets against 10, as databases and as tenant schemas ------------------------------
    # Each pair alternates (200, 10, 200, 10, ...), every run followed, untimed, by `downgrade --steps 1`. After each
    # run the last target must record the new revision in its ledger and have its table.
    pairs = {
        "database": (f"fleet: one new revision applied to database targets (parallel = {PARALLEL})",
                     [("apply_big", apply_big, apply_targets[-1], "orchestrate", "public"),
                      ("apply_small", apply_small, small_targets[-1], "orchestrate", "public")]),
        "schema": (f"fleet: one new revision applied to schema targets (parallel = {PARALLEL})",
                   [("apply_big_schemas", apply_big, schemas_long, f"orchestrate_tenant_{apply_big:04d}",
                     f"tenant_{apply_big:04d}"),
                    ("apply_small_schemas", apply_small, schemas_long,
                     f"orchestrate_tenant_{apply_big + apply_small:04d}", f"tenant_{apply_big + apply_small:04d}")]),
    }
    samples: dict[tuple[str, str], list] = {(kind, run[0]): [] for kind, (_, runs) in pairs.items() for run in runs}
    for _ in range(apply_reps):
        for kind, (group_name, runs) in pairs.items():
            for fleet, count, database, ledger, schema in runs:
                label = f"{count} {kind} targets"
                sample = api.timed([binary, "upgrade", fleet], env, project_new, server, f"{group_name}, {label}")
                check = server.psql(f"SELECT (SELECT count(*) FROM {ledger}.revisions WHERE revision = 'zz_fleet_new') "
                                    f"|| ',' || (to_regclass('{schema}.fleet_new') IS NOT NULL);", database).strip()
                if check != "1,true":
                    raise api.BenchError(f"{group_name}: after `upgrade {fleet}`, the last target ({database}, "
                                         f"ledger {ledger}) does not record zz_fleet_new or lacks {schema}.fleet_new "
                                         f"({check})")
                samples[(kind, fleet)].append(sample)
                api.log(f"  {group_name} | {label}: {api.format_seconds(sample.wall)} wall, "
                        f"{sample.rss_kib / 1024:.1f} MiB")
                orchestrate(api, bench, project_new, "downgrade", fleet, "--steps", "1")
    apply_pairs = []  # (kind, the 200-target result, the 10-target result)
    for kind, (group_name, runs) in pairs.items():
        (big_fleet, big_count, *_), (small_fleet, small_count, *_) = runs
        big = api.Result(group_name, f"orchestrate upgrade, {big_count} {kind} targets", samples[(kind, big_fleet)])
        small = api.Result(group_name, f"orchestrate upgrade, {small_count} {kind} targets",
                           samples[(kind, small_fleet)], reference=True)
        results += [big, small]
        apply_pairs.append((kind, big, small))

    # connections, in one extra run of each command -------------------------------------------------------------
    connections = []
    for what, args, cwd in ((f"status, {size:,} databases", ["status", "databases"], project),
                            (f"no-op upgrade, {size:,} databases", ["upgrade", "databases"], project),
                            (f"status, {size:,} schemas", ["status", "schemas"], project),
                            (f"apply one revision, {apply_big} databases", ["upgrade", "apply_big"], project_new)):
        most, count, seconds = sampled(api, bench, [binary, *args], cwd)
        connections.append((what, most, count, seconds))
        api.log(f"  connections | {what}: at most {most} at once ({count} samples over {seconds:.1f} s)")
    orchestrate(api, bench, project_new, "downgrade", "apply_big", "--steps", "1")

    # verdicts ------------------------------------------------------------------------------------------------
    def find(group_name: str, tool_name: str):
        return next(r for r in results if r.group == group_name and r.tool == tool_name)

    for group_name, kind in ((group, "databases"), (group_long, "schemas")):
        for tool_name, what in (("orchestrate status", "status"), ("orchestrate upgrade (no-op)", "no-op upgrade")):
            found = find(group_name, tool_name)
            verdicts.append((f"{what} over {size:,} {kind}: < {GOAL_SECONDS:.0f} s", api.format_seconds(found.wall),
                             "met" if found.wall < GOAL_SECONDS else "MISSED",
                             f"fastest {api.format_seconds(min(s.wall for s in found.samples))}"))
    cores = os.cpu_count() or 1
    reference, psql_loop = find(group, one_query.name), find(group, loop.name)
    for tool_name in ("orchestrate status", "orchestrate upgrade (no-op)"):
        found = find(group, tool_name)
        verdicts.append((f"{tool_name} over {size:,} databases, as a ratio to one query per target (one process, "
                         f"{PARALLEL} threads)", f"{found.ratio_to(reference):.2f}×", "(no goal)",
                         f"the loop: {api.format_seconds(reference.wall)}, the floor of a hand-written script that "
                         f"reads one ledger table; {found.ratio_to(psql_loop):.2f}× the psql loop"))
    connects = find(group, connect_only.name)
    floor = connects.server_cpu / cores
    verdicts.append((f"the floor on this machine for {size:,} database targets: the server's CPU for the "
                     f"connections alone ÷ {cores} cores",
                     f"{api.format_seconds(floor)} ({api.format_seconds(connects.server_cpu)} ÷ {cores})",
                     f"< {GOAL_SECONDS:.0f} s " + ("reachable" if floor < GOAL_SECONDS else "out of reach"),
                     f"connect only: {api.format_seconds(connects.server_cpu / size)} of server CPU per connection, "
                     f"{api.format_seconds(connects.wall)} wall; with one query: "
                     f"{api.format_seconds(reference.server_cpu / cores)} ({api.format_seconds(reference.server_cpu)} "
                     f"÷ {cores}), {api.format_seconds(reference.wall)} wall; no client CPU counted"))
    for tool_name in ("orchestrate status", "orchestrate upgrade (no-op)"):
        long_result, short_result = find(group_long, tool_name), find(group_short, tool_name)
        ratio = long_result.wall / short_result.wall
        verdicts.append((f"{tool_name} over {size:,} schemas: {history} revisions against {short} (cost must not grow with the history)",
                         f"{ratio:.2f}× ({api.format_seconds(long_result.wall)} / {api.format_seconds(short_result.wall)})",
                         "met" if ratio <= 1.25 else "MISSED", "judged met at ≤ 1.25× (the machine's noise)"))
    for kind, big, small in apply_pairs:
        ratio = big.ratio_to(small)
        bound = (big.server_cpu + big.cpu) / cores
        verdicts.append((f"one revision on {apply_big} {kind} targets: ≤ {GOAL_APPLY_RATIO:.0f}× the time of "
                         f"{apply_small}", f"{ratio:.2f}× ({api.format_seconds(big.wall)} / "
                         f"{api.format_seconds(small.wall)})", "met" if ratio <= GOAL_APPLY_RATIO else "MISSED",
                         f"{apply_big / apply_small:.0f}× the targets; median of per-repetition ratios; CPU bound of "
                         f"the {apply_big}-target run: ({api.format_seconds(big.server_cpu)} server + "
                         f"{api.format_seconds(big.cpu)} own CPU) ÷ {cores} cores = {api.format_seconds(bound)}, its "
                         f"wall is {big.wall / bound:.2f}× that bound, so against {api.format_seconds(small.wall)} "
                         f"for {apply_small} the ratio cannot go below {bound / small.wall:.1f}× on this machine"))
    peak = max(r.rss_mib for r in results if r.tool.startswith("orchestrate"))
    verdicts.append((f"peak memory at {size:,} targets: < {GOAL_RSS_MIB} MiB", f"{peak:.1f} MiB",
                     "met" if peak < GOAL_RSS_MIB else "MISSED", "the largest max RSS of every orchestrate run above"))
    for what, most, count, seconds in connections:
        verdicts.append((f"connections at once, {what}: ≤ parallel + 1 = {PARALLEL + 1}", f"{most}",
                         "met" if 0 <= most <= PARALLEL + 1 else ("unknown" if most < 0 else "MISSED"),
                         f"{count} samples of pg_stat_activity over {seconds:.1f} s"))


def smoke(bench, api) -> None:
    """A tiny fleet (5 databases, 5 schemas, 10 revisions): upgrade, status, no-op upgrade; the ledgers checked."""
    server = bench.server
    revisions, _ = api.generate(10)
    root = api.WORK / "fleet-smoke"
    databases = make_database_targets(api, bench, revisions[:1], 5, "smoke_db")
    schemas = server.create("fleet_smoke_schemas")
    server.psql("".join(f"CREATE SCHEMA tenant_{i:04d};\n" for i in range(1, 6)), schemas)
    project = root / "project"
    write_project(api, project, revisions, {"databases": database_fleet(server, databases),
                                            "schemas": schema_fleet(server, schemas, 5)})
    env = server.environment()
    for what, args in (("fleet: upgrade 5 databases", ["upgrade", "databases"]),
                       ("fleet: upgrade 5 schemas", ["upgrade", "schemas"]),
                       ("fleet: status, 5 databases", ["status", "databases"]),
                       ("fleet: no-op upgrade, 5 schemas", ["upgrade", "schemas"])):
        sample = api.timed([str(api.BINARY), *args], env, project, server, what)
        bench.results.append(api.Result("smoke (fleet of 5 + 5)", f"orchestrate {' '.join(args)}", [sample]))
    for name in databases:
        count = server.psql("SELECT count(*) FROM orchestrate.revisions WHERE state = 'applied';", name).strip()
        if count != str(len(revisions)):
            raise api.BenchError(f"fleet smoke: {name} records {count} revisions, expected {len(revisions)}")
    status = subprocess.run([str(api.BINARY), "status", "schemas", "--json"], cwd=project, env=env,
                            capture_output=True, text=True)
    document = api.json.loads(status.stdout)
    targets = document[0]["fleet"]["targets"]
    if len(targets) != 5 or any(t["appliedCount"] != len(revisions) or t["pending"] for t in targets):
        raise api.BenchError(f"fleet smoke: status --json of the schemas: {status.stdout[:2000]}")


NOTES = [
    "Each figure is the median of the repetitions (GNU time around the process: wall, own CPU, max RSS), every "
    "tool once untimed first; `ratio to reference` as in the table above.",
    "Database targets: copies (`CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`) of one database that a real "
    "`orchestrate upgrade` brought to every revision, so each target has the tables and a real ledger.",
    "Schema targets: 1,000 schemas of one database; a real fleet `upgrade --to` the first revision creates each "
    "tenant's ledger (`orchestrate_tenant_NNNN`), then the rows of the other revisions are copied from a seed ledger "
    "by SQL (status and a no-op upgrade read only the ledger; applying every revision to 1,000 schemas would take the "
    "set-up most of an hour).",
    "The loops over the database targets, each target once: `one query per target` (the database group's "
    "reference) is one Python process (the benchmark venv's, psycopg2) whose 8 threads take the next target from a "
    "shared list, connect, run `SELECT count(*) FROM orchestrate.revisions` in autocommit (no BEGIN), check the count "
    "and close: the floor of a hand-written script that reads one ledger table. `connect only` is the same without "
    "the query: the server's floor for a fleet of databases (a connection costs the server a new process and its "
    "start-up, whatever the client). Its server CPU ÷ the machine's cores (`os.cpu_count()`) is the least wall time "
    "any tool can take to open one connection per target here, before any client CPU: the floor line in the targets. "
    "The psql loop: `xargs -P 8` runs `psql -c` with the same query once per target, a process per target, whose "
    "start-up CPU competes with the server for the 2 cores: a poor floor, kept as a row.",
    "One new revision: `CREATE TABLE fleet_new (…)` applied by `upgrade` to 200 and to 10 database targets, and to "
    "200 and 10 distinct tenant schemas of the 1,000-schema fleet with the long history (tenants 1-200 and "
    "201-210), each pair alternately, each run followed (untimed) by `downgrade --steps 1`; after each run the last "
    "target's ledger (`orchestrate`, or `orchestrate_tenant_NNNN` for a schema) must record `zz_fleet_new` and its "
    "table must exist. The CPU bound in the verdict's note is (server CPU + own CPU) of the 200-target run ÷ the "
    "cores: when the server keeps every core busy, 20× the work cannot take less than that, whatever `parallel` is.",
    "Connections: one extra run of each command while one psql session counts the client backends whose "
    "application_name starts with `orchestrate` in pg_stat_activity every 5 ms (`\\watch 0.005`); a backend that "
    "just lost its client can still be listed for a moment, so the figure is an upper bound.",
]


def section(bench, api) -> str:
    """The fleet results as a section of results.md."""
    if not bench.fleet_results:
        return ""
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    lines = ["## Fleets (issue 15)", "",
             f"`bash Benchmarks/run.sh --fleet` redoes this section alone (the rest of this file is left as it is). "
             f"Load average at the end: {load}; the machine is shared (other engineers' builds and tests run on its "
             "2 cores), so the absolute figures move with its load.", "",
             api.table(bench.fleet_results), "", "### Targets (issue 15)", "", api.verdict_table(bench.fleet_verdicts), "",
             "### How the fleet was measured", ""]
    lines += [f"- {note}" for note in NOTES]
    return "\n".join(lines) + "\n"


def splice(text: str, new_section: str) -> str:
    """`text` (results.md) with its fleet section replaced by `new_section` (or appended)."""
    start = text.find("## Fleets (issue 15)")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + new_section
    following = re.search(r"^## (?!#)", text[start + 3:], flags=re.MULTILINE)
    end = start + 3 + following.start() if following else len(text)
    return text[:start] + new_section + ("\n" + text[end:] if following else "")
