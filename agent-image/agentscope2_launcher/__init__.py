"""Runs an AgentScope 2.x service from the environment: see __main__.py and README "AgentScope 2.x"."""
