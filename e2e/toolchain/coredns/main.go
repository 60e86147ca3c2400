// Command coredns is CoreDNS with only the plugins the embedded cluster's Corefile uses
// (e2e/cluster/coredns.yaml), so that the stock build's cloud-DNS, tracing and storage plugins
// are not compiled (about 100 s of its 250 s here). It is CoreDNS's documented way to choose
// plugins at build time without editing its code ("Build with external golang source code",
// coredns.io/2017/07/25/compile-time-enabling-or-disabling-plugins). Directives keep their
// stock order; a Corefile naming any other plugin fails at start-up.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
