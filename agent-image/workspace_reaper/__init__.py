"""Deletes AgentScope 2.x workspace claims that nobody used for `retainDays` (a CronJob)."""
