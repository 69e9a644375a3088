package bert

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestEmbedIndependentOfBatch: a text's vector does not depend on what else
// is in the batch, on batch splitting or on concurrent callers
// (bit-identical), and many goroutines may share one Encoder.
func TestEmbedIndependentOfBatch(t *testing.T) {
	_, enc := sharedModel(t)
	texts := parityTexts()
	for i := range 70 { // > maxBatchSeqs, so Embed splits into batches
		texts = append(texts, fmt.Sprintf("the cat sits outside %d times, playing guitar", i))
	}
	if testing.Short() {
		texts = texts[:12]
	}
	ctx := context.Background()
	all, err := enc.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(texts))
	for i := range texts {
		if testing.Short() && i%3 != 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			one, err := enc.Embed(ctx, []string{texts[i]})
			if err != nil {
				errs <- err
				return
			}
			if !slices.Equal(one[0], all[i]) {
				errs <- fmt.Errorf("text %d: alone differs from in batch", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// One worker gives the same bits as all cores.
	one := &Encoder{id: enc.id, tok: enc.tok, m: enc.m, st: enc.st}
	one.pool.New = func() any { return new(workspace) }
	one.SetWorkers(1)
	seq, err := one.Embed(ctx, texts[:5])
	if err != nil {
		t.Fatal(err)
	}
	for i := range seq {
		if !slices.Equal(seq[i], all[i]) {
			t.Errorf("text %d: 1 worker differs", i)
		}
	}
}
