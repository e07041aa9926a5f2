//go:build !linux

package mototest

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}
