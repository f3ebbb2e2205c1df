//go:build !linux

package main

import "os/exec"

// dieWithParent does nothing where the kernel offers no parent-death
// signal; the runner still stops every node it started on its way out.
func dieWithParent(*exec.Cmd) {}
