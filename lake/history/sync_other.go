//go:build !linux

package history

import "os"

// syncFS is best effort where syncfs(2) is missing: it syncs the directory
// only. Use an object store warehouse for durability on these systems.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
