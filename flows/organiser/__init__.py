"""The organiser operations every front calls (the CLI, the chat console, the web console):
broadcasts and alerts, events, reports, with who may do what in one place (access)."""
