//go:build !unix

package vpcflow_test

import "time"

// processCPU is unknown here: lines/cpu-s is not reported.
func processCPU() time.Duration { return -1 }
