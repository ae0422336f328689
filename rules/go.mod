module github.com/wedsync/scaling/rules

go 1.26.0

require (
	github.com/wedsync/scaling/core v0.0.0
	gopkg.in/yaml.v3 v3.0.1
)

replace github.com/wedsync/scaling/core => ../core
