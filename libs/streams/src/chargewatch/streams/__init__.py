"""Redis Streams event bus: publish and consume with consumer groups, XAUTOCLAIM and dead letters."""
