package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the node if the runner itself dies
// without stopping it (SIGKILL, a crash): no node outlives a run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
