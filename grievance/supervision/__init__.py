"""Automatic supervision (issue 11 section 2): the sweeper that urges a case at 80% of a clock's time and records
it overdue the moment the due time passes (DOMAIN.md, supervise row)."""

from grievance.supervision.sweeper import AUTO_URGE, OVERDUE, SweepResult, run_sweeper, sweep_once

__all__ = ["AUTO_URGE", "OVERDUE", "SweepResult", "run_sweeper", "sweep_once"]
