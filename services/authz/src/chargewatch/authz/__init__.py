"""Authorization: driver tokens, station credentials, partner tokens, blocks."""
