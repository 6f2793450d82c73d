"""What the bot says and does; knows no SDK and no web framework.

core: the engine and its vocabulary · values: plain functions on values · supporter: the
supporter's conversations · organiser: the operations every organiser front calls · console:
the chat console · due: work the scheduler runs · verdicts: what providers' answers mean.
"""
