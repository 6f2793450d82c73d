"""The engine and its vocabulary: message types, routing, the context a step sees, the clock,
settings, keywords and texts. Everything else in flows builds on these."""
