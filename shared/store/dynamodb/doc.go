// Package dynamodb is the production store: store.Store on Amazon DynamoDB.
//
// Every write touches one item and every write that must not race is a
// single conditional write: DynamoDB Local look-alikes such as dynalite have
// no TransactWriteItems, and single-item writes are what the architecture
// allows (ARCHITECTURE.md §3). Nothing here ever issues a Scan: every read is
// a GetItem, a BatchGetItem or a Query on a known partition.
//
// # Tables
//
// Three tables, because their contents live by different rules. Config is
// small and precious (point-in-time recovery, retained on stack deletion);
// Executions grows without bound and is the one a retention policy will
// trim; Runtime holds short-lived coordination state and is the only table
// with a TTL. Splitting them lets the CDK app give each its own policy
// without the store knowing. Table names come from the caller (Tables);
// TablesWithPrefix derives all three from one prefix for tests and local
// setups.
//
// All three tables have the same key schema, billed on demand
// (PAY_PER_REQUEST); TableInputs returns the exact CreateTable requests, for
// the CDK app to mirror and test against:
//
//	partition key  pk  (S)
//	sort key       sk  (S)
//
// Config table — applications and pipeline configurations:
//
//	item              pk                 sk              other attributes
//	application       "app"              <name>          doc
//	pipeline head     "pipeline#<id>"    "head"          doc, version (N), application, name, timestamp (N), user
//	pipeline version  "pipeline#<id>"    "v#<%010d ver>" doc, version (N), timestamp (N), user
//	pipeline name     "names#<app>"      <name>          pipelineId, claimedAt (N, Unix ms)
//	trigger           "trigger#<key>"    "<id>#<%010d ver>#<%04d index>"  doc, version (N), pipelineId
//
// Applications share one partition, so listing them in name order is one
// Query. A pipeline's head holds its current version; each saved version is
// an item of its own in the same partition, so History is one Query
// (ScanIndexForward=false). Name items claim a pipeline name within an
// application (conditional put), which makes GetByName a strongly consistent
// read and lets List be a Query of the claims plus a BatchGetItem of the
// heads, with no index. A claim whose pipeline does not carry the name (its
// save lost or died) is ignored by reads and may be taken over once it is
// older than a minute. Trigger items index each saved version's triggers
// by what they listen to (triggers.go says how they stay right without
// transactions).
//
// Executions table — one header item per run and one item per stage:
//
//	item    pk              sk                 other attributes
//	header  <executionId>   "header"           doc, revision (N), status, listKey,
//	                                           application, pipelineConfigId
//	stage   <executionId>   "stage#<stageId>"  doc, revision (N), ord (N)
//
// The header's doc is the run without its stages. ord orders the stages: a
// stage written by Create has its index, one added later by PutStage the
// Unix nanoseconds it was added at, so it sorts after them. listKey is
// (2^63-1 - buildTime) zero-padded to 19 digits, then "#" and the execution
// id: ascending, it lists the newest run first and runs built at the same
// millisecond by ascending id, as the contract asks (a plain buildTime read
// with ScanIndexForward=false would put equal times in descending id
// order). application and pipelineConfigId are left out when empty, which
// keeps those headers out of the index; stages have neither, so the indexes
// hold headers only. Global secondary indexes, both with projection ALL:
//
//	index          partition key           sort key
//	byApplication  application (S)         listKey (S)
//	byPipeline     pipelineConfigId (S)    listKey (S)
//
// Listings query an index with ScanIndexForward=true, page by page, filter
// statuses with a FilterExpression, stop at the limit, and return the
// headers the index holds — never a Scan. Like every DynamoDB global index
// they are eventually consistent: a run created or updated a moment ago may
// be missing or show its previous status. Get, GetHeader and GetStage are
// strongly consistent.
//
// While Create is under way the header item holds only pending (a hash of
// the run being created); reads treat such a header as absent and it is in
// no index.
//
// Runtime table — leases and records:
//
//	item    pk              sk        other attributes
//	lease   "lease#<name>"  "lease"   owner, expiresAt (N, Unix ms), ttl (N, Unix s)
//	record  "record"        <key>     value (B)
//
// Time to live is enabled on the Runtime table with attribute "ttl", so
// DynamoDB eventually deletes expired leases; correctness never depends on
// it, because Acquire checks expiresAt in its condition expression. Records
// share one partition so that Records.Scan is one ordered Query.
//
// # Documents and limits
//
// Domain objects are stored as their JSON (attribute doc, a string), the
// same JSON the API serves, so fields gennaker does not know survive a round
// trip; the other attributes exist only to be keyed, indexed or conditioned
// on. An item is measured before it is written: one that would pass
// DynamoDB's 400 KB item limit is refused with an error wrapping
// store.ErrTooLarge that names the record and its size, never truncated.
//
// # Concurrency without transactions
//
// Headers and stages carry a numeric revision; updates are conditional on
// the revision the caller read. Creating an execution first claims its id
// with a pending header (conditional on its absence, or on being the same
// run), then writes the stages, then replaces the pending header with the
// real one (conditional on it still being pending for this run): exactly one
// of several concurrent Creates wins, the run is visible only when complete,
// and a Create retried after failing half-way finishes the job. Saving a
// pipeline claims the name, then moves the head from version n to n+1 with a
// conditional write (the point where a save wins or loses), then writes the
// version item; a save interrupted between the last two is repaired by the
// next one, and reads fall back to the head meanwhile.
package dynamodb
