package mototest

import (
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill moto_server when the test binary dies, so
// the shared server never outlives its tests.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
