package db

import (
	"context"
	"database/sql"
	"errors"
)

// PragmaOnConns reads pragma on the writer's connection and on n reader connections held at
// once, so that each is a different connection of its pool.
func (db *DB) PragmaOnConns(
	ctx context.Context, pragma string, n int,
) (write string, read []string, err error) {
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			err = errors.Join(err, c.Close())
		}
	}()
	get := func(pool *sql.DB) (string, error) {
		conn, err := pool.Conn(ctx)
		if err != nil {
			return "", err
		}
		conns = append(conns, conn)
		var v string
		err = conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&v)
		return v, err
	}

	if write, err = get(db.write); err != nil {
		return "", nil, err
	}
	for range n {
		v, err := get(db.read)
		if err != nil {
			return "", nil, err
		}
		read = append(read, v)
	}
	return write, read, nil
}
