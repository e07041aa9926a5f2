//go:build !unix

package dynalitetest

// lockFile does not lock where flock is missing: test binaries installing
// dynalite at the same time may then both run npm ci.
func lockFile(string) (func(), error) { return func() {}, nil }
