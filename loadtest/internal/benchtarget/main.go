// Command benchtarget is the minimal loopback HTTP target of the load
// generator benchmarks: it answers "ok" to everything, and prints its
// address on the first line of its output.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	ok := []byte("ok")
	err = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(ok) }))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
