"""Friday: the AgentScope ReAct agent served by agentscope-runtime's AgentApp."""
