"""What providers' verdicts mean: delivery reports, send errors, a blocked bot, turned into
opt-outs, undeliverable numbers and figures for reports."""
