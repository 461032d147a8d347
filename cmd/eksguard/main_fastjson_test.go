package main

import (
	"os"
	"testing"
)

// TestMain runs the CLI's tests with the decoder main installs.
func TestMain(m *testing.M) {
	useFastJSON()
	os.Exit(m.Run())
}
