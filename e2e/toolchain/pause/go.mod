// The embedded cluster's pod-sandbox ("pause") program: there is no registry here to pull
// registry.k8s.io/pause from, so the node builds its own.
module agentscope-e2e/toolchain/pause

go 1.26.0
