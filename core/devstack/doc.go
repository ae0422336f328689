// Package devstack starts the real servers the system depends on — PostgreSQL,
// Prometheus and Alertmanager — on loopback ports, each in a throwaway folder,
// for tests, benchmarks and `make demo`. Nothing here is for production: it
// exists so that every test talks to the real peer instead of a fake one.
//
// Every child process is started in its own process group with a parent-death
// signal, so that a test binary or demo runner that dies (Ctrl-C, panic,
// SIGKILL) does not leave servers behind.
package devstack
