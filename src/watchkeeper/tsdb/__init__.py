"""Time-series storage: the :class:`~watchkeeper.tsdb.base.SeriesStore` protocol and its
engines (embedded, remote)."""
