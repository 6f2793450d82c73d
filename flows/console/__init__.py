"""The chat console: the organiser commands typed to the bot (/newevent, /events, /broadcast,
/alert) as guided conversations over the organiser operations."""
