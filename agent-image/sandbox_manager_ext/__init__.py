"""The stack's extension of runtime-sandbox-server (agentscope-runtime 1.1.x).

Loaded with `runtime-sandbox-server --extension sandbox_manager_ext.activate`.
`pods` renders sandbox Pods and Services from the settings the Pulumi component
writes as JSON; `k8s_client` wires that into upstream's KubernetesClient;
`routes` keeps the manager's admin routes away from the agents.
"""
