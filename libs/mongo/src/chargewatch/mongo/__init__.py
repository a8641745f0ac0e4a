"""AsyncMongoClient factory and index declarations."""
