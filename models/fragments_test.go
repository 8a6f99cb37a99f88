package models

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"stackboard/models/testdb"
)

// A first read that finds more of the change feed than it can follow (a restart after a busy hour) starts again
// from the data and skips to the feed's end on SQLite, instead of leaving the reads after it to walk the rest of
// the feed 5,000 rows at a time.
func TestFragmentsSkipAFeedTooLongToFollow(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	loadDemo(t, db)
	if db.Dialector.Name() == "postgres" {
		t.Skip("PostgreSQL follows its feed by transaction from the snapshot's xmin")
	}
	for range 3 {
		// 2,500 changes of one statement each time: past mostFeedRows in all.
		if err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
			INSERT INTO changes (changed_at, project_id, stack_id, product_name) SELECT ?, '', '', 'kodo' FROM n`, Now()).Error; err != nil {
			t.Fatal(err)
		}
	}
	var last int64
	if err := db.Raw(`SELECT MAX(pk) FROM changes`).Scan(&last).Error; err != nil {
		t.Fatal(err)
	}
	f := NewFragments()
	list, err := f.Products(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.seen != last {
		t.Errorf("after the first read the fragments follow the feed from change %d, want its end, %d", f.seen, last)
	}
	whole, err := FindProducts(ctx, db, ProductFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.parts) != len(whole) {
		t.Errorf("%d products from fragments, want %d", len(list.parts), len(whole))
	}
}

// WriteJSON writes the parts, comma-separated, in the list's brackets, however they fall across its chunks, a
// part bigger than a chunk included, and stops at the first write that fails; WriteGzip writes GzipLen bytes, one
// gzip member of those bytes (its reader checks the CRC-32 and length).
func TestAListWrittenInChunksIsItsBody(t *testing.T) {
	part := func(n int) *fragment {
		return &fragment{json: []byte(`"` + strings.Repeat("p", n-2) + `"`)}
	}
	cases := []struct {
		name  string
		sizes []int
	}{
		{"empty", nil},
		{"one part", []int{10}},
		{"parts that fill a chunk to its last byte", []int{chunkBytes/2 - 1, chunkBytes/2 - 2}},
		{"a part one byte past the chunk's end", []int{chunkBytes / 2, chunkBytes / 2}},
		{"a part bigger than a chunk between small ones", []int{100, chunkBytes + 7, 100}},
		{"a part bigger than a chunk first", []int{3 * chunkBytes, 5}},
		{"many parts", slices.Repeat([]int{9500}, 1000)},
	}
	fragments := NewFragments()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var parts []*fragment
			var elements []string
			for _, n := range tc.sizes {
				parts = append(parts, part(n))
				elements = append(elements, string(parts[len(parts)-1].json))
			}
			want := "[" + strings.Join(elements, ",") + "]\n"
			list := fragments.productsF.assemble(parts)
			var written bytes.Buffer
			if err := list.WriteJSON(&written); err != nil {
				t.Fatal(err)
			}
			if written.String() != want || list.Len != len(want) {
				t.Errorf("wrote %d bytes (Len %d), want %d, equal: %v", written.Len(), list.Len, len(want), written.String() == want)
			}
			var zipped bytes.Buffer
			if err := list.WriteGzip(&zipped); err != nil {
				t.Fatal(err)
			}
			if zipped.Len() != list.GzipLen() {
				t.Errorf("wrote %d gzip bytes, GzipLen says %d", zipped.Len(), list.GzipLen())
			}
			zr, err := gzip.NewReader(&zipped)
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false)
			unzipped, err := io.ReadAll(zr)
			if err != nil || string(unzipped) != want {
				t.Errorf("the gzip form holds %d bytes (%v), want %d", len(unzipped), err, len(want))
			}
		})
	}
	list := fragments.productsF.assemble([]*fragment{part(chunkBytes), part(chunkBytes)})
	failing := &failingWriter{after: 1}
	if err := list.WriteJSON(failing); !errors.Is(err, errClientGone) || failing.writes != 2 {
		t.Errorf("a failing client: %v after %d writes, want %v after 2", err, failing.writes, errClientGone)
	}
}

var errClientGone = errors.New("client went away")

// failingWriter fails every write after the first after ones.
type failingWriter struct {
	after, writes int
}

func (w *failingWriter) Write(b []byte) (int, error) {
	w.writes++
	if w.writes > w.after {
		return 0, errClientGone
	}
	return len(b), nil
}

// After a status report the product list reads the changed stack's services alone: its products are read again
// with their stacks, but the other stacks' services are the ones kept (reading them again was most of a read after
// a write). The list is still the one a first read gives, the report in it.
func TestAReportedStackIsTheOneWhoseServicesAreReadAgain(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	loadDemo(t, db)
	f := NewFragments()
	if _, err := f.Products(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	var changed struct {
		PK                 int64
		ProjectID, Name    string
		Service            string
		StacksInItsProduct int
	}
	if err := db.Raw(`SELECT s.pk, s.project_id, s.name, sv.name AS service,
			(SELECT COUNT(*) FROM product_stacks o WHERE o.product_pk = ps.product_pk) AS stacks_in_its_product
		FROM stacks s JOIN product_stacks ps ON ps.stack_pk = s.pk JOIN services sv ON sv.stack_pk = s.pk
		ORDER BY stacks_in_its_product DESC, s.pk LIMIT 1`).Scan(&changed).Error; err != nil {
		t.Fatal(err)
	}
	if changed.StacksInItsProduct < 2 {
		t.Fatalf("the demo has no product of more than one stack: %+v", changed)
	}
	if _, err := PutService(ctx, db, changed.ProjectID, changed.Name, changed.Service, ServiceSpec{State: "DEPLOYED",
		Status: "FAULT", Image: Image{Name: "registry.example.com/reported", Tag: "9.9.9"}}); err != nil {
		t.Fatal(err)
	}
	counted, counter := testdb.CountStatements(db)
	list, err := f.Products(ctx, counted, nil)
	if err != nil {
		t.Fatal(err)
	}
	var servicesReads []string
	for _, statement := range counter.Statements() {
		if strings.Contains(statement, "FROM services") {
			servicesReads = append(servicesReads, statement)
		}
	}
	want := fmt.Sprintf("WHERE stack_pk IN (%d)", changed.PK)
	if len(servicesReads) != 1 || !strings.Contains(servicesReads[0], want) {
		t.Errorf("services read after the report: %q, want one read of stack %d's alone (%s)", servicesReads, changed.PK, want)
	}
	first, err := NewFragments().Products(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(listJSON(t, list), listJSON(t, first)) {
		t.Errorf("the list after the report (%d bytes) is not the one a first read gives (%d bytes)", list.Len, first.Len)
	}
	if !bytes.Contains(listJSON(t, list), []byte(`"registry.example.com/reported"`)) {
		t.Error("the reported image is not in the list after the report")
	}
}

// listJSON is the list's plain body.
func listJSON(t *testing.T, list List) []byte {
	t.Helper()
	var body bytes.Buffer
	if err := list.WriteJSON(&body); err != nil {
		t.Fatal(err)
	}
	return body.Bytes()
}
