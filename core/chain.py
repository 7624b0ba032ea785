"""The submission record's links (each challenge's uploads as a hash chain): kept in the participants'
client package, which the server shares so that both hash and check records alike."""

from riality_client.record import GENESIS, Break, Record, canonical, timestamp, walk

__all__ = ["GENESIS", "Break", "Record", "canonical", "timestamp", "walk"]
