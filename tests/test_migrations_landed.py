"""Landed migrations never change: a database migrated by an earlier text of a file records the revision and is
never migrated again (0002 was rewritten after it had landed, and such databases failed on every report). Every
file listed in tests/migrations_landed.txt must exist with the same sha256; a new file is fine and, once it has
been committed, is added to the list."""

from __future__ import annotations

import hashlib
from pathlib import Path

from grievance.config import PROJECT_ROOT

VERSIONS = PROJECT_ROOT / "alembic" / "versions"
LANDED = Path(__file__).parent / "migrations_landed.txt"


def landed() -> dict[str, str]:
    """file name -> sha256 (hex), from the `sha256sum` lines of the list (`#` starts a comment)."""
    found: dict[str, str] = {}
    for number, line in enumerate(LANDED.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        digest, _, name = line.partition("  ")
        assert len(digest) == 64 and name, f"{LANDED.name} line {number}: expected `<sha256>  <file name>`: {line!r}"
        found[name.strip()] = digest
    return found


def changed_migrations(listed: dict[str, str], versions: Path) -> list[str]:
    """One sentence per listed file that is missing or whose content differs."""
    problems = []
    for name, digest in sorted(listed.items()):
        path = versions / name
        if not path.exists():
            problems.append(f"{name} has disappeared")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name} has changed")
    return problems


def test_no_landed_migration_changed_or_disappeared() -> None:
    problems = changed_migrations(landed(), VERSIONS)
    assert not problems, (
        "; ".join(problems) + ". A landed migration is never edited: databases that ran it will not run it again. "
        "Restore the file (git checkout -- alembic/versions/) and add a new migration instead "
        "(alembic revision -m '...'); once that one is committed, append its line to tests/migrations_landed.txt "
        "(cd alembic/versions && sha256sum NNNN_name.py >> ../../tests/migrations_landed.txt)."
    )


def test_the_list_holds_the_migrations_landed_so_far() -> None:
    assert {f"000{n}" for n in range(1, 7)} <= {name[:4] for name in landed()}


def test_the_check_sees_an_edited_and_a_removed_file(tmp_path: Path) -> None:
    (tmp_path / "0001_a.py").write_text("revision = '0001'\n", encoding="utf-8")
    (tmp_path / "0002_b.py").write_text("revision = '0002'\n", encoding="utf-8")
    listed = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert changed_migrations(listed, tmp_path) == []
    (tmp_path / "0003_new.py").write_text("revision = '0003'\n", encoding="utf-8")  # a new file is allowed
    assert changed_migrations(listed, tmp_path) == []
    (tmp_path / "0001_a.py").write_text("revision = '0001'  # edited\n", encoding="utf-8")
    (tmp_path / "0002_b.py").unlink()
    assert changed_migrations(listed, tmp_path) == ["0001_a.py has changed", "0002_b.py has disappeared"]
