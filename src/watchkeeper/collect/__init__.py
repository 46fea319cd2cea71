"""Collectors: one package per source kind behind the :class:`~watchkeeper.collect.base.Collector`
protocol, listed in :mod:`watchkeeper.collect.registry`, run by the scheduler."""
