"""All SQL is parameterized: a scan of the process code and of the .sql files.

Simple and honest rather than complete: it parses the Python sources (not tests) and flags
(1) a query passed to execute/executemany/execute_values/copy_expert/mogrify that is built by
an f-string, `%` formatting, `+` or `str.format`, and (2) any string literal that starts like an
SQL statement outside `psycopg2.sql.SQL(...)` (SQL lives in .sql files, values go as named
parameters, identifiers through `sql.Identifier`). In the .sql files it flags Python format
fields (`{x}`) and positional `%s` placeholders other than the `VALUES %s` of execute_values.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Packages whose code runs in production.
PACKAGES = ("shared", "producer", "consumer", "reporter", "paas_billing")
# Methods that send SQL to the server; their first argument is the query.
EXECUTORS = {"execute", "executemany", "execute_values", "copy_expert", "mogrify"}
# A literal that begins like an SQL statement.
SQL_START = re.compile(
    r"^\s*(SELECT\b.*\bFROM\b|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s"
    r"|(CREATE|DROP|ALTER)\s+(TEMP\w*\s+)?(TABLE|INDEX|DATABASE|ROLE|SCHEMA|VIEW|FUNCTION)\b"
    r"|TRUNCATE\s|GRANT\s+\w+.*\sON\s|COPY\s+\S+.*\s(FROM|TO)\s)",
    re.I | re.S,
)
# `{name}` or `{}` in a .sql file: a hole for str.format.
FORMAT_FIELD = re.compile(r"\{[A-Za-z_0-9]*\}")
# A positional %s that is not execute_values' `VALUES %s`.
POSITIONAL = re.compile(r"(?<!VALUES )%s", re.I)


def _is_built_string(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "format":
        return not _is_sql_composition(func.value)
    return False


def _is_sql_composition(node: ast.expr) -> bool:
    """`sql.SQL("...")` (psycopg2.sql): formatting it with Identifier/Literal is safe."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "SQL"
    )


def problems_in_source(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    found: list[str] = []
    composed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_sql_composition(node):
            composed.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in EXECUTORS
            and node.args
        ):
            # execute_values(cursor, sql, ...) takes the query second.
            second = node.func.attr == "execute_values" and len(node.args) > 1
            query = node.args[1] if second else node.args[0]
            if _is_built_string(query):
                found.append(f"{where}: {node.func.attr}() of a string built in Python")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in composed
            and SQL_START.match(node.value)
        ):
            found.append(f"{where}: SQL in a Python string: {node.value[:40]!r}")
    return found


def problems_in_sql(text: str, filename: str) -> list[str]:
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    found = [f"{filename}: format field {m.group(0)}" for m in FORMAT_FIELD.finditer(code)]
    found += [f"{filename}: positional %s placeholder" for _ in POSITIONAL.finditer(code)]
    return found


def test_sql_parameterized_no_sql_built_in_python() -> None:
    found: list[str] = []
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    assert len(files) > 20
    for path in files:
        found += problems_in_source(path.read_text("utf-8"), str(path.relative_to(ROOT)))
    assert not found, "\n".join(found)


def test_sql_parameterized_sql_files_use_named_placeholders_only() -> None:
    found: list[str] = []
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.sql")]
    assert len(files) > 5
    for path in files:
        found += problems_in_sql(path.read_text("utf-8"), str(path.relative_to(ROOT)))
    assert not found, "\n".join(found)


def test_sql_parameterized_scan_flags_what_it_should() -> None:
    """The scanner is not blind: each unsafe form is caught, each safe form passes."""
    unsafe = [
        'cursor.execute(f"SELECT * FROM t WHERE id = {x}")',
        'cursor.execute("SELECT * FROM t WHERE id = %s" % x)',
        'cursor.execute("SELECT * FROM t WHERE id = " + x)',
        'cursor.execute("SELECT {}".format(x))',
        'QUERY = "DELETE FROM app_usage_events"',
    ]
    for line in unsafe:
        assert problems_in_source(line, "x.py"), line
    safe = [
        'cursor.execute(queries["move_app"], {"id": x})',
        'cursor.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))',
        'log.info("selected rows")',
    ]
    for line in safe:
        assert not problems_in_source(line, "x.py"), line
    assert problems_in_sql("SELECT * FROM t WHERE id = {id};", "q.sql")
    assert problems_in_sql("SELECT * FROM t WHERE id = %s;", "q.sql")
    assert not problems_in_sql("INSERT INTO t VALUES %s; -- id = %s", "q.sql")
    assert not problems_in_sql("SELECT * FROM t WHERE id = %(id)s;", "q.sql")
