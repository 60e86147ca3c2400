"""Serves a user's agentscope-runtime AgentApp in the user-agent image."""
