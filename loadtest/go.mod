module github.com/wedsync/scaling/loadtest

go 1.26.0

replace github.com/wedsync/scaling/core => ../core
