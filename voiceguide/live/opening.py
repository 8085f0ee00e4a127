"""The first part of a session, ready to play long before the whole of it.

Synthesising and mastering a two-hour session takes seconds; its first steps
take a few hundredths. The planner is sequential, so the plan of the first
steps is, up to its end, the plan of the whole session: the opening plays at
once while the rest is prepared behind it.
"""

from __future__ import annotations

from ..pipeline import opening as opening

# The openings played while the next is prepared: the first is as short as can
# be (its phrases are synthesised before anything plays: with piper about a
# tenth of their length on one core), each is about four times the one before,
# so that it is ready long before that one ends even on a busy machine, and the
# whole session (every phrase synthesised, then mastered) follows the last.
OPENING_S = (2.0, 8.0, 30.0, 120.0)
