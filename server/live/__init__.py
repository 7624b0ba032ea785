"""Live boards in an API process: Redis relay, change versions, kept board data, page caches, streams."""

from server.live.hub import BoardHub
from server.live.stream import KEEPALIVE, board_events, sse_frame

__all__ = ["KEEPALIVE", "BoardHub", "board_events", "sse_frame"]
