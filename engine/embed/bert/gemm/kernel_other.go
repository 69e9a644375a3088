//go:build !amd64 || purego

package gemm

func bestKernel() microKernel { return generic }

func kernels() []microKernel { return []microKernel{generic} }
