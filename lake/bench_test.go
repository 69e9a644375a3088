package lake

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Decode throughput of the vector column, against parquet-go's generic
// row reader on the same file (the baseline a user would write):
//
//	go test -run '^$' -bench 'Decode' -benchtime 5x ./lake/
//
// MB/s counts the float32 payload (n × dim × 4 bytes) decoded per second
// on one goroutine.

type benchVecRow struct {
	ID        int64     `parquet:"id"`
	Title     string    `parquet:"title"`
	Embedding []float32 `parquet:"embedding,list"`
}

const benchRows, benchDim = 20000, 384

func benchFile(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "vectors.parquet")
	rng := rand.New(rand.NewPCG(1, 1))
	rows := make([]benchVecRow, benchRows)
	for i := range rows {
		v := make([]float32, benchDim)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		rows[i] = benchVecRow{ID: int64(i), Title: "a title that is not read", Embedding: v}
	}
	if err := parquet.WriteFile(path, rows, parquet.Compression(&parquet.Snappy)); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkDecodeVectors(b *testing.B) {
	path := benchFile(b)
	b.SetBytes(benchRows * benchDim * 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		_, err := ReadVectorsFile(context.Background(), path, VectorOptions{Column: "embedding"}, func(vb *VectorBatch) error {
			n += vb.Len()
			return nil
		})
		if err != nil || n != benchRows {
			b.Fatalf("%d vectors, %v", n, err)
		}
	}
}

func BenchmarkDecodeGenericReader(b *testing.B) {
	path := benchFile(b)
	b.SetBytes(benchRows * benchDim * 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := parquet.NewGenericReader[benchVecRow](f)
		buf := make([]benchVecRow, 1024)
		n := 0
		for {
			k, err := r.Read(buf)
			n += k
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
		f.Close()
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
}
