//go:build amd64 && !purego

package bert

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func geluErf8(x []float32)

//go:noescape
func expShiftSum8(s []float32, shift, scale float32) float32

//go:noescape
func max8(s []float32) float32
