package engine

import (
	"fmt"
	"path/filepath"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// One Badger database per data directory, shared by everything the
// process opens there (the documents collection, external collections):
// Badger allows one open per directory.
var stores = struct {
	sync.Mutex
	m map[string]*sharedStore
}{m: map[string]*sharedStore{}}

type sharedStore struct {
	db   *badger.DB
	refs int
}

// openStore returns the store of the data directory dir, opening it on
// first use. Every openStore is paired with a closeStore.
func openStore(dir string) (*badger.DB, error) {
	path, err := filepath.Abs(filepath.Join(dir, "store"))
	if err != nil {
		return nil, err
	}
	stores.Lock()
	defer stores.Unlock()
	if s, ok := stores.m[path]; ok {
		s.refs++
		return s.db, nil
	}
	db, err := badger.Open(badger.DefaultOptions(path).WithLogger(nil))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	stores.m[path] = &sharedStore{db: db, refs: 1}
	return db, nil
}

// closeStore releases a store from openStore, closing it with its last
// user.
func closeStore(db *badger.DB) error {
	stores.Lock()
	defer stores.Unlock()
	for p, s := range stores.m {
		if s.db == db {
			s.refs--
			if s.refs == 0 {
				delete(stores.m, p)
				return db.Close()
			}
			return nil
		}
	}
	return db.Close()
}
