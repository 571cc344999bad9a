"""The verification report: every spec run, the semantic matrix, a page per spec."""
