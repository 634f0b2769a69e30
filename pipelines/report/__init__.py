"""The per-run HTML quality report (``RUN/report/index.html``), built from the run directory
alone: ``build_report(run_dir, compare=None)``."""

from pipelines.report.build import ReportConfig, build_report, render

__all__ = ["ReportConfig", "build_report", "render"]
