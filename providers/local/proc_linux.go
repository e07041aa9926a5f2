package local

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts the instance in its own process group (so stopping it
// stops its children too) and has the kernel kill it if gennaker dies.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
