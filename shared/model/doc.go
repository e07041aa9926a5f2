// Package model holds gennaker's domain types: applications, pipeline
// configurations, executions and their stages, artifacts and statuses.
//
// The JSON shapes are Spinnaker's (Front50 for configurations, Orca and Gate
// for executions), because a pipeline exported from Spinnaker must load here
// unchanged. Fields this package does not know are kept and written back, so a
// configuration survives a round trip through gennaker byte-for-byte in
// meaning. The package imports only the standard library.
package model
