"""`grievance --help` and the help of every subcommand print (argparse %-formats each help text: a bare "%" in one,
such as "80%", made `grievance --help` crash with TypeError), and `grievance sweep --once` runs one sweep and exits."""

from __future__ import annotations

import contextlib
import io

import pytest

from grievance.cli import build_parser, every_parser, main


def test_every_command_and_subcommand_prints_its_help():
    parsers = every_parser(build_parser())
    assert len(parsers) > 20  # the walk reaches the nested subcommands (outbox run, subscriptions add...)
    for prog, parser in parsers:
        text = parser.format_help()  # raises TypeError / ValueError on an unescaped %
        assert prog in text
    sweep = next(p for prog, p in parsers if prog.endswith(" sweep"))
    assert "80%" in build_parser().format_help() and "--once" in sweep.format_help()


def test_grievance_help_exits_cleanly():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as ended:
        main(["--help"])
    assert ended.value.code == 0
    assert "sweep" in out.getvalue() and "80%" in out.getvalue()
