"""Plain functions on values: phone numbers, postcodes, dates, SMS segments, quiet hours,
message templates and calendar files. No database and no state; every front may call them."""
