package data_test

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/data"
)

// How many images of a class go to train, val and test at TAO's 70/10/20.
func ExampleSplitCounts() {
	for _, n := range []int{1, 2, 3, 10, 11} {
		fmt.Println(n, data.SplitCounts(n, data.DefaultRatios))
	}
	// Output:
	// 1 [1 0 0]
	// 2 [1 0 1]
	// 3 [1 1 1]
	// 10 [7 1 2]
	// 11 [8 1 2]
}
