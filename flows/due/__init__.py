"""Due work: what the scheduler's sweep runs when its time comes (event reminders and notices,
broadcast starts and progress). Each reads the database and queues what is due now."""
