//go:build tools

// Package tools keeps the Kubernetes commands the test harness runs in this module's build list,
// so `go mod tidy` pins them (and everything they need) in go.mod and go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
