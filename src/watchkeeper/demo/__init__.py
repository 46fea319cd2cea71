"""``watchkeeper demo``: a simulated Insurance Navigator stack on loopback, monitored by
Watchkeeper, with incidents injected and healed on a schedule."""
