//go:build tools

// Package tools pins the tools the e2e harness builds from this module but that have no code of
// ours: kwok (sigs.k8s.io/kwok/cmd/kwok), the kubelet and node simulator.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
