"""Production readiness: ``watchkeeper validate`` gathers live evidence that a stack is
ready, through the real code paths of every stage (collectors, route tree, notifiers,
rule evaluator), and reports it for people and for CI.

See :mod:`watchkeeper.readiness.check` for the check contract and
:mod:`watchkeeper.readiness.registry` for the table of checks.
"""
