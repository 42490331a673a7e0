package sink

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ordersync/ordersync/shared/envelope"
)

// A run is consecutive records for one table with one layout, as BufferedRecords
// buffers them: upserts, then the deletes that followed them.
type run struct {
	l       *layout
	upserts []*record
	deletes []*record
}

// write applies recs in one transaction: DDL first (auto.create / auto.evolve; DDL
// commits on its own in MySQL), then every run's statements, then one commit. It
// returns the rows written. Errors wrap ErrRecord, ErrTable, ErrWrite or ErrDatabase.
func (s *Sink) write(ctx context.Context, recs []*record) (int64, error) {
	var runs []*run
	var cur *run
	var curKey, curValue *envelope.Schema
	for _, r := range recs {
		switch {
		case cur != nil && r.table == cur.l.table && sameSchema(r.keySchema, curKey) &&
			(r.tombstone() || (len(cur.deletes) == 0 && sameSchema(r.valueSchema, curValue))):
		case cur != nil && r.table == cur.l.table && sameSchema(r.keySchema, curKey) && !r.tombstone() &&
			len(cur.deletes) > 0 && sameSchema(r.valueSchema, curValue):
			// an insert after a delete starts a new run so that it is not lost
			cur = &run{l: cur.l}
			runs = append(runs, cur)
		default:
			valueSchema := r.valueSchema
			if r.tombstone() && cur != nil && r.table == cur.l.table && sameSchema(r.keySchema, curKey) {
				valueSchema = curValue
			}
			l, err := s.layout(r.table, r.keySchema, valueSchema)
			if err != nil {
				return 0, &recordFault{r.kr, fmt.Errorf("%s[%d]@%d: %w", r.kr.Topic, r.kr.Partition, r.kr.Offset, err)}
			}
			cur, curKey, curValue = &run{l: l}, r.keySchema, valueSchema
			runs = append(runs, cur)
		}
		if r.tombstone() {
			cur.deletes = append(cur.deletes, r)
		} else {
			cur.upserts = append(cur.upserts, r)
		}
	}

	for _, rn := range runs {
		if len(rn.upserts) > 0 {
			if err := s.ensureTable(ctx, rn.l); err != nil {
				return 0, &recordFault{rn.upserts[0].kr, err} // the first record that needs the table
			}
		}
	}

	tx, err := s.store.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: begin: %w", ErrDatabase, err)
	}
	defer clear(s.stmts) // closed with the transaction
	var rows int64
	for _, rn := range runs {
		n, err := s.execRun(ctx, tx, rn)
		if err != nil {
			tx.Rollback()
			return 0, err
		}
		rows += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("%w: commit: %w", ErrWrite, err)
	}
	s.logRows(ctx, recs)
	return rows, nil
}

// stmt returns q prepared in tx, once per transaction (the update and delete loops
// run one statement per record). The texts themselves are cached per layout and rows.
func (s *Sink) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.stmts[q] = st
	return st, nil
}

// statement texts are cached per (layout, kind, rows).
type textKey struct {
	l    *layout
	kind byte
	rows int
}

func (s *Sink) text(l *layout, kind byte, rows int) string {
	k := textKey{l, kind, rows}
	if q, ok := s.texts[k]; ok {
		return q
	}
	var q string
	switch kind {
	case 'i':
		q = s.w.insert(l, rows, false)
	case 'u':
		q = s.w.insert(l, rows, true)
	case 'U':
		q = s.w.update(l)
	case 'd':
		q = s.w.delete(l)
	}
	if len(s.texts) > 256 {
		clear(s.texts)
	}
	s.texts[k] = q
	return q
}

// execRun writes one run: multi-row INSERTs of at most batch.size rows (and within the
// placeholder limit), or one UPDATE per record, then the deletes.
func (s *Sink) execRun(ctx context.Context, tx *sql.Tx, rn *run) (int64, error) {
	l := rn.l
	var rows int64
	if len(rn.upserts) > 0 {
		switch s.cfg.InsertMode {
		case Update:
			st, err := s.stmt(ctx, tx, s.text(l, 'U', 1))
			if err != nil {
				return 0, fmt.Errorf("%w: prepare update %s: %w", ErrWrite, l.table, err)
			}
			cols := append(append([]*column{}, l.nonKey...), l.keys...)
			for _, r := range rn.upserts {
				args, err := l.args(s.args[:0], cols, r)
				if err != nil {
					return 0, err
				}
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return 0, fmt.Errorf("%w: update %s: %w", ErrWrite, l.table, err)
				}
				rows++
			}
		default:
			kind := byte('i')
			if s.cfg.InsertMode == Upsert {
				kind = 'u'
			}
			per := min(s.cfg.BatchSize, maxParams[s.store.Dialect]/len(l.insertCols))
			for start := 0; start < len(rn.upserts); start += per {
				chunk := rn.upserts[start:min(start+per, len(rn.upserts))]
				args := s.args[:0]
				for _, r := range chunk {
					var err error
					if args, err = l.args(args, l.insertCols, r); err != nil {
						return 0, err
					}
				}
				s.args = args
				st, err := s.stmt(ctx, tx, s.text(l, kind, len(chunk)))
				if err != nil {
					return 0, fmt.Errorf("%w: prepare insert into %s: %w", ErrWrite, l.table, err)
				}
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return 0, fmt.Errorf("%w: insert into %s: %w", ErrWrite, l.table, err)
				}
				clear(args)
				rows += int64(len(chunk))
			}
		}
	}
	if len(rn.deletes) > 0 {
		st, err := s.stmt(ctx, tx, s.text(l, 'd', 1))
		if err != nil {
			return 0, fmt.Errorf("%w: prepare delete from %s: %w", ErrWrite, l.table, err)
		}
		for _, r := range rn.deletes {
			args, err := l.args(s.args[:0], l.keys, r)
			if err != nil {
				return 0, err
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return 0, fmt.Errorf("%w: delete from %s: %w", ErrWrite, l.table, err)
			}
			rows++
		}
	}
	return rows, nil
}
