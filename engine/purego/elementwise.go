package purego

// minParallelElements is the size from which the parallel reduction and slice
// kernels pay off.
const minParallelElements = 1 << 15
