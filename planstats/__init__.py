"""planstats: the annual statistics of plan indicators (规划指标年度统计)."""

__version__ = "0.1.0"
