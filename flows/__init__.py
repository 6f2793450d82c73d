"""What the bot says and does: message types, routing and the flows. Knows no SDK."""
