"""Rule unit tests in the ``promtool test rules`` file format, run on Watchkeeper's own
PromQL engine and rule evaluator (``watchkeeper test rules FILE...``)::

    result = await run_test_file(Path("alerts.test.yml"))
    print(result.verdict, result.failures)
"""

from watchkeeper.readiness.ruletests.runner import FileResult, run_test_file, run_test_files

__all__ = ["FileResult", "run_test_file", "run_test_files"]
