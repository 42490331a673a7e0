//go:build !unix

package stack

import "errors"

// LockFile is the file in the data directory that one stack (or broker) holds locked.
const LockFile = "lock"

// ErrLocked is returned by Lock when another process holds the data directory.
var ErrLocked = errors.New("in use")

// Lock is a no-op where flock(2) does not exist: two stacks on one directory are not
// caught there.
func Lock(dir string) (unlock func(), err error) { return func() {}, nil }
