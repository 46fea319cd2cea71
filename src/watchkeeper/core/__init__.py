"""Types shared by every stage: labels, matchers, clocks, errors and enums.

Imports flow one way: ``core`` <- ``config`` <- stages <- ``runtime`` <- ``web``/``cli``.
Nothing in ``core`` imports from another Watchkeeper package.
"""
