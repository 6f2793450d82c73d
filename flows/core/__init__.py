"""The engine and its vocabulary: message types, the context a step sees, the clock, settings,
keywords and texts, and the routing table, which names every flow the engine can hand a message to."""
